using CallVault.Bench;

// Benchmark helpers, each the baseline or the tooling for a script in bench/:
//   sign <connection-string> <url> [METHOD]   curl header arguments signed exactly as CallVault signs (download.sh)
//   bare <url>                                 an ASP.NET endpoint that answers POST /api/events with 200, storing nothing (webhook.sh)
//   batch <events> <file>                      a delivery of N RecordingFileStatusUpdated events with fresh ids (webhook.sh)
return args switch
{
    ["sign", var connectionString, var url, ..] => SignCommand.Run(connectionString, url, args.Length > 3 ? args[3] : "GET"),
    ["bare", var url] => await BareEndpoint.RunAsync(url),
    ["batch", var count, var file] => await BatchFile.WriteAsync(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), file),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: CallVault.Bench sign <connection-string> <url> [METHOD] | bare <url> | batch <events> <file>");
    return 2;
}
