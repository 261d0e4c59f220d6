namespace CallVault.Jobs.AdoNet;

/// <summary>The condition every write for a leased chunk carries: the row is still leased with this lease's token.</summary>
internal static class LeaseFence
{
    /// <summary>A WHERE clause on <c>chunks</c> with parameters <c>@doc</c> and <c>@token</c>.</summary>
    public const string Where = $"document_id = @doc AND lease_token = @token AND state = '{ChunkStates.Leased}'";

    public static (string Name, object? Value)[] Parameters(ChunkLease lease) => [("@doc", lease.DocumentId), ("@token", lease.Token)];

    public static LeaseLostException Lost(ChunkLease lease) =>
        new($"The lease on chunk {lease.DocumentId} is no longer held by {lease.Owner}.");
}
