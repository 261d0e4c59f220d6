using System.Diagnostics;
using System.Globalization;

namespace CallVault.Bench;

/// <summary>
/// The service's memory while it downloads large chunks at once: N one-chunk recordings (4 by default in run.sh, one
/// per worker) are published together to one service process with 4 workers (SQLite, disk). Prints
/// <c>RESULT service-memory</c> with the process's peak resident memory (VmHWM, which the kernel keeps, so no peak
/// between samples is missed), how many chunks were being downloaded at the same time at most, and whether every chunk
/// was stored once, byte for byte.
/// </summary>
internal static class ServiceMemoryBenchmark
{
    private const double MiB = 1024 * 1024;

    public static async Task<int> RunAsync(int recordings, long sizeBytes)
    {
        await using var pipeline = await PipelineUnderTest.StartAsync(serviceWorkers: 4);
        var idlePeak = pipeline.Service.PeakRssBytes();
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < recordings; i++)
        {
            await pipeline.PublishAsync(new { media = "synthetic", sizeBytes, chunkSizeLimitBytes = sizeBytes, durationSeconds = 30 });
        }

        // Leased chunks are the ones being downloaded; sampled only to show the downloads overlapped. The worker's
        // gauge of connections in use (when this build has it) shows what the adaptive download chose.
        using var sampling = new CancellationTokenSource();
        using var scraper = new HttpClient { BaseAddress = pipeline.Service.BaseAddress };
        var mostAtOnce = 0;
        double? mostConnections = null;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                mostAtOnce = Math.Max(mostAtOnce, (await pipeline.LeasedChunksAsync()).Count);
                if (await ConnectionsInUseAsync(scraper) is { } connections)
                {
                    mostConnections = Math.Max(mostConnections ?? 0, connections);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), sampling.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        });
        var stored = await pipeline.WaitUntilAllStoredAsync(TimeSpan.FromMinutes(15));
        await sampling.CancelAsync();
        await sampler;
        var peak = pipeline.Service.PeakRssBytes();
        if (!stored)
        {
            Console.Error.WriteLine($"only {await pipeline.StoredChunksAsync()} of {recordings} stored after 15 minutes");
            return 1;
        }

        var elapsed = stopwatch.Elapsed;
        var check = await pipeline.CheckStoredAsync();
        foreach (var problem in check.Problems.Take(10))
        {
            Console.Error.WriteLine(problem);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT service-memory recordings={recordings} size_bytes={sizeBytes} workers=4 most_at_once={mostAtOnce} connections_max={(mostConnections is { } c ? c.ToString("0", CultureInfo.InvariantCulture) : "–")} peak_rss_mib={peak / MiB:0} idle_peak_rss_mib={idlePeak / MiB:0} total_s={elapsed.TotalSeconds:0.00} stored_once={check.AllStoredOnce}"));
        return check.AllStoredOnce ? 0 : 1;
    }

    /// <summary>The sum of the <c>callvault.download.connections</c> gauge over its series on <c>/metrics</c> (the
    /// service allows it over loopback without a key), or null when the service does not export it.</summary>
    private static async Task<double?> ConnectionsInUseAsync(HttpClient scraper)
    {
        string text;
        try
        {
            text = await scraper.GetStringAsync(new Uri("metrics", UriKind.Relative));
        }
        catch (HttpRequestException)
        {
            return null;
        }

        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("callvault_download_connections", StringComparison.Ordinal)
                && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }
}
