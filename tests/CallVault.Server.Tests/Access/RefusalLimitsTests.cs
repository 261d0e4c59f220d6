using System.Collections.Concurrent;
using System.Net;
using CallVault.Security;
using CallVault.Server.Access;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Server.Tests.Access;

/// <summary>
/// On a fake clock: refusals logged at most once a minute per kind, failed key attempts limited per client address
/// for a window; and the small helpers that keep secrets from leaking (length by timing, query strings in errors).
/// </summary>
public sealed class RefusalLimitsTests : IDisposable
{
    private static readonly IPAddress Guesser = IPAddress.Parse("203.0.113.9");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero));
    private readonly Lines _logs = new();
    private readonly ServiceProvider _services;

    public RefusalLimitsTests() =>
        _services = new ServiceCollection().AddLogging(l => l.AddProvider(_logs)).BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void RefusalLog_FloodWithinAMinute_OneLinePerKind_ThenTheNextCountsTheSuppressed()
    {
        var log = new AccessRefusalLog(_services.GetRequiredService<ILoggerFactory>(), _clock);

        for (var i = 0; i < 1000; i++)
        {
            log.KeyRefused(Guesser);
            log.HostRefused(Guesser);
            log.CallbackRefused(Guesser);
        }

        Assert.Equal(3, _logs.Messages.Count);
        _clock.Advance(LogThrottle.Interval);
        log.KeyRefused(Guesser);

        Assert.Equal(4, _logs.Messages.Count);
        Assert.Contains("999 other such refusal(s)", _logs.Messages[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void FailedKeys_AfterTheLimit_TheAddressWaitsUntilTheWindowHasPassed()
    {
        var attempts = new FailedKeyAttempts(_clock);
        for (var i = 0; i < FailedKeyAttempts.MaxFailures - 1; i++)
        {
            attempts.Failed(Guesser);
        }

        Assert.Null(attempts.RetryAfter(Guesser));
        _clock.Advance(TimeSpan.FromMinutes(1));
        attempts.Failed(Guesser);

        Assert.Equal(FailedKeyAttempts.Window - TimeSpan.FromMinutes(1), attempts.RetryAfter(Guesser));
        Assert.Null(attempts.RetryAfter(IPAddress.Parse("203.0.113.10")));
        _clock.Advance(FailedKeyAttempts.Window - TimeSpan.FromMinutes(1) - TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), attempts.RetryAfter(Guesser));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(attempts.RetryAfter(Guesser));
    }

    [Fact]
    public void FailedKeys_IPv6_CountPerSlash64()
    {
        var attempts = new FailedKeyAttempts(_clock);
        for (var i = 0; i < FailedKeyAttempts.MaxFailures; i++)
        {
            attempts.Failed(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"));
        }

        Assert.NotNull(attempts.RetryAfter(IPAddress.Parse("2001:db8:1:2:ffff::1")));
        Assert.Null(attempts.RetryAfter(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Theory]
    [InlineData("webhook-secret-0123456789", "webhook-secret-0123456789", true)]
    [InlineData("webhook-secret-0123456789", "webhook-secret-012345678", false)]
    [InlineData("webhook-secret-0123456789", "", false)]
    [InlineData("webhook-secret-0123456789", null, false)]
    [InlineData("ü-secret", "ü-secret", true)]
    public void SecretComparison_MatchesExactlyTheSameSecret(string expected, string? presented, bool equal) =>
        Assert.Equal(equal, SecretComparison.AreEqual(expected, presented));

    [Theory]
    [InlineData(
        "Bad callback URI 'https://callvault.example.com/api/callbacks?code=s3cr3t-value'. Try again.",
        "Bad callback URI 'https://callvault.example.com/api/callbacks'. Try again.")]
    [InlineData("ACS said: \"see http://h/x?a=1&code=s3cr3t-value, then\".", "ACS said: \"see http://h/x then\".")]
    [InlineData("No URL here? none.", "No URL here? none.")]
    public void AcsMessages_LoseEveryQueryString(string message, string expected)
    {
        var cleaned = CallVault.Server.Api.SessionsApi.WithoutQueryStrings(message);

        Assert.Equal(expected, cleaned);
        Assert.DoesNotContain("s3cr3t", cleaned, StringComparison.Ordinal);
    }

    private sealed class Lines : ILoggerProvider
    {
        public ConcurrentQueue<string> Queue { get; } = new();

        public IReadOnlyList<string> Messages => [.. Queue];

        public ILogger CreateLogger(string categoryName) => new Logger(Queue);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> queue) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                queue.Enqueue(formatter(state, exception));
        }
    }
}
