using System.Diagnostics;
using System.Globalization;

namespace CallVault.Bench;

/// <summary>
/// Many small recordings end to end: the emulator publishes N one-chunk recordings, as fast as it is asked (a burst:
/// throughput, and latency that is mostly queueing) or at a steady rate (latency of one recording on a busy service).
/// Event Grid delivers them to one service process (SQLite or PostgreSQL, disk), which acknowledges, downloads and
/// stores them. Prints <c>RESULT e2e</c> with recordings per second from the first publication to the last chunk stored,
/// and the event-to-stored latency percentiles, and the same as one <c>catchup</c> line; fails unless every chunk is
/// stored once, byte for byte.
/// </summary>
/// <remarks>
/// <para><c>catchup &lt;sqlite|postgresql&gt; [recordings] [size-bytes] [steady-recordings]</c> is the catch-up benchmark:
/// a burst of N recordings (default 1,000 of 1 MiB), then, on a fresh service, a steady publication at half the burst's
/// measured rate (default 300 recordings). PostgreSQL is the server in <c>CALLVAULT_TEST_POSTGRES</c> (a fresh database
/// per run; <c>source eng/services.sh &amp;&amp; start_services</c> starts one). Each run prints one line:</para>
/// <code>catchup store=sqlite mode=burst recordings=1000 size_bytes=1048576 rate=152.3 p50_ms=3100 p99_ms=6200 max_ms=6300 cpu_ms_per_recording=9.1 bench_cpu_ms_per_recording=6.0 machine_busy=0.97 cores=2 stored_once=True</code>
/// <para><c>mode</c> is <c>burst</c> or <c>half</c>; <c>rate</c> is recordings stored per second from the first
/// publication to the last chunk stored; <c>cpu_ms_per_recording</c> is the service process's CPU time (user and
/// system) per recording, which depends less on a busy machine than the rate does; <c>bench_cpu_ms_per_recording</c> is
/// the same for this process (the emulator serving the downloads and delivering the events, and the publisher), so that
/// the two together say whether the machine was CPU-bound; <c>machine_busy</c> is the share of all <c>cores</c> busy
/// over the run (every process on the machine, from /proc/stat).</para>
/// </remarks>
internal static class EndToEndBenchmark
{
    /// <summary>The <c>e2e</c> command: one run on SQLite with 4 workers, as before.</summary>
    public static async Task<int> RunAsync(int recordings, long sizeBytes, double perSecond)
    {
        var (result, _) = await RunOnceAsync("sqlite", recordings, sizeBytes, perSecond, serviceWorkers: 4);
        return result;
    }

    /// <summary>The <c>catchup</c> command: a burst, then half its rate, on one store with the service's defaults.</summary>
    public static async Task<int> RunCatchUpAsync(string store, int recordings, long sizeBytes, int steadyRecordings)
    {
        if (store is not ("sqlite" or "postgresql"))
        {
            Console.Error.WriteLine($"unknown store '{store}': sqlite or postgresql");
            return 2;
        }

        var (burst, rate) = await RunOnceAsync(store, recordings, sizeBytes, perSecond: 0, serviceWorkers: null);
        var (half, _) = await RunOnceAsync(store, steadyRecordings, sizeBytes, perSecond: Math.Max(1, rate / 2), serviceWorkers: null);
        return Math.Max(burst, half);
    }

    private static async Task<(int Result, double Rate)> RunOnceAsync(string store, int recordings, long sizeBytes, double perSecond, int? serviceWorkers)
    {
        var postgres = store == "postgresql"
            ? Environment.GetEnvironmentVariable("CALLVAULT_TEST_POSTGRES") ?? throw new InvalidOperationException("CALLVAULT_TEST_POSTGRES is not set: source eng/services.sh && start_services")
            : null;
        await using var pipeline = await PipelineUnderTest.StartAsync(serviceWorkers, postgres);

        // CALLVAULT_BENCH_WARMUP=N stores N recordings first, outside the measurement, so that CPU per recording
        // shows the steady state of a process that has compiled its code, rather than a fresh process's JIT cost.
        if (int.TryParse(Environment.GetEnvironmentVariable("CALLVAULT_BENCH_WARMUP"), CultureInfo.InvariantCulture, out var warmup) && warmup > 0)
        {
            for (var i = 0; i < warmup; i++)
            {
                await pipeline.PublishAsync(new { media = "synthetic", sizeBytes, durationSeconds = 30 });
            }

            if (!await pipeline.WaitUntilAllStoredAsync(TimeSpan.FromMinutes(15)))
            {
                Console.Error.WriteLine($"warm-up: only {await pipeline.StoredChunksAsync()} of {warmup} stored after 15 minutes");
                return (1, 0);
            }
        }

        var cpuBefore = pipeline.Service.CpuTime;
        var benchCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var machineBefore = MachineCpu.Sample();
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
            return (1, 0);
        }

        var elapsed = stopwatch.Elapsed;
        var cpu = pipeline.Service.CpuTime - cpuBefore;
        var benchCpu = Process.GetCurrentProcess().TotalProcessorTime - benchCpuBefore;
        var machineBusy = MachineCpu.Sample().BusyShareSince(machineBefore);
        var latencies = await pipeline.EventToStoredMillisecondsAsync();
        var check = await pipeline.CheckStoredAsync();
        foreach (var problem in check.Problems.Take(10))
        {
            Console.Error.WriteLine(problem);
        }

        var rate = recordings / elapsed.TotalSeconds;
        var mode = perSecond > 0 ? "half" : "burst";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT e2e recordings={recordings} rate={(perSecond > 0 ? perSecond.ToString("0.#", CultureInfo.InvariantCulture) : "burst")} size_bytes={sizeBytes} publish_s={published.TotalSeconds:0.00} total_s={elapsed.TotalSeconds:0.00} per_second={rate:0.0} p50_ms={Percentile(latencies, 0.50):0} p99_ms={Percentile(latencies, 0.99):0} max_ms={latencies[^1]:0} stored_once={check.AllStoredOnce}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"catchup store={pipeline.Store} mode={mode} recordings={recordings} size_bytes={sizeBytes} published_per_second={recordings / published.TotalSeconds:0.0} rate={rate:0.0} p50_ms={Percentile(latencies, 0.50):0} p99_ms={Percentile(latencies, 0.99):0} max_ms={latencies[^1]:0} cpu_ms_per_recording={cpu.TotalMilliseconds / recordings:0.0} bench_cpu_ms_per_recording={benchCpu.TotalMilliseconds / recordings:0.0} machine_busy={machineBusy:0.00} cores={Environment.ProcessorCount} stored_once={check.AllStoredOnce}"));
        return (check.AllStoredOnce ? 0 : 1, rate);
    }

    /// <summary>Busy and total CPU time of the whole machine, from the first line of /proc/stat (clock ticks).</summary>
    private readonly record struct MachineCpu(long Busy, long Total)
    {
        public static MachineCpu Sample()
        {
            if (!File.Exists("/proc/stat"))
            {
                return default;
            }

            // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are the time no core worked.
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = fields.Take(8).Sum();
            return new MachineCpu(total - fields[3] - fields[4], total);
        }

        /// <summary>The share of the machine's CPU time that was busy since <paramref name="earlier"/>, 0 to 1.</summary>
        public double BusyShareSince(MachineCpu earlier) =>
            Total == earlier.Total ? double.NaN : (double)(Busy - earlier.Busy) / (Total - earlier.Total);
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
