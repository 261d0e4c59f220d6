namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The values of <c>chunks.state</c>, the one place the SQL takes them from. They are the names of
/// <see cref="ChunkState"/>, which is how rows are read back.
/// </summary>
public static class ChunkStates
{
    /// <summary><see cref="ChunkState.Pending"/>.</summary>
    public const string Pending = nameof(ChunkState.Pending);

    /// <summary><see cref="ChunkState.Leased"/>.</summary>
    public const string Leased = nameof(ChunkState.Leased);

    /// <summary><see cref="ChunkState.Stored"/>.</summary>
    public const string Stored = nameof(ChunkState.Stored);

    /// <summary><see cref="ChunkState.DeadLettered"/>.</summary>
    public const string DeadLettered = nameof(ChunkState.DeadLettered);

    /// <summary>The stored value of a state.</summary>
    public static string Of(ChunkState state) => state switch
    {
        ChunkState.Pending => Pending,
        ChunkState.Leased => Leased,
        ChunkState.Stored => Stored,
        ChunkState.DeadLettered => DeadLettered,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Not a chunk state."),
    };

    /// <summary>The state a stored value names.</summary>
    public static ChunkState Parse(string value) => value switch
    {
        Pending => ChunkState.Pending,
        Leased => ChunkState.Leased,
        Stored => ChunkState.Stored,
        DeadLettered => ChunkState.DeadLettered,
        _ => throw new InvalidDataException($"'{value}' is not a chunk state."),
    };
}
