namespace CallVault.Server.Audit;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Could not append the access audit record of {Action} by {Who} on recording {RecordingKey} ({Bytes} bytes sent).")]
    public static partial void AuditAppendFailed(ILogger logger, string action, string who, string? recordingKey, long bytes, Exception exception);
}
