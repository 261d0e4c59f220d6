namespace CallVault.Acs.Http;

/// <summary>Per-request switches read by the ACS message handlers.</summary>
public static class AcsRequestOptionKeys
{
    /// <summary>
    /// Set on a request that must go out without ACS credentials: a redirect hop to another host.
    /// The signing handler then strips every authentication header instead of signing.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> SendWithoutCredentials = new("CallVault.Acs.SendWithoutCredentials");
}
