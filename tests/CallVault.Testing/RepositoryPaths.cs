namespace CallVault.Testing;

/// <summary>Finds the repository's projects and their build outputs from a running test.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder holding <c>CallVault.slnx</c>.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration the tests run under (Debug or Release).</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built entry assembly of a project under <c>src/</c>, e.g. <c>CallVault.Cli</c>.</summary>
    /// <exception cref="FileNotFoundException">The project has not been built in this configuration.</exception>
    public static string BuiltAssembly(string project)
    {
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} ({Configuration}) first.", path);
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CallVault.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("No CallVault.slnx above " + AppContext.BaseDirectory);
    }
}
