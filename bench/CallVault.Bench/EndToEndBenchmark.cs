using System.Diagnostics;
using System.Globalization;

namespace CallVault.Bench;

/// <summary>
/// Many small recordings end to end: the emulator publishes N one-chunk recordings, as fast as it is asked (a burst:
/// throughput, and latency that is mostly queueing) or at a steady rate (latency of one recording on a busy service).
/// Event Grid delivers them to one service process (SQLite, disk), which acknowledges, downloads and stores them.
/// Prints <c>RESULT e2e</c> with recordings per second from the first publication to the last chunk stored, and the
/// event-to-stored latency percentiles; fails unless every chunk is stored once, byte for byte.
/// </summary>
internal static class EndToEndBenchmark
{
    public static async Task<int> RunAsync(int recordings, long sizeBytes, double perSecond)
    {
        await using var pipeline = await PipelineUnderTest.StartAsync();
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < recordings; i++)
        {
            await pipeline.PublishAsync(new { media = "synthetic", sizeBytes, durationSeconds = 30 });
            if (perSecond > 0 && TimeSpan.FromSeconds((i + 1) / perSecond) - stopwatch.Elapsed is { Ticks: > 0 } ahead)
            {
                await Task.Delay(ahead);
            }
        }

        var published = stopwatch.Elapsed;
        if (!await pipeline.WaitUntilAllStoredAsync(TimeSpan.FromMinutes(15)))
        {
            Console.Error.WriteLine($"only {await pipeline.StoredChunksAsync()} of {recordings} stored after 15 minutes");
            return 1;
        }

        var elapsed = stopwatch.Elapsed;
        var latencies = await pipeline.EventToStoredMillisecondsAsync();
        var check = await pipeline.CheckStoredAsync();
        foreach (var problem in check.Problems.Take(10))
        {
            Console.Error.WriteLine(problem);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT e2e recordings={recordings} rate={(perSecond > 0 ? perSecond.ToString("0.#", CultureInfo.InvariantCulture) : "burst")} size_bytes={sizeBytes} publish_s={published.TotalSeconds:0.00} total_s={elapsed.TotalSeconds:0.00} per_second={recordings / elapsed.TotalSeconds:0.0} p50_ms={Percentile(latencies, 0.50):0} p99_ms={Percentile(latencies, 0.99):0} max_ms={latencies[^1]:0} stored_once={check.AllStoredOnce}"));
        return check.AllStoredOnce ? 0 : 1;
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
