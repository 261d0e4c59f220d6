using System.Security.Cryptography;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Recordings;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallVault.Acs.Tests.Downloads;

/// <summary>
/// The part buffers every download of one client shares: several parallel downloads at once hold no more than the
/// budget, a spent budget costs connections but never progress, and returned buffers are handed out again. Downloads
/// run against a real Kestrel server over loopback.
/// </summary>
public sealed class PartBufferPoolTests : IAsyncLifetime
{
    private const int PartSize = 256 * 1024;
    private const long Size = (5 * 1024 * 1024) + 12_345;
    private static readonly byte[] Key = Convert.FromBase64String(TestOptions.Key);
    private static readonly byte[] ExpectedHash = FaultyObjectServer.Sha256Of(Size);
    private FaultyObjectServer _server = null!;
    private ServiceProvider? _services;

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

    private ServiceProvider CreateServices(long budgetBytes, int parallelConnections = 4)
    {
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={TestOptions.Key}";
            options.AllowedHosts.Add(_server.StorageBase.GetLeftPart(UriPartial.Authority));
            options.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            options.Download.StallTimeout = TimeSpan.FromSeconds(30);
            options.Download.ParallelConnections = parallelConnections;
            options.Download.PartSizeBytes = PartSize;
            options.PartBufferBudgetBytes = budgetBytes;
        });
        _services = services.BuildServiceProvider(validateScopes: true);
        return _services;
    }

    private async Task<(AcsDownloadResult Result, byte[] Bytes)> DownloadAsync(AcsRecordingClient client)
    {
        using var destination = new MemoryStream();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("doc-1")), destination);
        return (result, destination.ToArray());
    }

    /// <summary>
    /// Three downloads at once, each allowed four connections (up to four 256 KiB parts, 1 MiB each), through clients
    /// of one registration with a budget of two parts: together they never hold more than the budget, they still use
    /// parts, every byte arrives, and every buffer comes back.
    /// </summary>
    [Fact]
    public async Task ConcurrentDownloads_ShareOneBudget_AndNeverHoldMoreThanIt()
    {
        var services = CreateServices(budgetBytes: 2 * PartSize);
        var clients = Enumerable.Range(0, 3).Select(_ => services.GetRequiredService<AcsRecordingClient>()).ToList();

        var downloads = await Task.WhenAll(clients.Select(DownloadAsync));

        Assert.All(downloads, download =>
        {
            Assert.Equal(ExpectedHash, SHA256.HashData(download.Bytes));
            Assert.Equal(ExpectedHash, download.Result.Sha256);
        });
        var pool = services.GetRequiredService<PartBufferPool>();
        Assert.InRange(pool.PeakRentedBytes, PartSize, 2 * PartSize);
        Assert.Equal(0, pool.RentedBytes);
    }

    /// <summary>A request answered normally: a reset after more bytes than any range holds never happens.</summary>
    private static Fault Normal() => new(FaultKind.ResetAfter, AfterBytes: long.MaxValue);

    /// <summary>
    /// A parallel download cancelled while a part waits on a silent server, after the head (cut at one part) is
    /// stored, so that the oldest range is a part: every buffer, the cancelled parts' included, comes back.
    /// </summary>
    [Fact]
    public async Task CancelledParallelDownload_ReturnsEveryBuffer()
    {
        var services = CreateServices(budgetBytes: 8 * PartSize);
        _server.Faults.Enqueue(Normal());
        _server.Faults.Enqueue(new Fault(FaultKind.StallAfter, AfterBytes: 1000));
        using var destination = new ObservedDestination();
        using var cancel = new CancellationTokenSource();
        var client = services.GetRequiredService<AcsRecordingClient>();

        var download = client.DownloadToAsync(new AcsDownloadRequest(_server.ContentUri("doc-1")), destination, cancellationToken: cancel.Token);
        await _server.StallReached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await destination.WhenLengthReachesAsync(PartSize, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);
        Assert.Equal(0, services.GetRequiredService<PartBufferPool>().RentedBytes);
    }

    /// <summary>
    /// A parallel download whose parts are refused for good (403, not retried) after the head is stored: the download
    /// fails, and the failed parts' buffers come back with the others'.
    /// </summary>
    [Fact]
    public async Task FailedParallelDownload_ReturnsEveryBuffer()
    {
        var services = CreateServices(budgetBytes: 8 * PartSize);
        _server.Faults.Enqueue(Normal());
        for (var i = 0; i < 40; i++)
        {
            _server.Faults.Enqueue(new Fault(FaultKind.Status, Status: 403));
        }

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(services.GetRequiredService<AcsRecordingClient>()));

        Assert.Equal(403, error.Status);
        Assert.Equal(0, services.GetRequiredService<PartBufferPool>().RentedBytes);
    }

    /// <summary>
    /// The object changes under a parallel download (a part is cut off, and the object has grown by the time the part
    /// resumes): the download restarts and stores the new object whole, and no buffer of the first attempt is lost.
    /// </summary>
    [Fact]
    public async Task RestartedParallelDownload_ReturnsEveryBuffer()
    {
        const long NewSize = Size + 70_000;
        var services = CreateServices(budgetBytes: 8 * PartSize);
        _server.Faults.Enqueue(Normal());
        _server.Faults.Enqueue(new Fault(FaultKind.ResetAfter, AfterBytes: 1000)
        {
            HoldBeforeReset = (_, _) =>
            {
                _server.Objects["doc-1"] = NewSize;
                return Task.CompletedTask;
            },
        });

        var (result, bytes) = await DownloadAsync(services.GetRequiredService<AcsRecordingClient>());

        Assert.Equal(1, result.Restarts);
        Assert.Equal(FaultyObjectServer.Sha256Of(NewSize), SHA256.HashData(bytes));
        Assert.Equal(0, services.GetRequiredService<PartBufferPool>().RentedBytes);
    }

    /// <summary>With no budget at all, a download asked to use four connections still completes, on its head alone.</summary>
    [Fact]
    public async Task NoBudget_TheDownloadStillCompletes_WithoutParts()
    {
        var services = CreateServices(budgetBytes: 0);

        var (result, bytes) = await DownloadAsync(services.GetRequiredService<AcsRecordingClient>());

        Assert.Equal(ExpectedHash, SHA256.HashData(bytes));
        Assert.Equal(ExpectedHash, result.Sha256);
        Assert.Equal(1, result.PeakConnections);
        Assert.Equal(0, services.GetRequiredService<PartBufferPool>().PeakRentedBytes);
    }

    [Fact]
    public void Registration_OnePoolWithTheConfiguredBudget()
    {
        var services = CreateServices(budgetBytes: 3 * PartSize);

        Assert.Same(services.GetRequiredService<PartBufferPool>(), services.GetRequiredService<PartBufferPool>());
        Assert.Equal(3 * PartSize, services.GetRequiredService<PartBufferPool>().BudgetBytes);
        Assert.Equal(32L * 1024 * 1024, new AcsClientOptions().PartBufferBudgetBytes);
    }

    [Fact]
    public void NegativeBudget_IsRejectedAtStartup()
    {
        var services = CreateServices(budgetBytes: -1);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<AcsClientOptions>>().Value);

        Assert.Contains(nameof(AcsClientOptions.PartBufferBudgetBytes), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRent_BeyondTheBudget_IsRefusedUntilABufferComesBack()
    {
        var pool = new PartBufferPool(2 * PartSize);

        Assert.True(pool.TryRent(PartSize, out var first));
        Assert.True(pool.TryRent(PartSize, out _));
        Assert.False(pool.TryRent(PartSize, out _));
        pool.Return(first);
        Assert.True(pool.TryRent(PartSize, out var again));

        Assert.Same(first, again);
        Assert.Equal(PartSize, again.Length);
        Assert.Equal(2 * PartSize, pool.PeakRentedBytes);
    }

    [Fact]
    public void KeptBuffersOfAnotherSize_AreDroppedToMakeRoom()
    {
        var pool = new PartBufferPool(2 * PartSize);
        Assert.True(pool.TryRent(PartSize, out var small1));
        Assert.True(pool.TryRent(PartSize, out var small2));
        pool.Return(small1);
        pool.Return(small2);

        Assert.True(pool.TryRent(2 * PartSize, out var large));

        Assert.Equal(2 * PartSize, large.Length);
        Assert.Equal(2 * PartSize, pool.RentedBytes);
        Assert.False(pool.TryRent(PartSize, out _));
    }
}
