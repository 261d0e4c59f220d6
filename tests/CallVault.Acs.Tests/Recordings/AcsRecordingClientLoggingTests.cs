using System.Collections.Concurrent;
using CallVault.Acs.Downloads;
using CallVault.Acs.Recordings;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Acs.Tests.Recordings;

/// <summary>
/// The recording client's HTTP pipeline with every log category at Trace (HttpClientFactory's request logs included):
/// a URL's query (a storage token on a redirect, an api-version) never reaches a log line, nor does the access key.
/// </summary>
public sealed class AcsRecordingClientLoggingTests : IAsyncLifetime
{
    private const string Marker = "sig=querytoken0123456789";
    private static readonly byte[] Key = Convert.FromBase64String(TestOptions.Key);
    private readonly ConcurrentQueue<string> _lines = new();
    private FaultyObjectServer _server = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _server = await FaultyObjectServer.StartAsync(Key);
        _server.Objects["doc-1"] = 300_000;
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task DownloadToAsync_TraceLogging_NoQueryAndNoKeyInAnyLine()
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new CollectingProvider(_lines)));
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={TestOptions.Key}";
            options.AllowedHosts.Add(_server.StorageBase.GetLeftPart(UriPartial.Authority));
            options.Download.ParallelConnections = 1;
        });
        _services = services.BuildServiceProvider();
        var client = _services.GetRequiredService<AcsRecordingClient>();

        using var destination = new MemoryStream();
        await client.DownloadToAsync(new AcsDownloadRequest(new Uri(_server.ContentUri("doc-1") + "?" + Marker)), destination);

        Assert.Equal(300_000, destination.Length);
        Assert.Contains(_lines, l => l.Contains("/v1/objects/doc-1/content/audio", StringComparison.Ordinal));
        Assert.DoesNotContain(_lines, l => l.Contains(Marker, StringComparison.Ordinal) || l.Contains("querytoken", StringComparison.Ordinal));
        Assert.DoesNotContain(_lines, l => l.Contains(TestOptions.Key, StringComparison.Ordinal));
    }

    private sealed class CollectingProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                // The structured values too, as a JSON formatter would write them.
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
