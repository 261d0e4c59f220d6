using System.Security.Cryptography;
using System.Text;
using CallVault.Acs.Authentication;

namespace CallVault.Acs.Tests.Authentication;

public sealed class AcsHmacSignerTests
{
    private const string SpecKey = "ZW11bGF0b3ItdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q=";
    private const string SpecDate = "Tue, 03 Mar 2026 10:15:30 GMT";
    private const string AudioPath = "/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio";

    /// <summary>Signatures computed independently (Python hmac/hashlib) for requests signed the way the .NET SDK signs
    /// storage-host requests: key <see cref="SpecKey"/>, date <see cref="SpecDate"/>, empty body.</summary>
    [Theory]
    [InlineData("GET", AudioPath, "contoso-acs.communication.azure.com", "kq/29pAowra05IR38NWrm/Z1chBMe0Hx6uf0ER6AsxM=")]
    [InlineData("GET", AudioPath, "localhost:5271", "OoF1+lonW54MVDwUeqGB1xIgVJ6FE4hDU8bOMeb2SDI=")]
    [InlineData("DELETE", "/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f", "contoso-acs.communication.azure.com", "oXuDwAtZMpZY22QYSGh91IO8B4odOym0aAxC3/+iWe0=")]
    public void ComputeSignature_SpecVectors_MatchTheSdk(string method, string path, string host, string expected)
    {
        var stringToSign = AcsHmacSigner.BuildStringToSign(method, path, SpecDate, host, AcsHmacSigner.EmptyContentHash);

        var signature = AcsHmacSigner.ComputeSignature(Convert.FromBase64String(SpecKey), stringToSign);

        Assert.Equal(expected, signature);
    }

    [Fact]
    public void EmptyContentHash_IsSha256OfNothing()
    {
        Assert.Equal(AcsHmacSigner.EmptyContentHash, Convert.ToBase64String(SHA256.HashData([])));
        Assert.Equal(AcsHmacSigner.EmptyContentHash, AcsHmacSigner.ComputeContentHash([]));
    }

    [Fact]
    public void ComputeContentHash_HashesBodyBytes()
    {
        var body = Encoding.UTF8.GetBytes("{\"å\":1}");

        Assert.Equal(Convert.ToBase64String(SHA256.HashData(body)), AcsHmacSigner.ComputeContentHash(body));
    }

    [Fact]
    public void BuildStringToSign_UsesSingleNewlinesAndNoTrailingNewline()
    {
        var text = AcsHmacSigner.BuildStringToSign("get", "/a?b=c", SpecDate, "h:1", "hash");

        Assert.Equal($"GET\n/a?b=c\n{SpecDate};h:1;hash", text);
    }

    [Fact]
    public void FormatDate_IsRfc1123InUtc()
    {
        var time = new DateTimeOffset(2026, 3, 3, 11, 15, 30, TimeSpan.FromHours(1));

        Assert.Equal(SpecDate, AcsHmacSigner.FormatDate(time));
    }

    [Theory]
    [InlineData(AcsSigningScheme.Current, "SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=sig")]
    [InlineData(AcsSigningScheme.Preview2021, "SignedHeaders=date;host;x-ms-content-sha256&Signature=sig")]
    public void BuildAuthorizationParameter_NamesSignedHeadersOfScheme(AcsSigningScheme scheme, string expected)
    {
        Assert.Equal(expected, AcsHmacSigner.BuildAuthorizationParameter(scheme, "sig"));
    }
}
