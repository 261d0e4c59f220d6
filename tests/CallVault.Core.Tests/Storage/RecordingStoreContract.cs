using System.Security.Cryptography;
using CallVault.Storage;

namespace CallVault.Core.Tests.Storage;

/// <summary>What every <see cref="IRecordingStore"/> must do. One subclass per backend overrides only <see cref="CreateStoreAsync"/>.</summary>
public abstract class RecordingStoreContract : IAsyncLifetime
{
    /// <summary>Larger than a few of the smallest blob blocks (256 KiB), so uploads span blocks.</summary>
    protected const int ObjectSize = (1024 * 1024) + 12_345;

    private static readonly byte[] Content = RandomNumberGenerator.GetBytes(ObjectSize);

    protected IRecordingStore Store { get; private set; } = null!;

    protected abstract Task<IRecordingStore> CreateStoreAsync();

    public virtual async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private async Task<byte[]?> ReadAsync(string path)
    {
        var stream = await Store.OpenReadAsync(path, default);
        if (stream is null)
        {
            return null;
        }

        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    [Fact]
    public async Task Upload_Committed_IsReadBackIdentical()
    {
        await using (var upload = await Store.OpenUploadAsync("2026/03/03/call/rec/chunk-000.wav", default))
        {
            Assert.Equal(0, upload.PersistedLength);
            await upload.Content.WriteAsync(Content);
            await upload.CommitAsync(default);
        }

        Assert.Equal(Content, await ReadAsync("2026/03/03/call/rec/chunk-000.wav"));
    }

    [Fact]
    public async Task Upload_NotCommitted_IsInvisible()
    {
        await using (var upload = await Store.OpenUploadAsync("a/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(Content);
        }

        Assert.Null(await ReadAsync("a/chunk-000.wav"));
    }

    /// <summary>A crash mid-upload: reopening reports a prefix of what was written, and continuing after it gives the whole object.</summary>
    [Fact]
    public async Task Upload_InterruptedThenReopened_ContinuesAfterAPersistedPrefix()
    {
        const int written = 700 * 1024;
        await using (var upload = await Store.OpenUploadAsync("b/chunk-001.wav", default))
        {
            await upload.Content.WriteAsync(Content.AsMemory(0, written));
        }

        await using (var resumed = await Store.OpenUploadAsync("b/chunk-001.wav", default))
        {
            Assert.InRange(resumed.PersistedLength, 1, written);
            if (resumed.CanHashPersisted)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await resumed.HashPersistedAsync(hash, default);
                Assert.Equal(SHA256.HashData(Content.AsSpan(0, (int)resumed.PersistedLength)), hash.GetHashAndReset());
            }
            else
            {
                await Assert.ThrowsAsync<NotSupportedException>(() => resumed.HashPersistedAsync(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), default));
            }

            await resumed.Content.WriteAsync(Content.AsMemory((int)resumed.PersistedLength));
            await resumed.CommitAsync(default);
        }

        Assert.Equal(Content, await ReadAsync("b/chunk-001.wav"));
    }

    /// <summary>Two different recordings given one path: the second commit must not replace the first's bytes.</summary>
    [Fact]
    public async Task Upload_CommittedOverDifferentContent_LeavesTheFirstIntact()
    {
        var other = RandomNumberGenerator.GetBytes(ObjectSize);
        await using (var upload = await Store.OpenUploadAsync("d/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(Content);
            await upload.CommitAsync(default);
        }

        Exception? error = null;
        await using (var second = await Store.OpenUploadAsync("d/chunk-000.wav", default))
        {
            await second.Content.WriteAsync(other);
            error = await Record.ExceptionAsync(() => second.CommitAsync(default));
        }

        Assert.NotNull(error);
        Assert.Equal(Content, await ReadAsync("d/chunk-000.wav"));
    }

    [Fact]
    public async Task Write_ReplacesTheObjectWhole()
    {
        await Store.WriteAsync("c/manifest.json", "{\"v\":1}"u8.ToArray(), default);
        await Store.WriteAsync("c/manifest.json", "{\"v\":2}"u8.ToArray(), default);

        Assert.Equal("{\"v\":2}"u8.ToArray(), await ReadAsync("c/manifest.json"));
    }

    [Fact]
    public async Task OpenRead_Missing_IsNull()
    {
        Assert.Null(await ReadAsync("no/such/object.wav"));
    }

    [Theory]
    [InlineData("../escape.wav")]
    [InlineData("/absolute.wav")]
    [InlineData("a//b.wav")]
    [InlineData("a/./b.wav")]
    [InlineData("a b.wav")]
    public async Task InvalidPaths_AreRefused(string path)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenUploadAsync(path, default));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(path, new byte[1], default));
    }

    [Fact]
    public async Task CheckWritable_Succeeds()
    {
        await Store.CheckWritableAsync(default);
    }
}

/// <summary>The recording-store contract on a local folder.</summary>
public sealed class DiskRecordingStoreContractTests : RecordingStoreContract
{
    private readonly string _root = Directory.CreateTempSubdirectory("callvault-disk-").FullName;

    protected override Task<IRecordingStore> CreateStoreAsync() => Task.FromResult<IRecordingStore>(new DiskRecordingStore(_root));

    public override Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
