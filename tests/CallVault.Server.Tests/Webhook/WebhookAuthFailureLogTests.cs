using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using CallVault.Diagnostics;
using CallVault.Server.Webhook;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Server.Tests.Webhook;

/// <summary>Refused webhook deliveries: one log line per interval, which says how many were left out; every one counted.</summary>
public sealed class WebhookAuthFailureLogTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero));
    private readonly CollectingLoggerProvider _logs = new();
    private readonly ServiceProvider _services;
    private readonly WebhookAuthFailureLog _log;

    public WebhookAuthFailureLogTests()
    {
        _services = new ServiceCollection().AddMetrics().AddLogging(l => l.AddProvider(_logs)).BuildServiceProvider();
        var metrics = new CallVaultMetrics(_services.GetRequiredService<IMeterFactory>(), new JobStatisticsCache(), _clock);
        _log = new WebhookAuthFailureLog(_services.GetRequiredService<ILoggerFactory>(), metrics, _clock);
    }

    public void Dispose() => _services.Dispose();

    /// <summary>A flood of ten thousand refusals within a minute writes one line; the next line, a minute on, counts the rest.</summary>
    [Fact]
    public void Refused_FloodWithinTheInterval_OneLineThenACountOfTheSuppressed()
    {
        long counted = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument is { Name: "callvault.webhook.unauthorized", Meter.Name: CallVaultMetrics.MeterName })
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        listener.Start();
        for (var i = 0; i < 10_000; i++)
        {
            _log.Refused(IPAddress.Parse("203.0.113.7"));
            _clock.Advance(TimeSpan.FromMilliseconds(5));
        }

        var duringFlood = _logs.Lines.ToList();
        _clock.Advance(WebhookAuthFailureLog.Interval);
        _log.Refused(IPAddress.Parse("203.0.113.8"));

        var line = Assert.Single(duringFlood);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("203.0.113.7", line.Message, StringComparison.Ordinal);
        Assert.Contains("0 other refusal(s)", line.Message, StringComparison.Ordinal);
        Assert.Equal(2, _logs.Lines.Count);
        Assert.Contains("9999 other refusal(s)", _logs.Lines.Last().Message, StringComparison.Ordinal);
        Assert.Equal(10_001, Interlocked.Read(ref counted));
    }

    /// <summary>Refusals further apart than the interval are each logged, with nothing suppressed.</summary>
    [Fact]
    public void Refused_SparseRefusals_EachLogged()
    {
        for (var i = 0; i < 3; i++)
        {
            _log.Refused(null);
            _clock.Advance(WebhookAuthFailureLog.Interval);
        }

        Assert.Equal(3, _logs.Lines.Count);
        Assert.All(_logs.Lines, l => Assert.Contains("0 other refusal(s)", l.Message, StringComparison.Ordinal));
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CollectingLoggerProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
