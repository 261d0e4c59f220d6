using CallVault.Acs;
using CallVault.Acs.Authentication;

// bench helper: `sign <connection-string> <url> [METHOD]` prints curl header arguments, one per line, signed exactly as
// AcsHmacSigningHandler signs (storage-host URLs with the endpoint's authority and x-ms-host), so the curl baseline
// sends the same request as CallVault.
if (args is not ["sign", var connectionString, var url, ..])
{
    Console.Error.WriteLine("usage: CallVault.Bench sign <connection-string> <url> [METHOD]");
    return 2;
}

var method = args.Length > 3 ? args[3] : "GET";
var credential = AcsConnectionString.Parse(connectionString);
var uri = new Uri(url);
var sameOrigin = uri.GetLeftPart(UriPartial.Authority) == credential.Endpoint.GetLeftPart(UriPartial.Authority);
var host = sameOrigin ? uri.Authority : credential.Endpoint.Authority;
var path = sameOrigin ? uri.PathAndQuery : new Uri(credential.Endpoint.AbsoluteUri + uri.AbsolutePath.TrimStart('/')).PathAndQuery;
var date = AcsHmacSigner.FormatDate(TimeProvider.System.GetUtcNow());
var signature = AcsHmacSigner.ComputeSignature(
    credential.AccessKey,
    AcsHmacSigner.BuildStringToSign(method, path, date, host, AcsHmacSigner.EmptyContentHash));
Console.WriteLine($"x-ms-date: {date}");
Console.WriteLine($"Date: {date}");
Console.WriteLine($"x-ms-content-sha256: {AcsHmacSigner.EmptyContentHash}");
if (!sameOrigin)
{
    Console.WriteLine($"x-ms-host: {host}");
}

Console.WriteLine($"Authorization: HMAC-SHA256 {AcsHmacSigner.BuildAuthorizationParameter(AcsSigningScheme.Current, signature)}");
return 0;
