namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The system clock plus an offset the test moves forward, so that an emulated recording lasts as long as the test
/// says without the test sleeping; timers stay on the system clock.
/// </summary>
internal sealed class SteppedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
}
