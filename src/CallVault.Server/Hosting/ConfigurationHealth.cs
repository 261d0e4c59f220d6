using CallVault.Acs;

namespace CallVault.Server.Hosting;

/// <summary>What configuration the service still needs before it can store recordings.</summary>
internal static class ConfigurationHealth
{
    public static IEnumerable<string> Missing(CallVaultOptions options, AcsClientOptions acs)
    {
        if (string.IsNullOrWhiteSpace(acs.ConnectionString))
        {
            yield return "no ACS connection string: set CallVault:Acs:ConnectionString (environment variable CallVault__Acs__ConnectionString). Events are still accepted and queued; nothing is downloaded until it is set.";
        }

        if (options.Webhook.Secrets.Count == 0 && !options.Webhook.AllowUnauthenticated)
        {
            yield return "no webhook secret: set CallVault:Webhook:Secrets:0 (CallVault__Webhook__Secrets__0) and put it in the Event Grid subscription's URL as ?code=<secret>. Until then every delivery is refused with 401.";
        }
    }
}
