using Microsoft.Extensions.Logging;

namespace CallVault.Acs.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "ACS request failed; attempt {Attempt} in {Delay}: {Reason}")]
    public static partial void Retrying(ILogger logger, int attempt, TimeSpan delay, string? reason);

    [LoggerMessage(2, LogLevel.Warning, "The object at {Location} changed during the download; starting again from byte 0")]
    public static partial void RestartingChangedObject(ILogger logger, string location);

    [LoggerMessage(3, LogLevel.Debug, "Downloaded {Location}: {Length} bytes in {Requests} requests over {PeakConnections} connection(s) at most, {FinalConnections} at the end, SHA-256 {Sha256}")]
    public static partial void Downloaded(ILogger logger, string location, long length, int requests, int peakConnections, int finalConnections, string sha256);

    [LoggerMessage(4, LogLevel.Information, "The connection dropped after delivering new data; resuming at once from position {Position} of the range: {Reason}")]
    public static partial void ResumingAtOnce(ILogger logger, long position, string reason);
}
