namespace CallVault.Acs.Authentication;

/// <summary>Which headers an ACS HMAC signature covers.</summary>
public enum AcsSigningScheme
{
    /// <summary>
    /// <c>SignedHeaders=x-ms-date;host;x-ms-content-sha256</c>, as every Azure SDK has sent since mid-2021. The default.
    /// </summary>
    Current = 0,

    /// <summary>
    /// <c>SignedHeaders=date;host;x-ms-content-sha256</c>, the 2021 private-preview form from the original quickstart.
    /// </summary>
    Preview2021 = 1,
}
