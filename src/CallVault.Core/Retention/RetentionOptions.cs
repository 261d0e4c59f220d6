using System.ComponentModel.DataAnnotations;

namespace CallVault.Retention;

/// <summary>
/// How long stored recordings are kept: section <c>CallVault:Retention</c>. Off by default (<see cref="KeepDays"/> null):
/// nothing is deleted except by hand.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CallVault:Retention";

    /// <summary>
    /// Days a recording is kept after it was stored whole (its last chunk stored and verified), then deleted unless it is
    /// under legal hold. Null (default): kept forever. At least 1, at most 36,500.
    /// </summary>
    [Range(1, 36_500)]
    public int? KeepDays { get; set; }

    /// <summary>How often the sweep looks for recordings to delete. Default 1 hour; 1 second to 1 day.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Recordings one sweep pass deletes before it looks again (and renews its lease). Default 100; 1 to 1,000.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// How long one instance's hold on sweeping lasts without renewal; a crashed instance's hold passes to another after
    /// this. Default 5 minutes; 10 seconds to 1 hour. Renewed after every recording deleted.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Recordings one sweep pass deletes at most (deletions a crash interrupted included); the rest wait for the next
    /// pass, so that a mistake (a wrong KeepDays, a clock that jumped) costs at most this many per interval. Default
    /// 1,000; 1 to 1,000,000.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxDeletionsPerPass { get; set; } = 1000;

    /// <summary>
    /// How far this instance's clock may be ahead of the newest time the database recorded anything arriving or being
    /// stored before the sweep refuses to run (warning logged, <c>callvault.retention.skipped</c> counted with reason
    /// <c>clock_ahead</c>): a clock jumped forward would otherwise delete every recording not held. A site that receives
    /// nothing for longer than this also stops sweeping until something arrives; it keeps recordings longer, never
    /// shorter. Default 7 days; 1 hour to 3,650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan ClockLeadTolerance { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The rule a retention deletion records in its tombstone, e.g. <c>retention:KeepDays=30</c>.</summary>
    public string Rule => $"retention:KeepDays={KeepDays}";
}
