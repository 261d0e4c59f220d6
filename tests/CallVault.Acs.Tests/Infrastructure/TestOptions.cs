using Microsoft.Extensions.Options;

namespace CallVault.Acs.Tests.Infrastructure;

internal static class TestOptions
{
    public const string Key = "ZW11bGF0b3ItdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q=";

    public static IOptionsMonitor<AcsClientOptions> Monitor(AcsClientOptions options) => new StaticMonitor(options);

    private sealed class StaticMonitor(AcsClientOptions value) : IOptionsMonitor<AcsClientOptions>
    {
        public AcsClientOptions CurrentValue => value;

        public AcsClientOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AcsClientOptions, string?> listener) => null;
    }
}
