using CallVault.Bench;

// Benchmark helpers, each the baseline or the tooling for a script in bench/:
//   sign <connection-string> <url> [METHOD]   curl header arguments signed exactly as CallVault signs (download.sh)
//   bare <url>                                 an ASP.NET endpoint that answers POST /api/events with 200, storing nothing (webhook.sh)
//   batch <events> <file>                      a delivery of N RecordingFileStatusUpdated events with fresh ids (webhook.sh)
//   claims <sqlite|postgresql> <workers> <jobs> jobs leased and completed per second (jobs.sh)
//   scaleout <instances> <recordings>          end-to-end time for N small recordings over M service processes (scaleout.sh)
//   seed <data-folder> <recordings>            a job database with N recordings for the API latency benchmark (api.sh)
//   e2e <recordings> <size-bytes> [per-second] N one-chunk recordings published (as a burst, or at a rate), stored (run.sh)
//   service-memory <recordings> <size-bytes>  the service's peak RSS while its 4 workers download N one-chunk recordings at once (run.sh)
//   catchup <sqlite|postgresql> [recordings] [size-bytes] [steady-recordings]
//                                              the catch-up rate: a burst (default 1000 x 1 MiB), then half its rate; one
//                                              "catchup store=... mode=burst|half ..." line per run (EndToEndBenchmark)
//   soak <minutes> <per-second> <report.md>    steady deliveries with faults and two SIGKILL restarts; checks everything (run.sh)
return args switch
{
    ["sign", var connectionString, var url, ..] => SignCommand.Run(connectionString, url, args.Length > 3 ? args[3] : "GET"),
    ["bare", var url] => await BareEndpoint.RunAsync(url),
    ["batch", var count, var file] => await BatchFile.WriteAsync(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), file),
    ["claims", var provider, var workers, var jobs] => await ClaimsBenchmark.RunAsync(provider, int.Parse(workers, System.Globalization.CultureInfo.InvariantCulture), int.Parse(jobs, System.Globalization.CultureInfo.InvariantCulture)),
    ["seed", var folder, var count] => await SeedCommand.RunAsync(folder, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture)),
    ["e2e", var recordings, var size, ..] => await EndToEndBenchmark.RunAsync(int.Parse(recordings, System.Globalization.CultureInfo.InvariantCulture), long.Parse(size, System.Globalization.CultureInfo.InvariantCulture), args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0),
    ["service-memory", var recordings, var size] => await ServiceMemoryBenchmark.RunAsync(int.Parse(recordings, System.Globalization.CultureInfo.InvariantCulture), long.Parse(size, System.Globalization.CultureInfo.InvariantCulture)),
    ["catchup", var store, ..] => await EndToEndBenchmark.RunCatchUpAsync(store, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1000, args.Length > 3 ? long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1024 * 1024, args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 300),
    ["soak", var minutes, var rate, var report] => await SoakTest.RunAsync(TimeSpan.FromMinutes(double.Parse(minutes, System.Globalization.CultureInfo.InvariantCulture)), double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture), report),
    ["scaleout", var instances, var recordings] => await ScaleOutBenchmark.RunAsync(int.Parse(instances, System.Globalization.CultureInfo.InvariantCulture), int.Parse(recordings, System.Globalization.CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: CallVault.Bench sign <connection-string> <url> [METHOD] | bare <url> | batch <events> <file> | claims <sqlite|postgresql> <workers> <jobs> | scaleout <instances> <recordings> | seed <data-folder> <recordings> | e2e <recordings> <size-bytes> [per-second] | service-memory <recordings> <size-bytes> | soak <minutes> <per-second> <report.md>");
    Console.Error.WriteLine("usage: CallVault.Bench sign <connection-string> <url> [METHOD] | bare <url> | batch <events> <file> | claims <sqlite|postgresql> <workers> <jobs> | scaleout <instances> <recordings> | seed <data-folder> <recordings> | e2e <recordings> <size-bytes> [per-second] | catchup <sqlite|postgresql> [recordings] [size-bytes] [steady-recordings] | soak <minutes> <per-second> <report.md>");
    return 2;
}
