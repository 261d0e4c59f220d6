using CallVault.Jobs;

namespace CallVault.Diagnostics;

/// <summary>The latest job statistics, refreshed in the background, so that gauges and dashboards never wait on the database.</summary>
public sealed class JobStatisticsCache
{
    private JobStatistics? _latest;

    /// <summary>The latest statistics, or null before the first refresh.</summary>
    public JobStatistics? Latest => Volatile.Read(ref _latest);

    /// <summary>Replaces the statistics.</summary>
    public void Update(JobStatistics statistics) => Volatile.Write(ref _latest, statistics);
}
