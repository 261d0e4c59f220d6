namespace CallVault.Acs.CallAutomation;

/// <summary>A recording's state as ACS reports it (a <c>RecordingStateResponse</c>).</summary>
/// <param name="RecordingId">The opaque recording id; the same id appears in the callbacks and in the subject of
/// the <c>RecordingFileStatusUpdated</c> event that announces the files.</param>
/// <param name="State"><c>active</c> or <c>inactive</c> (paused, or not yet started when started paused).</param>
/// <param name="RecordingKind"><c>azureCommunicationServices</c>, <c>teams</c> or <c>teamsCompliance</c>; null when
/// ACS does not say (api-version 2023-10-15 and earlier).</param>
public sealed record RecordingStateResult(string RecordingId, string State, string? RecordingKind);
