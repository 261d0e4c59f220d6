using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Acs;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Hosts;
using CallVault.Acs.Recordings;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary>
/// <c>callvault download &lt;contentLocation | metadataLocation | documentId&gt;</c>: fetches one object with resumable
/// signed requests, then prints its size and SHA-256. An interrupted run leaves <c>FILE.partial</c>, and the same
/// command continues it.
/// </summary>
internal static class DownloadCommand
{
    /// <summary>The environment variable read when <c>--connection-string</c> is not given.</summary>
    public const string ConnectionStringVariable = "ACS_CONNECTION_STRING";

    private static readonly JsonSerializerOptions JsonOutput = new() { WriteIndented = true };

    /// <summary>Builds the command.</summary>
    /// <param name="environment">The current folder and environment variables to use; the process's when null.</param>
    public static Command Create(CommandEnvironment? environment = null)
    {
        var source = new Argument<string>("source")
        {
            Description = "A contentLocation or metadataLocation URL from a RecordingFileStatusUpdated event, or a 2021-preview documentId.",
        };
        var connectionString = new Option<string?>("--connection-string", "-c")
        {
            Description = $"The ACS connection string (endpoint=...;accesskey=...). Defaults to the {ConnectionStringVariable} environment variable.",
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Where to save the object. Defaults to the document id with an extension from the content type, in the current folder.",
        };
        var metadata = new Option<bool>("--metadata")
        {
            Description = "Fetch the chunk's metadata JSON: with a documentId, from its metadata route; with a URL, the URL is a metadataLocation.",
        };
        var parallel = new Option<int?>("--parallel", "-p")
        {
            Description = "A fixed number of connections for one object (1-16). Without it the count adapts to the link: one to start, more while they raise the rate. 1 sends a single GET.",
        };
        parallel.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > 16)
            {
                result.AddError("--parallel must be between 1 and 16.");
            }
        });
        var partSize = new Option<int>("--part-size")
        {
            Description = "Size of one ranged part in MiB when more than one connection is used (1-256).",
            DefaultValueFactory = _ => (int)(new AcsDownloadOptions().PartSizeBytes / AcsDownloadOptions.MiB),
        };
        partSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 256)
            {
                result.AddError("--part-size must be between 1 and 256 MiB.");
            }
        });
        var allowHosts = new Option<string[]>("--allow-host")
        {
            Description = "Another host that may receive signed requests: 'host', '*.domain', or an origin such as 'http://127.0.0.1:5272' (the only way to allow http). Repeatable.",
        };
        var force = new Option<bool>("--force", "-f") { Description = "Overwrite the output file if it exists." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (with the connections used)." };

        var command = new Command("download", "Download one recording object (media or metadata) and print its size and SHA-256.")
        {
            source, connectionString, output, metadata, parallel, partSize, allowHosts, force, json,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var process = environment ?? CommandEnvironment.OfProcess();
            return RunAsync(
                new DownloadArguments(
                    parseResult.GetRequiredValue(source),
                    parseResult.GetValue(connectionString) ?? process.GetVariable(ConnectionStringVariable),
                    parseResult.GetValue(output) is { Length: > 0 } path ? Path.GetFullPath(path, process.CurrentDirectory) : null,
                    process.CurrentDirectory,
                    parseResult.GetValue(metadata),
                    parseResult.GetValue(parallel),
                    parseResult.GetValue(partSize),
                    parseResult.GetValue(allowHosts) ?? [],
                    parseResult.GetValue(force),
                    parseResult.GetValue(json)),
                parseResult.InvocationConfiguration.Output,
                parseResult.InvocationConfiguration.Error,
                cancellationToken);
        });
        return command;
    }

    internal static async Task<int> RunAsync(DownloadArguments arguments, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(arguments.ConnectionString))
        {
            await stderr.WriteLineAsync($"error: no connection string. Pass --connection-string or set {ConnectionStringVariable}.");
            return ExitCodes.UsageError;
        }

        if (!AcsConnectionString.TryParse(arguments.ConnectionString, out var credential, out var parseError))
        {
            await stderr.WriteLineAsync($"error: {parseError}");
            return ExitCodes.UsageError;
        }

        if (!TryResolveSource(arguments.Source, credential.Endpoint, arguments.Metadata, out var location, out var documentId, out var sourceError))
        {
            await stderr.WriteLineAsync($"error: {sourceError}");
            return ExitCodes.UsageError;
        }

        foreach (var host in arguments.AllowHosts)
        {
            if (!AcsHostAllowList.IsValidEntry(host, out var hostError))
            {
                await stderr.WriteLineAsync($"error: {hostError}");
                return ExitCodes.UsageError;
            }
        }

        var finalPath = arguments.OutputPath;
        var partialPath = (finalPath ?? Path.GetFullPath(documentId + (arguments.Metadata ? ".metadata" : ".media"), arguments.CurrentDirectory)) + ".partial";
        if (finalPath is not null && File.Exists(finalPath) && !arguments.Force)
        {
            await stderr.WriteLineAsync($"error: '{finalPath}' exists. Use --force to overwrite it.");
            return ExitCodes.UsageError;
        }

        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = arguments.ConnectionString;
            foreach (var host in arguments.AllowHosts)
            {
                options.AllowedHosts.Add(host);
            }

            options.Download.ParallelConnections = arguments.Parallel;
            options.Download.PartSizeBytes = arguments.PartSizeMiB * AcsDownloadOptions.MiB;

            // One download per process: the budget shared between downloads must not hold back larger parts.
            options.PartBufferBudgetBytes = Math.Max(options.PartBufferBudgetBytes, (arguments.Parallel ?? options.Download.MaxConnections) * options.Download.PartSizeBytes);
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<AcsRecordingClient>();

        try
        {
            var result = await DownloadToPartialAsync(client, location, arguments.Metadata, partialPath, stdout, cancellationToken);
            finalPath ??= Path.GetFullPath(documentId + (arguments.Metadata ? ".json" : ExtensionFor(result.ContentType)), arguments.CurrentDirectory);
            if (File.Exists(finalPath) && !arguments.Force)
            {
                await stderr.WriteLineAsync($"error: '{finalPath}' exists; the download is kept in '{partialPath}'. Use --force to overwrite.");
                return ExitCodes.Failure;
            }

            File.Move(partialPath, finalPath, overwrite: true);
            await ReportAsync(arguments, finalPath, result, stdout);
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"Stopped. What was downloaded is kept in '{partialPath}'; run the same command again to resume.");
            return ExitCodes.Cancelled;
        }
        catch (AcsHostNotAllowedException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message} Pass --allow-host to trust another host.");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is AcsRequestException or AcsContentException or AcsStallTimeoutException or HttpRequestException or IOException or InvalidDataException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// Interprets the source argument: an absolute http(s) URL is used as given (the URL shape differs between content
    /// kinds and may change, so a URL is never rebuilt from a document id when the event gives one); anything else
    /// must be a document id and goes to the 2021-preview routes of the endpoint.
    /// </summary>
    internal static bool TryResolveSource(string source, Uri endpoint, bool metadata, out Uri location, out string documentId, out string? error)
    {
        location = null!;
        documentId = null!;
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            location = uri;
            documentId = DocumentIdFromPath(uri) ?? "recording";
            error = null;
            return true;
        }

        if (RecordingDocumentId.IsValid(source))
        {
            documentId = source;
            location = metadata
                ? AcsRecordingClient.GetPreviewMetadataLocation(endpoint, source)
                : AcsRecordingClient.GetPreviewContentLocation(endpoint, source);
            error = null;
            return true;
        }

        error = $"'{source}' is neither an http(s) URL nor a document id (letters, digits, '-', '_' and '.').";
        return false;
    }

    private static string? DocumentIdFromPath(Uri uri)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i + 1 < segments.Length; i++)
        {
            if (segments[i] is "objects" or "download" && RecordingDocumentId.IsValid(segments[i + 1]))
            {
                return segments[i + 1];
            }
        }

        return null;
    }

    private static async Task<AcsDownloadResult> DownloadToPartialAsync(AcsRecordingClient client, Uri location, bool metadata, string partialPath, TextWriter stdout, CancellationToken cancellationToken)
    {
        var stream = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.Asynchronous);
        await using (stream)
        {
            // A partial file left by an interrupted run is a prefix of the object: hash it and continue after it.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1024 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }

            // A metadata document may come chunked without a size; it is parsed (summarised) below, which proves its end.
            var request = new AcsDownloadRequest(location) { ResumeOffset = stream.Length, Sha256 = hash, AllowUnknownLength = metadata };

            // Writes through this start the kernel's writeback as the download goes, so the fsync below finds little left.
            var destination = new Output.EarlyWritebackStream(stream);
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stdout) });
            AcsDownloadResult result;
            if (console.Profile.Capabilities.Interactive)
            {
                result = await console.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(Path.GetFileName(partialPath[..^".partial".Length]));
                        task.IsIndeterminate = true;
                        var progress = new Progress<AcsDownloadProgress>(p =>
                        {
                            if (p.TotalBytes is { } total)
                            {
                                task.IsIndeterminate = false;
                                task.MaxValue = total;
                            }

                            task.Value = p.BytesStored;
                        });
                        var downloaded = await client.DownloadToAsync(request, destination, progress, cancellationToken);
                        task.MaxValue = downloaded.Length;
                        task.Value = downloaded.Length;
                        return downloaded;
                    });
            }
            else
            {
                result = await client.DownloadToAsync(request, destination, progress: null, cancellationToken);
            }

            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
            if (metadata)
            {
                // A metadata document may arrive without a stated size: only one that parses whole is taken as complete.
                stream.Position = 0;
                var document = new byte[stream.Length];
                await stream.ReadExactlyAsync(document, cancellationToken);
                RecordingMetadata.Parse(document);
            }

            return result;
        }
    }

    private static async Task ReportAsync(DownloadArguments arguments, string path, AcsDownloadResult result, TextWriter stdout)
    {
        if (arguments.Json)
        {
            var report = new
            {
                path,
                bytes = result.Length,
                sha256 = result.Sha256Hex,
                contentType = result.ContentType,
                etag = result.ETag,
                requests = result.Requests,
                connections = new { peak = result.PeakConnections, final = result.FinalConnections },
            };
            await stdout.WriteLineAsync(JsonSerializer.Serialize(report, JsonOutput));
            return;
        }

        await stdout.WriteLineAsync($"Saved {path}");
        await stdout.WriteLineAsync($"  size    {result.Length:N0} bytes");
        await stdout.WriteLineAsync($"  sha256  {result.Sha256Hex}");
        await stdout.WriteLineAsync($"  connections  {result.PeakConnections} at most, {result.FinalConnections} at the end");
        if (arguments.Metadata)
        {
            var metadata = RecordingMetadata.Parse(await File.ReadAllBytesAsync(path));
            await stdout.WriteLineAsync($"  call    {metadata.CallId}, chunk {metadata.ChunkIndex}, {metadata.ContentType}/{metadata.ChannelType}/{metadata.Format}, {metadata.Participants.Count} participant(s)");
        }
    }

    private static string ExtensionFor(string? contentType) => contentType?.ToLowerInvariant() switch
    {
        "audio/wav" or "audio/x-wav" or "audio/wave" or "audio/vnd.wave" => ".wav",
        "audio/mpeg" or "audio/mp3" => ".mp3",
        "video/mp4" or "audio/mp4" => ".mp4",
        "application/json" => ".json",
        _ => ".bin",
    };
}

/// <summary>The parsed command line of <c>callvault download</c>.</summary>
/// <param name="Source">A contentLocation or metadataLocation URL, or a 2021-preview document id.</param>
/// <param name="ConnectionString">The ACS connection string, from the option or the environment; null when neither.</param>
/// <param name="OutputPath">The absolute path of <c>--out</c>, or null for a name made from the document id.</param>
/// <param name="CurrentDirectory">The absolute folder the default output name is placed in.</param>
/// <param name="Metadata">Whether the metadata document is fetched instead of the media.</param>
/// <param name="Parallel">A fixed number of connections for one object, 1 to 16; null adapts to the link.</param>
/// <param name="PartSizeMiB">Size of one ranged part in MiB, 1 to 256.</param>
/// <param name="AllowHosts">Extra hosts that may receive signed requests.</param>
/// <param name="Force">Whether an existing output file is overwritten.</param>
/// <param name="Json">Whether the result is printed as JSON.</param>
internal sealed record DownloadArguments(
    string Source,
    string? ConnectionString,
    string? OutputPath,
    string CurrentDirectory,
    bool Metadata,
    int? Parallel,
    int PartSizeMiB,
    IReadOnlyList<string> AllowHosts,
    bool Force,
    bool Json);
