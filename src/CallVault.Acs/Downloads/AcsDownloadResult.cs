namespace CallVault.Acs.Downloads;

/// <summary>What a finished download stored and what it cost.</summary>
public sealed record AcsDownloadResult
{
    /// <summary>The object's length in bytes, as stored.</summary>
    public required long Length { get; init; }

    /// <summary>SHA-256 of the object (or of the bytes this call wrote, when no hash was handed in to continue).</summary>
    public required byte[] Sha256 { get; init; }

    /// <summary><see cref="Sha256"/> as lower-case hex.</summary>
    public string Sha256Hex => Convert.ToHexStringLower(Sha256);

    /// <summary>The object's strong ETag, when the service sent one.</summary>
    public string? ETag { get; init; }

    /// <summary>The response's media type, when the service sent one.</summary>
    public string? ContentType { get; init; }

    /// <summary>Body bytes received over the network, including any that had to be discarded.</summary>
    public long BytesReceived { get; init; }

    /// <summary>HTTP requests sent, retries included.</summary>
    public int Requests { get; init; }

    /// <summary>Times the object changed under the download and it started again from byte 0.</summary>
    public int Restarts { get; init; }

    /// <summary>The most connections that fetched the object at once; 1 for a single stream.</summary>
    public int PeakConnections { get; init; } = 1;

    /// <summary>The connection count the download ended with: the adaptive count's choice, or the fixed count.</summary>
    public int FinalConnections { get; init; } = 1;
}
