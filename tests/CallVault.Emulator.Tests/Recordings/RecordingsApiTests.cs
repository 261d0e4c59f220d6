using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Acs.Downloads;
using CallVault.Acs.Recordings;

namespace CallVault.Emulator.Tests.Recordings;

/// <summary><c>POST /admin/recordings</c>: chunking, end reasons, metadata documents, media formats.</summary>
public sealed class RecordingsApiTests : EmulatorTestBase
{
    protected override AcsEmulatorOptions Options => new()
    {
        EndpointUrl = "http://127.0.0.1:0",
        StorageUrl = "http://127.0.0.1:0",
        FfmpegPath = "/nonexistent/ffmpeg",
    };

    [Fact]
    public async Task Record_SizeLimit_SplitsIntoChunksWithEndReasons()
    {
        // 10 s of mono 16 kHz is 320,044 bytes of WAV; a 120,000-byte limit gives three chunks.
        var recording = await RecordAsync(new { durationSeconds = 10, chunkSizeLimitBytes = 120_000 });

        var chunks = recording.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(3, chunks.Count);
        Assert.Equal(["ChunkMaximumSizeExceeded", "ChunkMaximumSizeExceeded", "SessionEnded"], chunks.Select(c => c.GetProperty("endReason").GetString()));
        Assert.Equal([0, 1, 2], chunks.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(chunks, c => Assert.True(c.GetProperty("sizeBytes").GetInt64() <= 120_000));
        Assert.Equal(3, chunks.Select(c => c.GetProperty("documentId").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task Record_DurationLimit_SplitsWithDurationEndReason()
    {
        var recording = await RecordAsync(new { media = "synthetic", durationSeconds = 9, chunkDurationLimitSeconds = 4 });

        Assert.Equal(
            ["ChunkMaximumDurationExceeded", "ChunkMaximumDurationExceeded", "SessionEnded"],
            recording.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("endReason").GetString()));
    }

    /// <summary>Unmixed audio: one WAV channel per participant, and the metadata says which channel is whose.</summary>
    [Fact]
    public async Task Record_UnmixedWav_HasChannelPerParticipantAndChannelMapInMetadata()
    {
        string[] participants = ["8:acs:agent", "4:+14255550123", "8:acs:supervisor"];
        var recording = await RecordAsync(new { channelType = "unmixed", participants, durationSeconds = 2, pauses = new[] { new { startSeconds = 0.5, durationSeconds = 0.25 } } });
        var chunk = Chunk(recording);
        var client = CreateClient();

        using var media = new MemoryStream();
        await client.DownloadToAsync(new AcsDownloadRequest(Location(chunk, "contentLocation")), media);
        var (_, metadata) = await client.GetMetadataAsync(Location(chunk, "metadataLocation"));

        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(media.ToArray().AsSpan(22)));
        Assert.Equal(participants, metadata.Participants.Select(p => p.ParticipantId));
        Assert.Equal([0, 1, 2], metadata.Participants.Select(p => p.Channel ?? -1));
        Assert.Equal(("audio", "unmixed", "wav", 3), (metadata.ContentType, metadata.ChannelType, metadata.Format, metadata.AudioChannels));
        Assert.Equal(TimeSpan.FromMilliseconds(250), Assert.Single(metadata.Pauses).Duration);
    }

    [Fact]
    public async Task Record_Synthetic_HonoursSizeAndFormatMimeType()
    {
        var recording = await RecordAsync(new { media = "synthetic", sizeBytes = 2_500_000, chunkSizeLimitBytes = 1_000_000, format = "mp3" });

        var chunks = recording.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal([1_000_000L, 1_000_000L, 500_000L], chunks.Select(c => c.GetProperty("sizeBytes").GetInt64()));
        Assert.All(chunks, c => Assert.Equal("audio/mpeg", c.GetProperty("mediaType").GetString()));
    }

    [Fact]
    public async Task Record_ToneMp3WithoutFfmpeg_Is400ThatSaysWhatToDo()
    {
        using var response = await Admin.PostAsJsonAsync("recordings", new { format = "mp3", durationSeconds = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains("ffmpeg", detail, StringComparison.Ordinal);
        Assert.Contains("synthetic", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"contentType\":\"hologram\"}", "contentType must be one of")]
    [InlineData("{\"channelType\":\"unmixed\",\"participants\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", "at most 5 channels")]
    [InlineData("{\"contentType\":\"audioVideo\",\"format\":\"wav\"}", "mixed mp4")]
    [InlineData("{\"durationSeconds\":-1}", "durationSeconds")]
    public async Task Record_InvalidSpec_Is400WithReason(string body, string expected)
    {
        using var response = await Admin.PostAsync("recordings", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recordings_AreListedAndFoundById()
    {
        var recording = await RecordAsync(new { durationSeconds = 1 });
        var id = recording.GetProperty("recordingId").GetString();

        var all = await Admin.GetFromJsonAsync<JsonElement[]>("recordings");
        var one = await Admin.GetFromJsonAsync<JsonElement>($"recordings/{id}");

        Assert.Contains(all!, r => r.GetProperty("recordingId").GetString() == id);
        Assert.Equal(recording.GetProperty("callId").GetString(), one.GetProperty("callId").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("recordings/nope")).StatusCode);
    }

    [Fact]
    public async Task Record_Subject_CarriesCallServerCallAndRecordingIds()
    {
        var recording = await RecordAsync(new { durationSeconds = 1 });

        var subject = RecordingSubject.Parse(recording.GetProperty("subject").GetString());

        Assert.Equal(recording.GetProperty("callId").GetString(), subject.CallId);
        Assert.Equal(recording.GetProperty("serverCallId").GetString(), subject.ServerCallId);
        Assert.Equal(recording.GetProperty("recordingId").GetString(), subject.RecordingId);
    }
}
