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

    /// <summary>Two different recordings given one path: the second commit is refused and the first's bytes stay.</summary>
    [Fact]
    public async Task Upload_CommittedWhereADifferentObjectIs_IsRefusedAndTheStoredOneKept()
    {
        await CommitAsync("d/chunk-000.wav", Content);
        var other = RandomNumberGenerator.GetBytes(ObjectSize);

        await using (var second = await Store.OpenUploadAsync("d/chunk-000.wav", default))
        {
            await second.Content.WriteAsync(other);
            var error = await Assert.ThrowsAsync<StoredObjectConflictException>(() => second.CommitAsync(default));
            Assert.Equal("d/chunk-000.wav", error.Path);
            Assert.Contains("d/chunk-000.wav", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(Content, await ReadAsync("d/chunk-000.wav"));
    }

    /// <summary>Same length, one byte different: still a different object.</summary>
    [Fact]
    public async Task Upload_CommittedWhereAnObjectDifferingInOneByteIs_IsRefused()
    {
        await CommitAsync("d/chunk-001.wav", Content);
        var other = Content.ToArray();
        other[ObjectSize - 1] ^= 0xFF;

        await using var second = await Store.OpenUploadAsync("d/chunk-001.wav", default);
        await second.Content.WriteAsync(other);

        await Assert.ThrowsAsync<StoredObjectConflictException>(() => second.CommitAsync(default));
        Assert.Equal(Content, await ReadAsync("d/chunk-001.wav"));
    }

    /// <summary>A retry after a crash between the commit and its bookkeeping uploads the same bytes again: that succeeds.</summary>
    [Fact]
    public async Task Upload_SameBytesCommittedAgain_Succeeds()
    {
        await CommitAsync("e/chunk-000.wav", Content);

        await CommitAsync("e/chunk-000.wav", Content);

        Assert.Equal(Content, await ReadAsync("e/chunk-000.wav"));
    }

    /// <summary>The same retry, resumed from an interrupted second attempt.</summary>
    [Fact]
    public async Task Upload_SameBytesResumedAndCommittedAgain_Succeeds()
    {
        await CommitAsync("e/chunk-001.wav", Content);
        await using (var interrupted = await Store.OpenUploadAsync("e/chunk-001.wav", default))
        {
            await interrupted.Content.WriteAsync(Content.AsMemory(0, 600 * 1024));
        }

        await using (var resumed = await Store.OpenUploadAsync("e/chunk-001.wav", default))
        {
            await resumed.Content.WriteAsync(Content.AsMemory((int)resumed.PersistedLength));
            await resumed.CommitAsync(default);
        }

        Assert.Equal(Content, await ReadAsync("e/chunk-001.wav"));
    }

    [Fact]
    public async Task WriteOnce_NewPath_IsReadBack()
    {
        await Store.WriteOnceAsync("f/chunk-000.metadata.json", "{\"a\":1}"u8.ToArray(), default);

        Assert.Equal("{\"a\":1}"u8.ToArray(), await ReadAsync("f/chunk-000.metadata.json"));
    }

    [Fact]
    public async Task WriteOnce_SameBytesAgain_Succeeds()
    {
        await Store.WriteOnceAsync("f/chunk-001.metadata.json", "{\"a\":1}"u8.ToArray(), default);

        await Store.WriteOnceAsync("f/chunk-001.metadata.json", "{\"a\":1}"u8.ToArray(), default);

        Assert.Equal("{\"a\":1}"u8.ToArray(), await ReadAsync("f/chunk-001.metadata.json"));
    }

    /// <summary>A chunk's metadata is never replaced by another chunk's.</summary>
    [Fact]
    public async Task WriteOnce_DifferentBytes_IsRefusedAndTheStoredOneKept()
    {
        await Store.WriteOnceAsync("f/chunk-002.metadata.json", "{\"a\":1}"u8.ToArray(), default);

        var error = await Assert.ThrowsAsync<StoredObjectConflictException>(() => Store.WriteOnceAsync("f/chunk-002.metadata.json", "{\"a\":2}"u8.ToArray(), default));

        Assert.Equal("f/chunk-002.metadata.json", error.Path);
        Assert.Equal("{\"a\":1}"u8.ToArray(), await ReadAsync("f/chunk-002.metadata.json"));
    }

    /// <summary>The manifest is the one object meant to be rewritten.</summary>
    [Fact]
    public async Task Replace_ReplacesTheObjectWhole()
    {
        await Store.ReplaceAsync("c/manifest.json", "{\"v\":1}"u8.ToArray(), default);
        await Store.ReplaceAsync("c/manifest.json", "{\"v\":2}"u8.ToArray(), default);

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
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteOnceAsync(path, new byte[1], default));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReplaceAsync(path, new byte[1], default));
    }

    /// <summary>A committed object, its metadata beside it and the manifest are deleted; nothing of them is left to list or read.</summary>
    [Fact]
    public async Task Delete_CommittedObjects_RemovesThemWhole()
    {
        await CommitAsync("2026/03/03/call/rec/chunk-000.wav", Content);
        await Store.WriteOnceAsync("2026/03/03/call/rec/chunk-000.metadata.json", new byte[] { 1, 2, 3 }, default);
        await Store.ReplaceAsync("2026/03/03/call/rec/manifest.json", new byte[] { 4 }, default);
        await Store.WriteOnceAsync("2026/03/03/call/other/chunk-000.metadata.json", new byte[] { 5 }, default);

        Assert.True(await Store.DeleteAsync("2026/03/03/call/rec/chunk-000.wav", default));
        Assert.True(await Store.DeleteAsync("2026/03/03/call/rec/chunk-000.metadata.json", default));
        Assert.True(await Store.DeleteAsync("2026/03/03/call/rec/manifest.json", default));

        Assert.Null(await ReadAsync("2026/03/03/call/rec/chunk-000.wav"));
        Assert.Null(await ReadAsync("2026/03/03/call/rec/manifest.json"));
        Assert.Equal(["2026/03/03/call/other/chunk-000.metadata.json"], (await ListObjectsAsync()).Select(p => p.Replace('\\', '/')));
    }

    /// <summary>Deleting again, or deleting what never was, succeeds: a deletion interrupted by a crash is simply run again.</summary>
    [Fact]
    public async Task Delete_Missing_SucceedsAndSaysNothingWasThere()
    {
        await Store.WriteOnceAsync("a/chunk-000.metadata.json", new byte[] { 1 }, default);
        Assert.True(await Store.DeleteAsync("a/chunk-000.metadata.json", default));

        Assert.False(await Store.DeleteAsync("a/chunk-000.metadata.json", default));
        Assert.False(await Store.DeleteAsync("never/was/chunk-000.wav", default));
    }

    /// <summary>An upload interrupted before its commit leaves nothing behind once its path is deleted.</summary>
    [Fact]
    public async Task Delete_AfterAnInterruptedUpload_LeavesNothingToResume()
    {
        await using (var upload = await Store.OpenUploadAsync("c/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(Content.AsMemory(0, 700 * 1024));
        }

        await Store.DeleteAsync("c/chunk-000.wav", default);

        if (Store is DiskRecordingStore)
        {
            Assert.Empty(await ListObjectsAsync());
        }

        Assert.Null(await ReadAsync("c/chunk-000.wav"));
    }

    [Theory]
    [InlineData("../escape.wav")]
    [InlineData("/absolute.wav")]
    [InlineData("a/../../b.wav")]
    [InlineData("a\\..\\b.wav")]
    [InlineData("")]
    public async Task Delete_InvalidPath_IsRefused(string path)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(path, default));
    }

    /// <summary>The probe works and cleans up after itself: nothing is left in the store.</summary>
    [Fact]
    public async Task CheckWritable_OnAWritableStore_SucceedsAndLeavesNothingBehind()
    {
        await Store.CheckWritableAsync(default);

        Assert.Empty(await ListObjectsAsync());
    }

    /// <summary>Every object in the store (store-relative paths), including any temporary or probe files.</summary>
    protected abstract Task<IReadOnlyList<string>> ListObjectsAsync();

    private async Task CommitAsync(string path, byte[] content)
    {
        await using var upload = await Store.OpenUploadAsync(path, default);
        await upload.Content.WriteAsync(content.AsMemory((int)upload.PersistedLength));
        await upload.CommitAsync(default);
    }
}

/// <summary>The recording-store contract on a local folder.</summary>
public sealed class DiskRecordingStoreContractTests : RecordingStoreContract
{
    private readonly string _root = Directory.CreateTempSubdirectory("callvault-disk-").FullName;

    protected override Task<IRecordingStore> CreateStoreAsync() => Task.FromResult<IRecordingStore>(new DiskRecordingStore(_root));

    protected override Task<IReadOnlyList<string>> ListObjectsAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f))]);

    public override Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
