using System.Text;

namespace CallVault.Bench;

/// <summary>
/// Writes one Event Grid delivery of N recording events, as small as the schema allows (2021-preview shape, one chunk
/// each, about 260 bytes per event), all with fresh ids: 5,000 events come to about 1.3 MB.
/// </summary>
internal static class BatchFile
{
    public static async Task<int> WriteAsync(int count, string file)
    {
        var text = new StringBuilder("[");
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid().ToString("N")[..12];
            text.Append(i == 0 ? string.Empty : ",")
                .Append("{\"id\":\"").Append(id)
                .Append("\",\"subject\":\"/recording/call/c/recordingId/r").Append(id)
                .Append("\",\"data\":{\"recordingStorageInfo\":{\"recordingChunks\":[{\"documentId\":\"d").Append(id)
                .Append("\",\"index\":0}]}},\"eventType\":\"Microsoft.Communication.RecordingFileStatusUpdated\",\"dataVersion\":\"1.0\",\"eventTime\":\"2026-03-03T10:00:00Z\"}");
        }

        await File.WriteAllTextAsync(file, text.Append(']').ToString());
        return 0;
    }
}
