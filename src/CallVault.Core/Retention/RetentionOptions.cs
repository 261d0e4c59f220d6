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

    /// <summary>The rule a retention deletion records in its tombstone, e.g. <c>retention:KeepDays=30</c>.</summary>
    public string Rule => $"retention:KeepDays={KeepDays}";
}
