using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using CallVault.Testing;

namespace CallVault.Cli.Tests.Packaging;

/// <summary>
/// The CLI as a newcomer gets it: packed (from the build the tests already have) into a local folder, then installed
/// with <c>dotnet tool install CallVault.Cli --source FOLDER --tool-path DIR</c>, as the README says. Packing and
/// installing take a while, so they happen once for the class. Nothing is fetched: the install reads only the folder,
/// and a package cache of its own keeps an older CallVault.Cli in the machine's cache out of the test.
/// </summary>
public sealed class PackedTool : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("callvault-tool-").FullName;

    /// <summary>The folder <c>dotnet pack</c> wrote the package to.</summary>
    public string PackageFolder => Path.Combine(_root, "packages");

    /// <summary>The tool path it was installed into; the command is <c>callvault</c> in it.</summary>
    public string ToolPath => Path.Combine(_root, "tools");

    /// <summary>The environment the children run in: their own package cache and home, and the runtime the tests use.</summary>
    public void Prepare(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.Environment["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-cache");
        start.Environment["DOTNET_CLI_HOME"] = Path.Combine(_root, "home");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The shim looks for the runtime here first, wherever .NET is installed.
        start.Environment["DOTNET_ROOT"] = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
    }

    public async Task<ChildProcessResult> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = _root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Prepare(start);
        return await ChildProcess.RunAsync(start, input: null, TimeSpan.FromMinutes(5));
    }

    public async Task InitializeAsync()
    {
        var project = Path.Combine(RepositoryPaths.Root, "src", "CallVault.Cli", "CallVault.Cli.csproj");
        var packed = await RunAsync("dotnet", "pack", project, "--no-build", "-c", RepositoryPaths.Configuration, "-o", PackageFolder, "-nologo");
        Assert.True(packed.ExitCode == 0, $"dotnet pack failed:\n{packed.Output}\n{packed.Error}");
        var installed = await RunAsync("dotnet", "tool", "install", "CallVault.Cli", "--source", PackageFolder, "--tool-path", ToolPath);
        Assert.True(installed.ExitCode == 0, $"dotnet tool install failed:\n{installed.Output}\n{installed.Error}");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class ToolPackageTests(PackedTool tool) : IClassFixture<PackedTool>
{
    [Fact]
    public async Task InstalledTool_Help_IsHeadedCallvault()
    {
        var help = await tool.RunAsync(Path.Combine(tool.ToolPath, "callvault"), "--help");

        Assert.True(help.ExitCode == 0, $"callvault --help failed:\n{help.Output}\n{help.Error}");
        Assert.Contains("Usage:\n  callvault [command] [options]", help.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("CallVault.Cli", help.Output, StringComparison.Ordinal);
        Assert.Contains("download", help.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Package_CarriesAReadme()
    {
        var package = Assert.Single(Directory.GetFiles(tool.PackageFolder, "CallVault.Cli.*.nupkg"));
        await using var zip = await ZipFile.OpenReadAsync(package);

        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using (var reader = new StreamReader(nuspec.Open()))
        {
            Assert.Contains("<readme>README.md</readme>", await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }

        var readme = zip.GetEntry("README.md");
        Assert.NotNull(readme);
        using var text = new StreamReader(readme.Open());
        var content = await text.ReadToEndAsync();
        Assert.Contains("dotnet tool install", content, StringComparison.Ordinal);
        Assert.Contains("CALLVAULT_URL", content, StringComparison.Ordinal);
        Assert.Contains("CALLVAULT_API_KEY", content, StringComparison.Ordinal);
    }

    /// <summary>The repository's README gives the same install steps this class runs.</summary>
    [Fact]
    public void Readme_SaysHowToInstallFromALocalFolder()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));

        Assert.Contains("dotnet pack src/CallVault.Cli -o ./packages", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet tool install CallVault.Cli --add-source ./packages --tool-path", readme, StringComparison.Ordinal);
    }
}

/// <summary>The built CLI, run as <c>dotnet CallVault.Cli.dll</c>: its help is headed with the command's name all the same.</summary>
public sealed class HelpNameTests
{
    [Fact]
    public async Task BuiltAssembly_Help_IsHeadedCallvaultNotTheAssemblyName()
    {
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Cli"), "--help" } };

        var help = await ChildProcess.RunAsync(start, input: null, TimeSpan.FromMinutes(1));

        Assert.True(help.ExitCode == 0, $"--help failed:\n{help.Output}\n{help.Error}");
        Assert.Contains("Usage:\n  callvault [command] [options]", help.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("CallVault.Cli", help.Output, StringComparison.Ordinal);
    }
}
