using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using CallVault.Emulator.Storage;

namespace CallVault.Bench;

/// <summary>
/// Steady deliveries for a while with the emulator's faults on (resets, 503s with Retry-After, empty 200s, failing
/// metadata, duplicate, per-chunk and out-of-order events), the service killed with SIGKILL at one third and two
/// thirds of the time and started again. At the end every published chunk must be stored once and byte-identical,
/// the emulator must have sent each chunk's media once (bytes beyond its size only where an injected fault or a kill
/// explains them, at most 1 % more), and the last process's memory and open handles must not have grown. Writes a Markdown section to
/// <c>reportPath</c> and prints <c>RESULT soak</c>.
/// </summary>
internal static class SoakTest
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(TimeSpan duration, double recordingsPerSecond, string reportPath)
    {
        await using var pipeline = await PipelineUnderTest.StartAsync();
        using var admin = pipeline.Admin;
        foreach (var rule in FaultRules())
        {
            (await admin.PostAsJsonAsync("faults", rule)).EnsureSuccessStatusCode();
        }

        var random = new Random(20261127);
        var samples = new List<Sample>();
        var stopwatch = Stopwatch.StartNew();
        var kills = new[] { duration / 3, duration * 2 / 3 };
        var killed = 0;
        var segment = 1;
        var nextSample = TimeSpan.Zero;
        var published = 0;
        var interrupted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        while (stopwatch.Elapsed < duration)
        {
            if (killed < kills.Length && stopwatch.Elapsed >= kills[killed])
            {
                await pipeline.Service.KillAsync();
                var killedAt = pipeline.Emulator.Context.TimeProvider.GetUtcNow();
                foreach (var documentId in await pipeline.LeasedChunksAsync())
                {
                    interrupted[documentId] = killedAt;
                }

                killed++;
                segment++;
                await pipeline.Service.RestartAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {stopwatch.Elapsed:mm\\:ss} killed the service with SIGKILL and started it again"));
            }

            if (stopwatch.Elapsed >= nextSample)
            {
                var (rss, handles, threads) = pipeline.Service.Sample();
                samples.Add(new Sample(stopwatch.Elapsed, segment, rss, handles, threads, await pipeline.StoredChunksAsync(), pipeline.PublishedChunks));
                nextSample += SampleEvery;
            }

            // Sizes from 64 KiB to 3 MiB, chunks of at most 1 MiB: many recordings have several chunks.
            var delivery = random.Next(4) switch
            {
                0 => new { eventPerChunk = true, reverseOrder = true, duplicate = false },
                1 => new { eventPerChunk = false, reverseOrder = false, duplicate = true },
                2 => new { eventPerChunk = true, reverseOrder = false, duplicate = true },
                _ => new { eventPerChunk = false, reverseOrder = false, duplicate = false },
            };
            await pipeline.PublishAsync(new
            {
                media = "synthetic",
                sizeBytes = random.NextInt64(64 * 1024, 3 * 1024 * 1024),
                chunkSizeLimitBytes = 1024 * 1024,
                durationSeconds = 60,
                delivery,
            });
            published++;
            await Task.Delay(TimeSpan.FromSeconds(1 / recordingsPerSecond));
        }

        var publishedFor = stopwatch.Elapsed;
        var allStored = await pipeline.WaitUntilAllStoredAsync(TimeSpan.FromMinutes(10));
        var drained = stopwatch.Elapsed - publishedFor;
        var (finalRss, finalHandles, finalThreads) = pipeline.Service.Sample();
        samples.Add(new Sample(stopwatch.Elapsed, segment, finalRss, finalHandles, finalThreads, await pipeline.StoredChunksAsync(), pipeline.PublishedChunks));
        var check = await pipeline.CheckStoredAsync();
        var faults = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("deliveries");
        var bytes = await ByteExcessReport.MeasureAsync(pipeline.Emulator.Context, pipeline.PublishedDocumentIds, interrupted, TimeSpan.FromMinutes(1));
        var sentOnce = bytes.IsWithin(0.01);
        var worst = bytes.Worst;

        // Growth is judged on the last process, from the end of its first minute (warm-up: JIT, pools, caches) to the end.
        var last = samples.Where(s => s.Segment == segment).ToList();
        var warm = last.FirstOrDefault(s => s.Elapsed >= last[0].Elapsed + TimeSpan.FromSeconds(Math.Min(60, (last[^1].Elapsed - last[0].Elapsed).TotalSeconds / 3))) ?? last[0];
        var end = last[^1];
        var rssGrowth = (double)end.RssBytes / warm.RssBytes - 1;
        var handleGrowth = end.Handles - warm.Handles;
        var memoryFlat = rssGrowth <= 0.25;
        var handlesFlat = handleGrowth <= 10;
        var passed = allStored && check.AllStoredOnce && sentOnce && memoryFlat && handlesFlat;

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Published {published} recordings ({check.Published} chunks) over {publishedFor.TotalMinutes:0.0} minutes at {recordingsPerSecond:0.##}/s; the service was killed with SIGKILL and restarted at {kills[0].TotalMinutes:0.0} and {kills[1].TotalMinutes:0.0} minutes; the queue drained {drained.TotalSeconds:0} s after the last publication.");
        report.AppendLine();
        report.AppendLine("Faults on throughout: media resets after 16 KiB / 256 KiB / 700 KiB (2 % each), 503 with Retry-After 1 s (3 %), empty 200 (1 %), metadata 500 (3 %); events per chunk in reverse order, duplicated, or both, for three recordings in four.");
        report.AppendLine();
        report.AppendLine("| check | result |");
        report.AppendLine("|---|---|");
        report.AppendLine(CultureInfo.InvariantCulture, $"| chunks published / stored (database rows) | {check.Published} / {check.StoredRows} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| media files on disk / stray / partial left | {check.MediaFiles} / {check.StrayMediaFiles} / {check.PartialFiles} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| chunks whose stored bytes differ from the published SHA-256 | {check.Problems.Count} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| **every chunk stored once, byte-identical** | **{(check.AllStoredOnce ? "yes" : "NO")}** |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| media bytes sent by the emulator / object bytes | {bytes.TotalSent:N0} / {bytes.TotalSize:N0} (excess {Fraction(bytes.TotalExcess, bytes.TotalSize)}) |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| excess explained by injected resets / by the kills (chunks held at a kill: {interrupted.Count}) | {bytes.Documents.Sum(d => Math.Min(d.Excess, d.ExplainedByFaults)):N0} / {bytes.Documents.Sum(d => Math.Min(Math.Max(0, d.Excess - d.ExplainedByFaults), d.ExplainedByCrash)):N0} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| worst chunk: excess / unexplained (of its size) | {(worst is null ? "none" : $"{worst.ExcessFraction:0.00%} / {worst.UnexplainedFraction:0.00%} ({worst.DocumentId}, {worst.Size:N0} bytes)")} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| **every chunk sent once (unexplained excess at most 1 %, total and per chunk)** | **{(sentOnce ? "yes" : "NO")}**: unexplained {Fraction(bytes.TotalUnexplained, bytes.TotalSize)} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| last process RSS after warm-up → end (growth, limit 25 %) | {warm.RssBytes / 1048576.0:0} MiB → {end.RssBytes / 1048576.0:0} MiB ({rssGrowth:+0%;-0%}) {(memoryFlat ? "flat" : "GREW")} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| last process open handles after warm-up → end (limit +10) | {warm.Handles} → {end.Handles} ({handleGrowth:+0;-0}) {(handlesFlat ? "flat" : "GREW")} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| event deliveries attempted by the emulator | {faults.GetArrayLength()} |");
        report.AppendLine();
        report.AppendLine("| minute | process | RSS MiB | handles | threads | chunks stored / published |");
        report.AppendLine("|---|---|---|---|---|---|");
        var step = Math.Max(1, samples.Count / 24);
        foreach (var s in samples.Where((s, i) => i % step == 0 || i == samples.Count - 1 || (i > 0 && samples[i - 1].Segment != s.Segment)))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {s.Elapsed.TotalMinutes:0.0} | {s.Segment} | {s.RssBytes / 1048576.0:0} | {s.Handles} | {s.Threads} | {s.Stored} / {s.Published} |");
        }

        foreach (var problem in check.Problems.Take(10))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"- {problem}");
        }

        foreach (var document in bytes.Documents.Where(d => d.UnexplainedFraction > 0.01).OrderByDescending(d => d.UnexplainedFraction).Take(10))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"- {document.DocumentId}: sent {document.Sent:N0} bytes for {document.Size:N0}, {document.Unexplained:N0} unexplained");
        }

        await File.WriteAllTextAsync(reportPath, report.ToString());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT soak minutes={duration.TotalMinutes:0.#} recordings={published} chunks={check.Published} stored_once={check.AllStoredOnce} sent_once={sentOnce} bytes_excess={(bytes.TotalSize == 0 ? 0 : (double)bytes.TotalExcess / bytes.TotalSize):0.0000} bytes_unexplained={(bytes.TotalSize == 0 ? 0 : (double)bytes.TotalUnexplained / bytes.TotalSize):0.0000} rss_growth={rssGrowth:0.00} handle_growth={handleGrowth} passed={passed}"));
        return passed ? 0 : 1;
    }

    private static string Fraction(long part, long whole) => whole == 0 ? "0 %" : ((double)part / whole).ToString("0.000 %", CultureInfo.InvariantCulture);

    private static IEnumerable<object> FaultRules()
    {
        foreach (var afterBytes in new[] { 16 * 1024, 256 * 1024, 700 * 1024 })
        {
            yield return new { target = "Content", count = 0, probability = 0.02, fault = new { type = "Reset", afterBytes } };
        }

        yield return new { target = "Content", count = 0, probability = 0.03, fault = new { type = "Status", status = 503, retryAfterSeconds = 1 } };
        yield return new { target = "Content", count = 0, probability = 0.01, fault = new { type = "EmptyOk" } };
        yield return new { target = "Metadata", count = 0, probability = 0.03, fault = new { type = "Status", status = 500 } };
    }

    private sealed record Sample(TimeSpan Elapsed, int Segment, long RssBytes, int Handles, int Threads, long Stored, int Published);
}
