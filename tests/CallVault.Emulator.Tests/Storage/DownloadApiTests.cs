using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Acs.Authentication;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Recordings;

namespace CallVault.Emulator.Tests.Storage;

/// <summary>The emulator's download API (GA routes on the storage host, 2021-preview routes on the endpoint), driven by
/// requests signed with CallVault.Acs and by hand-made ones.</summary>
public sealed class DownloadApiTests : EmulatorTestBase
{
    private static async Task<(AcsDownloadResult Result, byte[] Bytes)> DownloadAsync(AcsRecordingClient client, Uri location, AcsDownloadOptions? options = null)
    {
        using var destination = new MemoryStream();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(location) { Options = options }, destination);
        return (result, destination.ToArray());
    }

    /// <summary>Signs like the .NET SDK for a storage URL: endpoint authority, storage path, x-ms-host.</summary>
    private HttpRequestMessage Signed(HttpMethod method, Uri url, string? signedHost = null, string? date = null, byte[]? key = null, bool sendHostOverride = true)
    {
        var host = signedHost ?? Emulator.Endpoint.Authority;
        date ??= AcsHmacSigner.FormatDate(TimeProvider.System.GetUtcNow());
        var signature = AcsHmacSigner.ComputeSignature(
            key ?? Emulator.ConnectionString.AccessKey.ToArray(),
            AcsHmacSigner.BuildStringToSign(method.Method, url.AbsolutePath, date, host, AcsHmacSigner.EmptyContentHash));
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("x-ms-date", date);
        request.Headers.TryAddWithoutValidation("x-ms-content-sha256", AcsHmacSigner.EmptyContentHash);
        if (sendHostOverride)
        {
            request.Headers.TryAddWithoutValidation("x-ms-host", host);
        }

        request.Headers.TryAddWithoutValidation("Authorization", $"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}");
        return request;
    }

    [Fact]
    public async Task GaLocations_SignedByCallVault_ServeMediaAndMetadataWithAdvertisedHash()
    {
        var recording = await RecordAsync(new { durationSeconds = 3 });
        var chunk = Chunk(recording);
        var client = CreateClient();

        var (result, bytes) = await DownloadAsync(client, Location(chunk, "contentLocation"));
        var (json, metadata) = await client.GetMetadataAsync(Location(chunk, "metadataLocation"));

        Assert.Equal(chunk.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Equal(chunk.GetProperty("sizeBytes").GetInt64(), result.Length);
        Assert.Equal("audio/wav", result.ContentType);
        Assert.Equal(chunk.GetProperty("documentId").GetString(), metadata.ChunkDocumentId);
        Assert.Equal(recording.GetProperty("callId").GetString(), metadata.CallId);
        Assert.NotEmpty(json);
    }

    [Fact]
    public async Task PreviewRoutes_OnTheEndpoint_ServeTheSameBytes()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 2 }));
        var client = CreateClient();

        var (_, ga) = await DownloadAsync(client, Location(chunk, "contentLocation"));
        var (_, preview) = await DownloadAsync(client, Location(chunk, "previewContentLocation"));
        var (_, metadata) = await client.GetMetadataAsync(Location(chunk, "previewMetadataLocation"));

        Assert.Equal(ga, preview);
        Assert.Equal(chunk.GetProperty("documentId").GetString(), metadata.ChunkDocumentId);
    }

    [Fact]
    public async Task PreviewRoute_WithoutApiVersion_Is400()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        var url = new Uri(Location(chunk, "previewContentLocation").GetLeftPart(UriPartial.Path));

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(CreateClient(), url));

        Assert.Equal(400, error.Status);
    }

    [Fact]
    public async Task Delete_ThenDownload_Is404AndDeleteAgainIsAlreadyGone()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        var client = CreateClient();

        Assert.Equal(AcsDeleteOutcome.Deleted, await client.DeleteAsync(Location(chunk, "deleteLocation")));
        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(client, Location(chunk, "contentLocation")));
        Assert.Equal(404, error.Status);
        await Assert.ThrowsAsync<AcsRequestException>(() => client.GetMetadataAsync(Location(chunk, "metadataLocation")));
        Assert.Equal(AcsDeleteOutcome.AlreadyGone, await client.DeleteAsync(Location(chunk, "deleteLocation")));
    }

    /// <summary>The classic mistake (azure-sdk-for-js#26142): signing the storage host instead of the ACS host.</summary>
    [Fact]
    public async Task StorageHostSigned_Is401NamingTheHostCheck()
    {
        var url = Location(Chunk(await RecordAsync(new { durationSeconds = 1 })), "contentLocation");

        using var response = await Admin.SendAsync(Signed(HttpMethod.Get, url, signedHost: url.Authority, sendHostOverride: false));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("HostMismatch", problem.GetProperty("failedCheck").GetString());
        Assert.Contains("x-ms-host", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongKey_Is401SignatureMismatch()
    {
        var url = Location(Chunk(await RecordAsync(new { durationSeconds = 1 })), "contentLocation");

        using var response = await Admin.SendAsync(Signed(HttpMethod.Get, url, key: new byte[32]));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("SignatureMismatch", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failedCheck").GetString());
    }

    [Fact]
    public async Task StaleDate_Is401DateOutsideWindow()
    {
        var url = Location(Chunk(await RecordAsync(new { durationSeconds = 1 })), "contentLocation");
        var stale = AcsHmacSigner.FormatDate(TimeProvider.System.GetUtcNow().AddMinutes(-20));

        using var response = await Admin.SendAsync(Signed(HttpMethod.Get, url, date: stale));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("DateOutsideWindow", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failedCheck").GetString());
    }

    [Fact]
    public async Task Unsigned_Is401MalformedAuthorization()
    {
        var url = Location(Chunk(await RecordAsync(new { durationSeconds = 1 })), "contentLocation");

        using var response = await Admin.GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("MalformedAuthorization", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failedCheck").GetString());
    }

    [Fact]
    public async Task Preview2021DateForm_IsAccepted()
    {
        var url = Location(Chunk(await RecordAsync(new { durationSeconds = 1 })), "contentLocation");
        var date = AcsHmacSigner.FormatDate(TimeProvider.System.GetUtcNow());
        var request = Signed(HttpMethod.Get, url, date: date);
        request.Headers.Remove("x-ms-date");
        request.Headers.TryAddWithoutValidation("Date", date);
        var authorization = request.Headers.GetValues("Authorization").Single().Replace("x-ms-date;host", "date;host", StringComparison.Ordinal);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await Admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("bytes=0-9", 206, 0L, 9L)]
    [InlineData("bytes=100-", 206, 100L, -1L)]
    [InlineData("bytes=-50", 206, -50L, -1L)]
    [InlineData("bytes=0-999999999", 206, 0L, -1L)]
    [InlineData("bytes=0-1,5-6", 200, 0L, -1L)]
    public async Task Range_SingleRangesAnswer206WithContentRange(string range, int status, long first, long last)
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        var size = chunk.GetProperty("sizeBytes").GetInt64();
        var request = Signed(HttpMethod.Get, Location(chunk, "contentLocation"));
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await Admin.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
        var expectedFirst = first < 0 ? size + first : first;
        var expectedLast = last < 0 ? size - 1 : last;
        if (status == 206)
        {
            Assert.Equal(new ContentRangeHeaderValue(expectedFirst, expectedLast, size), response.Content.Headers.ContentRange);
            Assert.Equal(expectedLast - expectedFirst + 1, (await response.Content.ReadAsByteArrayAsync()).Length);
        }
        else
        {
            Assert.Equal(size, (await response.Content.ReadAsByteArrayAsync()).Length);
        }
    }

    [Fact]
    public async Task Range_PastTheEnd_Is416WithTotal()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        var size = chunk.GetProperty("sizeBytes").GetInt64();
        var request = Signed(HttpMethod.Get, Location(chunk, "contentLocation"));
        request.Headers.TryAddWithoutValidation("Range", $"bytes={size}-");

        using var response = await Admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{size}", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task IfRange_WithOldETag_SendsWholeObject()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        var request = Signed(HttpMethod.Get, Location(chunk, "contentLocation"));
        request.Headers.TryAddWithoutValidation("Range", "bytes=10-");
        request.Headers.TryAddWithoutValidation("If-Range", "\"some-other-version\"");

        using var response = await Admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Headers.ETag);
    }

    [Fact]
    public async Task Retention_AfterThePeriod_ObjectsAre404()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions
        {
            EndpointUrl = "http://127.0.0.1:0",
            StorageUrl = "http://127.0.0.1:0",
            TimeProvider = clock,
            Retention = TimeSpan.FromHours(24),
        });
        var recording = await emulator.RecordAsync(new CallVault.Emulator.Recordings.RecordingSpec { DurationSeconds = 1, Publish = false });
        var chunk = recording.Chunks[0];
        Assert.True(emulator.Context.Recordings.TryGetAvailable(chunk.DocumentId, out _));

        clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));

        Assert.False(emulator.Context.Recordings.TryGetAvailable(chunk.DocumentId, out _));
        Assert.False(emulator.Context.Recordings.Delete(chunk.DocumentId));
    }

    [Fact]
    public async Task Faults_ResetStatusEmptyHtmlAndStall_AreSurvivedByTheClient()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 3_000_000 }));
        var id = chunk.GetProperty("documentId").GetString();
        foreach (var fault in new object[]
        {
            new { documentId = id, fault = new { type = "Reset", afterBytes = 500_000 } },
            new { documentId = id, fault = new { type = "Status", status = 503, retryAfterSeconds = 0 } },
            new { documentId = id, fault = new { type = "EmptyOk" } },
            new { documentId = id, fault = new { type = "Stall", afterBytes = 200_000 } },
            new { documentId = id, fault = new { type = "Status", status = 429 } },
        })
        {
            (await Admin.PostAsJsonAsync("faults", fault)).EnsureSuccessStatusCode();
        }

        var client = CreateClient(o => o.Download.StallTimeout = TimeSpan.FromSeconds(1));

        var (result, bytes) = await DownloadAsync(client, Location(chunk, "contentLocation"));

        Assert.Equal(chunk.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Equal(6, result.Requests);
        Assert.Empty(await Admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
    }

    [Fact]
    public async Task Fault_HtmlError_ReachesTheClientAsTypedError()
    {
        var chunk = Chunk(await RecordAsync(new { durationSeconds = 1 }));
        (await Admin.PostAsJsonAsync("faults", new { fault = new { type = "Html", status = 400 } })).EnsureSuccessStatusCode();

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(CreateClient(), Location(chunk, "contentLocation")));

        Assert.Equal(400, error.Status);
        Assert.Equal("Bad Request", error.ServiceMessage);
    }

    [Fact]
    public async Task Link_BandwidthCapAndLatency_SlowEachConnection()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 1_000_000 }));
        (await Admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 2_000_000, latencyMilliseconds = 100 })).EnsureSuccessStatusCode();
        var client = CreateClient();

        var stopwatch = Stopwatch.StartNew();
        var (_, bytes) = await DownloadAsync(client, Location(chunk, "contentLocation"));

        // 1 MB at 2 MB/s plus 100 ms can not take less than 0.6 s; an upper bound would be a timing assertion.
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(0.55), $"took {stopwatch.Elapsed}");
        Assert.Equal(1_000_000, bytes.Length);
    }

    [Fact]
    public async Task Link_TotalCap_IsReportedAndConcurrentDownloadsStillGetEveryByte()
    {
        var first = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 1_500_000 }));
        var second = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 700_001 }));
        (await Admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 3_000_000, totalBandwidthBytesPerSecond = 4_000_000 })).EnsureSuccessStatusCode();
        var link = await Admin.GetFromJsonAsync<JsonElement>("link");
        Assert.Equal(4_000_000, link.GetProperty("totalBandwidthBytesPerSecond").GetInt64());
        var client = CreateClient(options =>
        {
            options.Download.ParallelConnections = 4;
            options.Download.PartSizeBytes = 256 * 1024;
        });

        // Five connections share the cap; whichever waits, each range must still arrive whole and in place.
        var downloads = await Task.WhenAll(
            DownloadAsync(client, Location(first, "contentLocation")),
            DownloadAsync(client, Location(second, "contentLocation")));

        Assert.Equal(first.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(downloads[0].Bytes)));
        Assert.Equal(second.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(downloads[1].Bytes)));
    }

    [Fact]
    public async Task Link_NegativeTotalCap_Is400()
    {
        using var response = await Admin.PutAsJsonAsync("link", new { totalBandwidthBytesPerSecond = -1 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Fault_WithProbability_HitsSomeRequestsAndStaysUntilCleared()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 10_000 }));
        (await Admin.PostAsJsonAsync("faults", new { probability = 0.5, count = 0, fault = new { type = "Status", status = 500 } })).EnsureSuccessStatusCode();
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 50);

        var requests = 0;
        for (var i = 0; i < 20; i++)
        {
            requests += (await DownloadAsync(client, Location(chunk, "contentLocation"))).Result.Requests;
        }

        Assert.InRange(requests, 21, 200);
        Assert.Single(await Admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
        (await Admin.DeleteAsync("faults")).EnsureSuccessStatusCode();
        Assert.Equal(1, (await DownloadAsync(client, Location(chunk, "contentLocation"))).Result.Requests);
    }
}
