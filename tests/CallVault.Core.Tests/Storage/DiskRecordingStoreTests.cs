using System.Security.Cryptography;
using CallVault.Storage;

namespace CallVault.Core.Tests.Storage;

public sealed class DiskRecordingStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("callvault-store-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Upload_InterruptedThenReopened_ContinuesAfterPersistedBytes()
    {
        var store = new DiskRecordingStore(_root);
        var first = RandomNumberGenerator.GetBytes(1000);
        var second = RandomNumberGenerator.GetBytes(500);

        await using (var upload = await store.OpenUploadAsync("2026/01/01/c/r/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(first);
        }

        Assert.Null(await store.OpenReadAsync("2026/01/01/c/r/chunk-000.wav", CancellationToken.None));
        await using (var resumed = await store.OpenUploadAsync("2026/01/01/c/r/chunk-000.wav", CancellationToken.None))
        {
            Assert.Equal(1000, resumed.PersistedLength);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await resumed.HashPersistedAsync(hash, CancellationToken.None);
            Assert.Equal(SHA256.HashData(first), hash.GetHashAndReset());
            await resumed.Content.WriteAsync(second);
            await resumed.CommitAsync(CancellationToken.None);
        }

        await using var read = (await store.OpenReadAsync("2026/01/01/c/r/chunk-000.wav", CancellationToken.None))!;
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal([.. first, .. second], copy.ToArray());
        Assert.False(File.Exists(Path.Combine(_root, "2026/01/01/c/r/chunk-000.wav.partial")));
    }

    /// <summary>After a power loss the file system may keep a partial file's length but not its last bytes (a zero-filled tail).</summary>
    [Fact]
    public async Task Upload_PartialWithZeroFilledTailAfterPowerLoss_ResumesOnlyFromTheKnownGoodPrefix()
    {
        var store = new DiskRecordingStore(_root);
        var first = RandomNumberGenerator.GetBytes(1000);
        await using (var upload = await store.OpenUploadAsync("p/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(first);
        }

        await using (var partial = new FileStream(Path.Combine(_root, "p/chunk-000.wav.partial"), FileMode.Append))
        {
            partial.Write(new byte[4096]);
        }

        await using var resumed = await store.OpenUploadAsync("p/chunk-000.wav", CancellationToken.None);
        Assert.Equal(1000, resumed.PersistedLength);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await resumed.HashPersistedAsync(hash, CancellationToken.None);
        Assert.Equal(SHA256.HashData(first), hash.GetHashAndReset());
    }

    /// <summary>A prefix whose bytes are not what was checkpointed (torn or corrupted) is not trusted: the upload starts over.</summary>
    [Fact]
    public async Task Upload_PartialWhosePrefixChanged_RestartsFromZero()
    {
        var store = new DiskRecordingStore(_root);
        await using (var upload = await store.OpenUploadAsync("q/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(RandomNumberGenerator.GetBytes(1000));
        }

        await using (var partial = new FileStream(Path.Combine(_root, "q/chunk-000.wav.partial"), FileMode.Open))
        {
            partial.Position = 10;
            partial.Write(new byte[16]);
        }

        await using var resumed = await store.OpenUploadAsync("q/chunk-000.wav", CancellationToken.None);
        Assert.Equal(0, resumed.PersistedLength);
        Assert.Equal(0, new FileInfo(Path.Combine(_root, "q/chunk-000.wav.partial")).Length);
    }

    [Fact]
    public async Task Write_ReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        var store = new DiskRecordingStore(_root);

        await store.WriteAsync("x/manifest.json", "{\"v\":1}"u8.ToArray(), CancellationToken.None);
        await store.WriteAsync("x/manifest.json", "{\"v\":2}"u8.ToArray(), CancellationToken.None);

        Assert.Equal("{\"v\":2}", await File.ReadAllTextAsync(Path.Combine(_root, "x/manifest.json")));
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "x")));
    }

    [Theory]
    [InlineData("../outside.wav")]
    [InlineData("a/../../outside.wav")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\b")]
    public async Task Paths_ThatLeaveTheRoot_AreRefused(string path)
    {
        var store = new DiskRecordingStore(_root);

        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenUploadAsync(path, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(path, new byte[1], CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_root)!, "outside.wav")));
    }
}
