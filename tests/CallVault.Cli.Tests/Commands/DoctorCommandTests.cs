using System.Diagnostics;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Cli.Tests.Commands;

/// <summary><c>callvault doctor</c> as a process, configured through environment variables like the service.</summary>
public sealed class DoctorCommandTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-doctor-").FullName;
    private AcsEmulator _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0" });

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<(int ExitCode, string Output)> DoctorAsync(string connectionString)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Cli"), "doctor" },
            WorkingDirectory = _folder,
            Environment =
            {
                ["CallVault__Acs__ConnectionString"] = connectionString,
                ["CallVault__DataDirectory"] = _folder,
                ["CallVault__Webhook__Secrets__0"] = "a-webhook-secret-long-enough",
            },
        };
        var result = await ChildProcess.RunAsync(start, input: null, TimeSpan.FromMinutes(2));
        return (result.ExitCode, result.Output);
    }

    [Fact]
    public async Task Doctor_WithAWorkingSetup_ReportsEveryCheckInOrder()
    {
        var (exitCode, output) = await DoctorAsync(_emulator.ConnectionString.ToSecretString());

        Assert.True(exitCode == 0, output);
        Assert.Contains("ok    configuration", output, StringComparison.Ordinal);
        Assert.Contains("ok    clock", output, StringComparison.Ordinal);
        Assert.Contains("ok    acs access", output, StringComparison.Ordinal);
        Assert.Contains("warn  database      no database yet", output, StringComparison.Ordinal);
        Assert.Contains("ok    store", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_WithAWrongKey_SaysTheSignatureIsRefusedAndHidesTheKey()
    {
        var wrongKey = Convert.ToBase64String(new byte[32]);

        var (exitCode, output) = await DoctorAsync($"endpoint={_emulator.Endpoint};accesskey={wrongKey}");

        Assert.Equal(1, exitCode);
        Assert.Contains("FAIL  acs access", output, StringComparison.Ordinal);
        Assert.Contains("401", output, StringComparison.Ordinal);
        Assert.Contains("access key", output, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_WithABrokenConnectionString_NamesThePart()
    {
        var (exitCode, output) = await DoctorAsync("endpoint=not-a-url;accesskey=c2VjcmV0");

        Assert.Equal(1, exitCode);
        Assert.Contains("FAIL  configuration", output, StringComparison.Ordinal);
        Assert.Contains("'endpoint'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", output, StringComparison.Ordinal);
    }
}
