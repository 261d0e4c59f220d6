namespace CallVault.Testing;

/// <summary>
/// The servers <c>eng/test.sh</c> starts once per run (PostgreSQL, Azurite). A test that needs one and runs without it
/// fails with a message saying how to run it; it is never skipped.
/// </summary>
public static class TestServices
{
    /// <summary>A connection string for the run's PostgreSQL cluster (superuser, database <c>postgres</c>).</summary>
    public static string PostgreSql => Required("CALLVAULT_TEST_POSTGRES", "PostgreSQL");

    /// <summary>A connection string for the run's Azurite blob service.</summary>
    public static string Azurite => Required("CALLVAULT_TEST_AZURITE", "Azurite");

    private static string Required(string variable, string service) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set. Run the tests with ./eng/test.sh, which starts {service} (or start it and set {variable}).");
}
