using CallVault.Acs.Authentication;
using CallVault.Acs.Tests.Infrastructure;

namespace CallVault.Acs.Tests.Authentication;

public sealed class AcsHmacVerifierTests
{
    private const string Date = "Tue, 03 Mar 2026 10:15:30 GMT";
    private const string Path = "/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio";
    private static readonly DateTimeOffset Now = new(2026, 3, 3, 10, 20, 0, TimeSpan.Zero);
    private static readonly byte[] Key = Convert.FromBase64String(TestOptions.Key);

    private static AcsSignedRequest Request(string authorization, string host = "storage.asm.skype.com", string? hostOverride = "contoso-acs.communication.azure.com", string query = "", string? msDate = Date, string contentHash = AcsHmacSigner.EmptyContentHash) =>
        new("GET", Path, query, host, hostOverride, msDate, null, contentHash, authorization, AcsHmacSigner.EmptyContentHash);

    private static string Sign(string host, string pathAndQuery, string headers = "x-ms-date;host;x-ms-content-sha256") =>
        $"HMAC-SHA256 SignedHeaders={headers}&Signature=" + AcsHmacSigner.ComputeSignature(Key, AcsHmacSigner.BuildStringToSign("GET", pathAndQuery, Date, host, AcsHmacSigner.EmptyContentHash));

    [Fact]
    public void Verify_SpecVector_IsValid()
    {
        var check = AcsHmacVerifier.Verify(
            Request("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=kq/29pAowra05IR38NWrm/Z1chBMe0Hx6uf0ER6AsxM="),
            Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    [Fact]
    public void Verify_WithoutXMsHost_UsesHostHeader()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("localhost:5271", Path), host: "localhost:5271", hostOverride: null), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    [Fact]
    public void Verify_PathAndQuerySigned_IsValid()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path + "?a=1"), query: "?a=1"), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    [Fact]
    public void Verify_PathOnlySignedButQuerySent_IsValid()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path), query: "?a=1"), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    /// <summary>@azure/communication-common 2.0 to 2.3 signed host:port:port on a non-default port.</summary>
    [Fact]
    public void Verify_JsDoubledPortQuirk_IsValid()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("localhost:5271:5271", Path), host: "localhost:5271", hostOverride: null), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    /// <summary>An older JS SDK tested the URLSearchParams object, always truthy, and signed a lone '?' when there was no query.</summary>
    [Fact]
    public void Verify_JsLoneQuestionMarkQuirk_IsValid()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path + "?")), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    [Fact]
    public void Verify_JsReserializedQuery_IsValid()
    {
        var check = AcsHmacVerifier.Verify(
            Request(Sign("contoso-acs.communication.azure.com", Path + "?q=a+b"), query: "?q=a%20b"), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.True(check.IsValid, check.Detail);
    }

    [Fact]
    public void Verify_Preview2021Form_UsesDateHeader()
    {
        var request = Request(Sign("contoso-acs.communication.azure.com", Path, "date;host;x-ms-content-sha256"), msDate: null) with { Date = Date };

        Assert.True(AcsHmacVerifier.Verify(request, Key, Now, AcsHmacVerifier.DefaultDateWindow).IsValid);
        Assert.Equal(AcsSignatureFailure.UnsupportedSignedHeaders, AcsHmacVerifier.Verify(request, Key, Now, AcsHmacVerifier.DefaultDateWindow, allowPreview2021: false).Failure);
    }

    [Fact]
    public void Verify_WrongKey_FailsWithSignatureMismatch()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path)), new byte[32], Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.SignatureMismatch, check.Failure);
    }

    [Fact]
    public void Verify_StorageHostSigned_FailsWithSignatureMismatch()
    {
        // The mistake behind azure-sdk-for-js#26142: signing the storage host instead of the ACS host.
        var check = AcsHmacVerifier.Verify(Request(Sign("storage.asm.skype.com", Path)), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.SignatureMismatch, check.Failure);
    }

    [Theory]
    [InlineData(-16)]
    [InlineData(16)]
    public void Verify_DateOutsideWindow_Fails(int minutes)
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path)), Key, Now.AddMinutes(minutes - 4.5), AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.DateOutsideWindow, check.Failure);
    }

    [Fact]
    public void Verify_BodyHashMismatch_Fails()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path), contentHash: "AAAA"), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.ContentHashMismatch, check.Failure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Bearer abc")]
    [InlineData("HMAC-SHA256 Signature=abc")]
    public void Verify_MalformedAuthorization_Fails(string authorization)
    {
        var check = AcsHmacVerifier.Verify(Request(authorization), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.MalformedAuthorization, check.Failure);
    }

    [Fact]
    public void Verify_MissingDate_Fails()
    {
        var check = AcsHmacVerifier.Verify(Request(Sign("contoso-acs.communication.azure.com", Path), msDate: null), Key, Now, AcsHmacVerifier.DefaultDateWindow);

        Assert.Equal(AcsSignatureFailure.MissingOrInvalidDate, check.Failure);
    }
}
