namespace CallVault.Acs.Downloads;

/// <summary>How far a download has come.</summary>
/// <param name="BytesStored">Bytes of the object in the destination, including those of an earlier attempt.</param>
/// <param name="TotalBytes">The object's size, once the service has said it.</param>
public readonly record struct AcsDownloadProgress(long BytesStored, long? TotalBytes);
