using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Acs.Downloads;
using CallVault.Cli.Commands;
using CallVault.Testing;

namespace CallVault.Cli.Tests.Commands;

/// <summary><c>callvault download</c> against a loopback server that checks ACS signatures.</summary>
public sealed class DownloadCommandTests : IAsyncLifetime
{
    private const string Key = "ZW11bGF0b3ItdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q=";
    private const long Size = (3 * 1024 * 1024) + 7;
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-cli-").FullName;
    private FaultyObjectServer _server = null!;

    private string ConnectionString => $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={Key}";

    private string AllowHost => _server.StorageBase.GetLeftPart(UriPartial.Authority);

    public async Task InitializeAsync()
    {
        _server = await FaultyObjectServer.StartAsync(Convert.FromBase64String(Key));
        _server.Objects["0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f"] = Size;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) =>
        RunInAsync(new CommandEnvironment(_folder, _ => null), args);

    /// <summary>Runs the command with its own current folder and environment, so no process-wide state changes
    /// under the test classes running in parallel.</summary>
    private static async Task<(int ExitCode, string Output, string Error)> RunInAsync(CommandEnvironment environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new System.CommandLine.RootCommand { DownloadCommand.Create(environment) };
        var exitCode = await CommandRunner.RunAsync(root, args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private string ContentUrl => _server.ContentUri("0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f").AbsoluteUri;

    [Fact]
    public async Task Download_ContentLocation_SavesFileAndPrintsSizeAndHash()
    {
        var target = Path.Combine(_folder, "call.wav");

        var (exitCode, output, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target);

        Assert.True(exitCode == 0, error);
        var expected = Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(Size));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(target))));
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Contains("3,145,735 bytes", output, StringComparison.Ordinal);
        Assert.False(File.Exists(target + ".partial"));
    }

    [Fact]
    public async Task Download_Json_PrintsMachineReadableResult()
    {
        var target = Path.Combine(_folder, "call.bin");

        var (exitCode, output, _) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target, "--json", "--parallel", "3", "--part-size", "1");

        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(Size, json.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(Size)), json.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(4, _server.Served.Count);
    }

    /// <summary>--json names the connections used: the most at once and the count at the end (the fixed 3 here, 1 for a single GET).</summary>
    [Theory]
    [InlineData("3", 3)]
    [InlineData("1", 1)]
    public async Task Download_Json_PrintsTheConnectionsUsed(string parallel, int expected)
    {
        var target = Path.Combine(_folder, "connections.bin");

        var (exitCode, output, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target, "--json", "--parallel", parallel, "--part-size", "1");

        Assert.True(exitCode == 0, error);
        using var json = JsonDocument.Parse(output);
        var connections = json.RootElement.GetProperty("connections");
        Assert.Equal(expected, connections.GetProperty("peak").GetInt32());
        Assert.Equal(expected, connections.GetProperty("final").GetInt32());
    }

    /// <summary>Without --parallel the count adapts; --json still says what it chose, at least one connection.</summary>
    [Fact]
    public async Task Download_JsonOnDefaults_PrintsTheAdaptiveCount()
    {
        var target = Path.Combine(_folder, "adaptive.bin");

        var (exitCode, output, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target, "--json");

        Assert.True(exitCode == 0, error);
        using var json = JsonDocument.Parse(output);
        var connections = json.RootElement.GetProperty("connections");
        Assert.InRange(connections.GetProperty("peak").GetInt32(), 1, new AcsDownloadOptions().MaxConnections);
        Assert.InRange(connections.GetProperty("final").GetInt32(), 1, connections.GetProperty("peak").GetInt32());
        Assert.Equal(FaultyObjectServer.Sha256Of(Size), SHA256.HashData(await File.ReadAllBytesAsync(target)));
    }

    /// <summary>A .partial file from an interrupted run is continued from its length, not fetched again.</summary>
    [Fact]
    public async Task Download_PartialFileLeftBehind_ResumesFromItsLength()
    {
        var target = Path.Combine(_folder, "resumed.wav");
        var prefix = new byte[1_000_000];
        for (var i = 0; i < prefix.Length; i++)
        {
            prefix[i] = FaultyObjectServer.ByteAt(i);
        }

        await File.WriteAllBytesAsync(target + ".partial", prefix);

        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target);

        Assert.True(exitCode == 0, error);
        Assert.Equal(FaultyObjectServer.Sha256Of(Size), SHA256.HashData(await File.ReadAllBytesAsync(target)));
        var served = Assert.Single(_server.Served);
        Assert.Equal(prefix.Length, served.First);
    }

    /// <summary>Without -o the file goes to the command's current folder, named after the document.</summary>
    [Fact]
    public async Task Download_DefaultOutput_NamesFileAfterDocumentAndContentType()
    {
        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost);

        Assert.True(exitCode == 0, error);
        Assert.True(File.Exists(Path.Combine(_folder, "0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f.wav")));
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f.wav")));
    }

    /// <summary>A relative -o is relative to the command's current folder too.</summary>
    [Fact]
    public async Task Download_RelativeOutput_IsResolvedInTheCurrentFolder()
    {
        var (exitCode, output, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", "relative.wav");

        Assert.True(exitCode == 0, error);
        Assert.Equal(FaultyObjectServer.Sha256Of(Size), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(_folder, "relative.wav"))));
        Assert.Contains(Path.Combine(_folder, "relative.wav"), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_ConnectionStringFromEnvironment_IsUsedWithoutOption()
    {
        var environment = new CommandEnvironment(_folder, name => name == DownloadCommand.ConnectionStringVariable ? ConnectionString : null);

        var (exitCode, _, error) = await RunInAsync(environment, "download", ContentUrl, "--allow-host", AllowHost, "-o", "from-environment.wav");

        Assert.True(exitCode == 0, error);
        Assert.True(File.Exists(Path.Combine(_folder, "from-environment.wav")));
    }

    /// <summary>A bare document id goes to the 2021-preview route on the ACS endpoint itself.</summary>
    [Fact]
    public async Task Download_DocumentIdWithMetadata_UsesPreviewRoute()
    {
        _server.Documents["doc-7"] = """{"callId":"call-7","chunkIndex":0,"participants":[{"participantId":"4:+1555"}]}"""u8.ToArray();
        var endpoint = _server.StorageBase.GetLeftPart(UriPartial.Authority);
        var target = Path.Combine(_folder, "doc-7.json");

        var (exitCode, output, error) = await RunAsync("download", "doc-7", "--metadata", "-c", $"endpoint={endpoint};accesskey={Key}", "-o", target);

        Assert.True(exitCode == 0, error);
        Assert.Contains("call-7", output, StringComparison.Ordinal);
        Assert.Contains("1 participant(s)", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A metadata document sent chunked, without a size: the whole JSON document is accepted (it proves its own end), and
    /// with --json too, where nothing is summarised.
    /// </summary>
    [Fact]
    public async Task Download_MetadataSentChunkedWithoutASize_IsSaved()
    {
        _server.ServeDocumentsChunked = true;
        _server.Documents["doc-8"] = """{"callId":"call-8","chunkIndex":0,"participants":[]}"""u8.ToArray();
        var endpoint = _server.StorageBase.GetLeftPart(UriPartial.Authority);
        var target = Path.Combine(_folder, "doc-8.json");

        var (exitCode, _, error) = await RunAsync("download", "doc-8", "--metadata", "--json", "-c", $"endpoint={endpoint};accesskey={Key}", "-o", target);

        Assert.True(exitCode == 0, error);
        Assert.Equal(_server.Documents["doc-8"], await File.ReadAllBytesAsync(target));
    }

    /// <summary>A metadata document without a size that is not whole JSON is not saved as if it were complete.</summary>
    [Fact]
    public async Task Download_MetadataWithoutASizeCutShort_FailsAndSavesNothing()
    {
        _server.ServeDocumentsChunked = true;
        _server.Documents["doc-9"] = """{"callId":"call-9","chunkIndex":0,"partic"""u8.ToArray();
        var endpoint = _server.StorageBase.GetLeftPart(UriPartial.Authority);
        var target = Path.Combine(_folder, "doc-9.json");

        var (exitCode, _, _) = await RunAsync("download", "doc-9", "--metadata", "--json", "-c", $"endpoint={endpoint};accesskey={Key}", "-o", target);

        Assert.Equal(1, exitCode);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task Download_NoConnectionString_IsUsageError()
    {
        var (exitCode, _, error) = await RunInAsync(new CommandEnvironment(_folder, _ => null), "download", ContentUrl);

        Assert.Equal(2, exitCode);
        Assert.Contains("ACS_CONNECTION_STRING", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_MalformedConnectionString_NamesPartAndHidesKey()
    {
        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", "endpoint=not-a-url;accesskey=c2VjcmV0LWtleQ==");

        Assert.Equal(2, exitCode);
        Assert.Contains("'endpoint'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_HostNotAllowed_FailsWithHintAndSendsNothing()
    {
        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "-o", Path.Combine(_folder, "x"));

        Assert.Equal(1, exitCode);
        Assert.Contains("--allow-host", error, StringComparison.Ordinal);
        Assert.Empty(_server.Served);
    }

    [Fact]
    public async Task Download_WrongKey_FailsWithOneLineExplanation()
    {
        var (exitCode, _, error) = await RunAsync(
            "download", ContentUrl, "-c", "endpoint=https://contoso-acs.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]),
            "--allow-host", AllowHost, "-o", Path.Combine(_folder, "x"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: ACS answered 401", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Download_ExistingOutputWithoutForce_IsRefused()
    {
        var target = Path.Combine(_folder, "exists.wav");
        await File.WriteAllTextAsync(target, "keep me");

        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, "--allow-host", AllowHost, "-o", target);

        Assert.Equal(2, exitCode);
        Assert.Contains("--force", error, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(target));
    }

    [Theory]
    [InlineData("--parallel", "0")]
    [InlineData("--parallel", "17")]
    [InlineData("--part-size", "0")]
    [InlineData("--no-such-option", "x")]
    public async Task Download_BadArguments_AreUsageErrors(string option, string value)
    {
        var (exitCode, _, error) = await RunAsync("download", ContentUrl, "-c", ConnectionString, option, value);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_NeitherUrlNorDocumentId_IsUsageError()
    {
        var (exitCode, _, error) = await RunAsync("download", "../../etc/passwd", "-c", ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Contains("neither an http(s) URL nor a document id", error, StringComparison.Ordinal);
    }

    /// <summary>The built program, run as a process with the connection string in the environment.</summary>
    [Fact]
    public async Task CallvaultProcess_DownloadWithEnvironmentConnectionString_ExitsZero()
    {
        var target = Path.Combine(_folder, "process.wav");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Cli"), "download", ContentUrl, "--allow-host", AllowHost, "-o", target, "--json" },
            Environment = { [DownloadCommand.ConnectionStringVariable] = ConnectionString },
        };

        var (exitCode, output, error) = await ChildProcess.RunAsync(start, input: null, TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, error);
        Assert.Contains(Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(Size)), output, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, output + error, StringComparison.Ordinal);
    }
}
