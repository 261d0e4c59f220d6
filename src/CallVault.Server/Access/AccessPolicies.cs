namespace CallVault.Server.Access;

/// <summary>
/// The authorization policies of the API: <see cref="Reader"/> for reads, <see cref="Operator"/> for state changes,
/// <see cref="Metrics"/> for <c>/metrics</c>. An operator key is also a reader; a metrics key is only that.
/// </summary>
public static class AccessPolicies
{
    /// <summary>Lists, shows and plays recordings and reads the jobs and events: roles reader and operator.</summary>
    public const string Reader = "Reader";

    /// <summary>State changes such as retrying a dead-lettered chunk: role operator.</summary>
    public const string Operator = "Operator";

    /// <summary><c>/metrics</c>: role metrics only.</summary>
    public const string Metrics = "Metrics";
}
