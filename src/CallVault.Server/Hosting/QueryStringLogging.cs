namespace CallVault.Server.Hosting;

/// <summary>
/// Keeps request URLs' query strings out of the logs, whatever the configured levels: Event Grid delivers the webhook's
/// secret as <c>?code=</c>, so a request log line with the query is a log line with the secret.
/// </summary>
/// <remarks>
/// <para>ASP.NET Core's hosting log (<c>Request starting POST http://host/api/events?code=...</c> and
/// <c>Request finished ...</c>) prints the whole URL, and no setting redacts it, so its category is switched off for
/// every logger provider after the configuration's rules are applied: a configured <c>Trace</c> for it, for
/// <c>Microsoft</c> or for a single provider cannot bring it back. HTTP logging and W3C logging are not enabled.
/// HttpClient's request logs (<c>System.Net.Http.HttpClient.*</c>) already replace a query with <c>*</c>, and
/// CallVault's own messages name URLs without their query.</para>
/// </remarks>
internal static class QueryStringLogging
{
    /// <summary>Categories whose messages carry a request's full URL.</summary>
    public static readonly IReadOnlyList<string> SilencedCategories = ["Microsoft.AspNetCore.Hosting.Diagnostics"];

    /// <summary>Switches <see cref="SilencedCategories"/> off in <paramref name="options"/> for every provider.</summary>
    public static void Silence(LoggerFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // A rule for a longer category (a sub-category, or the category with a wildcard) would beat an exact one.
        for (var i = options.Rules.Count - 1; i >= 0; i--)
        {
            if (options.Rules[i].CategoryName is { } name
                && SilencedCategories.Any(c => name.Length > c.Length && name.StartsWith(c, StringComparison.OrdinalIgnoreCase)))
            {
                options.Rules.RemoveAt(i);
            }
        }

        // A rule naming a provider beats one that does not, so each provider named anywhere gets its own rule; with
        // equal specificity the last rule wins, and these come after every configured one.
        var providers = options.Rules.Select(rule => rule.ProviderName).Append(null).Distinct(StringComparer.Ordinal).ToList();
        foreach (var category in SilencedCategories)
        {
            foreach (var provider in providers)
            {
                options.Rules.Add(new LoggerFilterRule(provider, category, LogLevel.None, filter: null));
            }
        }
    }
}
