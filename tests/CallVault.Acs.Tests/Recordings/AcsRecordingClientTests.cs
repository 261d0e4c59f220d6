using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Hosts;
using CallVault.Acs.Recordings;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Acs.Tests.Recordings;

/// <summary>
/// The recording client against a real Kestrel server over loopback that checks signatures and misbehaves on
/// purpose. Every download must end byte-identical, and no byte the client already received is asked for again.
/// </summary>
public sealed class AcsRecordingClientTests : IAsyncLifetime
{
    private const long Size = (5 * 1024 * 1024) + 12_345;
    private static readonly byte[] Key = Convert.FromBase64String(TestOptions.Key);
    private static readonly byte[] ExpectedHash = FaultyObjectServer.Sha256Of(Size);
    private FaultyObjectServer _server = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _server = await FaultyObjectServer.StartAsync(Key);
        _server.Objects["doc-1"] = Size;
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    private AcsRecordingClient CreateClient(Action<AcsClientOptions>? configure = null, string? key = null)
    {
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={key ?? TestOptions.Key}";
            options.AllowedHosts.Add(_server.StorageBase.GetLeftPart(UriPartial.Authority));
            options.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
            options.Download.StallTimeout = TimeSpan.FromSeconds(1);

            // These tests are about single-stream semantics; parallel mode has its own tests that say so.
            options.Download.ParallelConnections = 1;
            configure?.Invoke(options);
        });
        _services = services.BuildServiceProvider(validateScopes: true);
        return _services.GetRequiredService<AcsRecordingClient>();
    }

    private async Task<(AcsDownloadResult Result, byte[] Bytes)> DownloadAsync(AcsRecordingClient client, AcsDownloadOptions? options = null, string id = "doc-1")
    {
        using var destination = new MemoryStream();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri(id)) { Options = options }, destination);
        return (result, destination.ToArray());
    }

    private static void AssertIdentical(AcsDownloadResult result, byte[] bytes)
    {
        Assert.Equal(Size, result.Length);
        Assert.Equal(Size, bytes.LongLength);
        Assert.Equal(ExpectedHash, SHA256.HashData(bytes));
        Assert.Equal(ExpectedHash, result.Sha256);
    }

    /// <summary>One GET, no Range header, the whole object byte-identical.</summary>
    [Fact]
    public async Task DownloadToAsync_NoFaults_OneRequestWithoutRange()
    {
        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        var served = Assert.Single(_server.Served);
        Assert.Equal((200, true), (served.Status, served.HadValidSignature));
        Assert.Equal(1, result.Requests);
        Assert.Equal("audio/wav", result.ContentType);
        Assert.Equal("\"doc-1-" + Size + "\"", result.ETag);
    }

    /// <summary>Three resets mid-body: each resumption starts exactly where the received bytes end, with If-Range.</summary>
    [Fact]
    public async Task DownloadToAsync_ConnectionResets_ResumeWithoutRefetchingBytes()
    {
        long[] resetAfter = [1_000_000, 777_777, 2_000_000];
        foreach (var bytesBeforeReset in resetAfter)
        {
            _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: bytesBeforeReset));
        }

        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        Assert.Equal(Size, result.BytesReceived);
        var served = _server.Served.ToList();
        Assert.Equal(4, served.Count);
        Assert.Equal(0, served[0].First);
        for (var i = 1; i < served.Count; i++)
        {
            Assert.True(served[i].HadIfRange);
            Assert.True(served[i].First <= served[i - 1].First + served[i - 1].BytesSent, "a resumption skipped bytes");
            Assert.True(served[i].First > served[i - 1].First, "a resumption did not move forward");
        }

        // Over-fetch is bounded by what was in flight when each reset hit.
        Assert.True(_server.BytesSent <= Size + resetAfter.Sum(), $"sent {_server.BytesSent} bytes for a {Size}-byte object");
    }

    [Fact]
    public async Task DownloadToAsync_503WithRetryAfter_WaitsAsAskedThenSucceeds()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.Status, Status: 503, RetryAfterSeconds: 1));
        var client = CreateClient(o => o.Retry.MaxDelay = TimeSpan.FromSeconds(5));

        var stopwatch = Stopwatch.StartNew();
        var (result, bytes) = await DownloadAsync(client);

        AssertIdentical(result, bytes);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {stopwatch.Elapsed}, before the Retry-After of 1 s");
        Assert.Equal(2, result.Requests);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    [InlineData(408)]
    public async Task DownloadToAsync_TransientStatus_IsRetried(int status)
    {
        _server.Faults.Enqueue(new Fault(FaultKind.Status, Status: status));

        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        Assert.Equal(2, result.Requests);
    }

    /// <summary>An idle resource's first answer can be an empty 200 (spec §6): it is refused and fetched again.</summary>
    [Fact]
    public async Task DownloadToAsync_EmptyOk_IsRetried()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.EmptyOk));

        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        Assert.Equal(2, result.Requests);
    }

    [Fact]
    public async Task DownloadToAsync_HtmlErrorBody_ThrowsTypedErrorWithoutRetrying()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.Html, Status: 400));

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(CreateClient()));

        Assert.Equal(400, error.Status);
        Assert.False(error.IsTransient);
        Assert.Equal("Bad Request - Invalid URL", error.ServiceMessage);
        Assert.Contains("<h2>Bad Request</h2>", error.ResponseBody, StringComparison.Ordinal);
        Assert.Single(_server.Served);
    }

    [Fact]
    public async Task DownloadToAsync_WrongKey_Throws401ThatSaysWhatToCheck()
    {
        var client = CreateClient(key: Convert.ToBase64String(new byte[32]));

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(client));

        Assert.Equal(401, error.Status);
        Assert.Contains("access key", error.Message, StringComparison.Ordinal);
        Assert.Contains("clock", error.Message, StringComparison.Ordinal);
        Assert.Contains("endpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains("00-test-trace", error.RequestId, StringComparison.Ordinal);
        Assert.Single(_server.Served);
    }

    [Fact]
    public async Task DownloadToAsync_GoneObject_Throws404WithRetentionHint()
    {
        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(CreateClient(), id: "missing"));

        Assert.Equal(404, error.Status);
        Assert.Contains("24 hours", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The server sends a megabyte then goes silent: the stall timeout drops it and the rest is fetched.</summary>
    [Fact]
    public async Task DownloadToAsync_StalledBody_ResumesAfterStallTimeout()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.StallAfter, AfterBytes: 1024 * 1024));

        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        Assert.Equal(Size, result.BytesReceived);
        Assert.Equal(2, result.Requests);
    }

    /// <summary>A slow but moving body takes longer than the stall timeout in total and must not be cut.</summary>
    [Fact]
    public async Task DownloadToAsync_SlowTrickle_IsNotTimedOut()
    {
        _server.Objects["small"] = 600 * 1024;
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 0);

        // Warm the connection and the server's code paths, so that only the trickle is measured against the timeout.
        _server.Objects["warm-up"] = 1;
        var patient = new AcsDownloadOptions { StallTimeout = TimeSpan.FromSeconds(30), ParallelConnections = 1 };
        await client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("warm-up")) { Options = patient }, new MemoryStream());
        _server.Faults.Enqueue(new Fault(FaultKind.Trickle));
        using var destination = new MemoryStream();
        var stopwatch = Stopwatch.StartNew();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("small")), destination);

        Assert.True(stopwatch.Elapsed > TimeSpan.FromSeconds(1), "the trickle was faster than the stall timeout, so this proves nothing");
        Assert.Equal(600 * 1024, result.Length);
        Assert.Equal(1, result.Requests);
        Assert.Equal(2, _server.Served.Count);
        Assert.Equal(FaultyObjectServer.Sha256Of(600 * 1024), SHA256.HashData(destination.ToArray()));
    }

    /// <summary>A partial file from an earlier attempt is continued with Range and If-Range, and the given hash continues.</summary>
    [Fact]
    public async Task DownloadToAsync_ResumeOffset_ContinuesFromPartialAndHashCoversWholeObject()
    {
        const int already = 3_000_000;
        var prefix = new byte[already];
        for (var i = 0; i < already; i++)
        {
            prefix[i] = FaultyObjectServer.ByteAt(i);
        }

        using var destination = new MemoryStream();
        destination.Write(prefix);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(prefix);
        var request = new AcsDownloadRequest(_server.ContentUri("doc-1")) { ResumeOffset = already, ETag = "\"doc-1-" + Size + "\"", Sha256 = hash };

        var result = await CreateClient().DownloadToAsync(request, destination);

        AssertIdentical(result, destination.ToArray());
        var served = Assert.Single(_server.Served);
        Assert.Equal((already, true, 206), (served.First, served.HadIfRange, served.Status));
        Assert.Equal(Size - already, result.BytesReceived);
    }

    [Fact]
    public async Task DownloadToAsync_ResumeOffsetAtEnd_CompletesOn416()
    {
        using var destination = new MemoryStream();
        var request = new AcsDownloadRequest(_server.ContentUri("doc-1")) { ResumeOffset = Size };
        destination.SetLength(Size);
        destination.Position = Size;

        var result = await CreateClient().DownloadToAsync(request, destination);

        Assert.Equal(Size, result.Length);
        Assert.Equal(416, Assert.Single(_server.Served).Status);
    }

    /// <summary>After a reset, the server answers the resumption with the whole object (it changed): start again cleanly.</summary>
    [Fact]
    public async Task DownloadToAsync_WholeObjectInsteadOfRange_RestartsFromZero()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 1_000_000));
        _server.Faults.Enqueue(new Fault(FaultKind.IgnoreRange));

        var (result, bytes) = await DownloadAsync(CreateClient());

        AssertIdentical(result, bytes);
        Assert.Equal(1, result.Restarts);
    }

    /// <summary>A connection that delivered new data and dropped is resumed at once: four such resets fit in a budget of one retry.</summary>
    [Fact]
    public async Task DownloadToAsync_ResetsAfterProgress_DoNotUseUpTheRetryBudget()
    {
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 1);
        for (var i = 0; i < 4; i++)
        {
            _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 1_000_000));
        }

        var (result, bytes) = await DownloadAsync(client);

        AssertIdentical(result, bytes);
        Assert.Equal(5, _server.Served.Count);
    }

    /// <summary>A connection that drops before delivering anything new backs off and counts against the budget.</summary>
    [Fact]
    public async Task DownloadToAsync_ResetsWithoutProgress_UseUpTheRetryBudget()
    {
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 1);
        for (var i = 0; i < 3; i++)
        {
            _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 1_000));
        }

        await Assert.ThrowsAnyAsync<Exception>(() => DownloadAsync(client));

        Assert.Equal(2, _server.Served.Count);
    }

    [Fact]
    public async Task DownloadToAsync_ContentRangeOffByOneAfterRetry_IsInvalid()
    {
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 1);
        _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 100_000));
        _server.Faults.Enqueue(new Fault(FaultKind.WrongContentRange));

        var error = await Assert.ThrowsAsync<AcsContentException>(() => DownloadAsync(client));

        Assert.Equal(AcsContentProblem.InvalidContentRange, error.Problem);
    }

    /// <summary>Four connections, 256 KiB parts, resets inside parts: written in order, byte-identical, nothing re-fetched.</summary>
    [Fact]
    public async Task DownloadToAsync_Parallel_WritesPartsInOrderDespiteResets()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 100_000));
        _server.Faults.Enqueue(new Fault(FaultKind.Status, Status: 503));
        _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 65_536));
        var options = new AcsDownloadOptions { ParallelConnections = 4, PartSizeBytes = 256 * 1024, StallTimeout = TimeSpan.FromSeconds(1) };

        var (result, bytes) = await DownloadAsync(CreateClient(), options);

        AssertIdentical(result, bytes);
        Assert.Equal(Size, result.BytesReceived);
        var ranged = _server.Served.Where(s => s.Status == 206).ToList();
        Assert.True(ranged.Count >= 21, $"expected at least 21 ranged parts, saw {ranged.Count}");
        Assert.All(ranged.Skip(1), s => Assert.True(s.HadIfRange));
    }

    [Fact]
    public async Task DownloadToAsync_ParallelOnObjectSmallerThanOnePart_SendsOneRequest()
    {
        var options = new AcsDownloadOptions { ParallelConnections = 4, PartSizeBytes = 64 * 1024 * 1024 };

        var (result, bytes) = await DownloadAsync(CreateClient(), options);

        AssertIdentical(result, bytes);
        Assert.Equal(206, Assert.Single(_server.Served).Status);
    }

    [Fact]
    public async Task DownloadToAsync_Progress_ReachesTotal()
    {
        var reports = new List<AcsDownloadProgress>();
        var progress = new SynchronousProgress(reports.Add);
        using var destination = new MemoryStream();

        await CreateClient().DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("doc-1")), destination, progress);

        Assert.True(reports.Count >= 5);
        Assert.Equal(new AcsDownloadProgress(Size, Size), reports[^1]);
        Assert.Equal(reports.OrderBy(r => r.BytesStored), reports);
    }

    [Fact]
    public async Task DownloadToAsync_Cancelled_StopsWithoutRetrying()
    {
        _server.Faults.Enqueue(new Fault(FaultKind.StallAfter, AfterBytes: 100_000));
        var client = CreateClient(o => o.Download.StallTimeout = TimeSpan.FromSeconds(30));
        using var cancellation = new CancellationTokenSource();
        using var destination = new MemoryStream();

        var download = client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("doc-1")), destination, cancellationToken: cancellation.Token);
        await _server.StallReached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);
        Assert.Equal(1, _server.ContentRequestsReceived);
    }

    /// <summary>A redirect to another origin is followed without the signature; one to the same origin is signed again.</summary>
    [Fact]
    public async Task DownloadToAsync_Redirects_CarryCredentialsOnlyToTheSameOrigin()
    {
        var client = CreateClient();

        using var crossOrigin = new MemoryStream();
        await client.DownloadToAsync(new AcsDownloadRequest(new Uri(_server.StorageBase, "redirect/doc-1")), crossOrigin);
        using var sameOrigin = new MemoryStream();
        await client.DownloadToAsync(new AcsDownloadRequest(new Uri(_server.StorageBase, "redirect-same/doc-1")), sameOrigin);

        var served = _server.Served.ToList();
        Assert.Equal(2, served.Count);
        Assert.False(served[0].HadValidSignature);
        Assert.True(served[1].HadValidSignature);
        Assert.Equal(ExpectedHash, SHA256.HashData(crossOrigin.ToArray()));
        Assert.Equal(ExpectedHash, SHA256.HashData(sameOrigin.ToArray()));
    }

    [Fact]
    public async Task DownloadToAsync_HostNotAllowed_SendsNothing()
    {
        var client = CreateClient();
        var other = new Uri(_server.OtherOriginBase, "v1/objects/doc-1/content/audio");

        await Assert.ThrowsAsync<AcsHostNotAllowedException>(() => client.DownloadToAsync(new AcsDownloadRequest(other), new MemoryStream()));

        Assert.Empty(_server.Served);
    }

    [Fact]
    public async Task DeleteAsync_ExistingThenGone_ReportsBoth()
    {
        var client = CreateClient();
        var location = new Uri(_server.StorageBase, "v1/objects/doc-1");

        Assert.Equal(AcsDeleteOutcome.Deleted, await client.DeleteAsync(location));
        Assert.Equal(AcsDeleteOutcome.AlreadyGone, await client.DeleteAsync(location));
        Assert.Equal(["doc-1"], _server.Deleted);
    }

    [Fact]
    public async Task GetMetadataAsync_ParsesDocumentAndKeepsRawBytes()
    {
        var json = Encoding.UTF8.GetBytes("""{"chunkDocumentId":"doc-1","chunkIndex":0,"participants":[{"participantId":"4:+1555","channel":0}]}""");
        _server.Documents["doc-1"] = json;

        var (raw, metadata) = await CreateClient().GetMetadataAsync(new Uri(_server.StorageBase, "v1/objects/doc-1/document"));

        Assert.Equal(json, raw);
        Assert.Equal("doc-1", metadata.ChunkDocumentId);
        Assert.Equal("4:+1555", Assert.Single(metadata.Participants).ParticipantId);
    }

    [Fact]
    public void GetPreviewLocations_BuildThe2021Routes()
    {
        var endpoint = new Uri("https://contoso.communication.azure.com/");

        Assert.Equal(
            "https://contoso.communication.azure.com/recording/download/doc-1?api-version=2021-04-15-preview1",
            AcsRecordingClient.GetPreviewContentLocation(endpoint, "doc-1").AbsoluteUri);
        Assert.Equal(
            "https://contoso.communication.azure.com/recording/download/doc-1/metadata?api-version=2021-04-15-preview1",
            AcsRecordingClient.GetPreviewMetadataLocation(endpoint, "doc-1").AbsoluteUri);
        Assert.Throws<ArgumentException>(() => AcsRecordingClient.GetPreviewContentLocation(endpoint, "../admin"));
    }

    private sealed class SynchronousProgress(Action<AcsDownloadProgress> report) : IProgress<AcsDownloadProgress>
    {
        public void Report(AcsDownloadProgress value) => report(value);
    }
}
