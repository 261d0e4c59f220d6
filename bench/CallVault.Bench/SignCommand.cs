using CallVault.Acs;
using CallVault.Acs.Authentication;

namespace CallVault.Bench;

/// <summary>Prints the headers AcsHmacSigningHandler would send, so the curl baseline sends the same request.</summary>
internal static class SignCommand
{
    public static int Run(string connectionString, string url, string method)
    {
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
    }
}
