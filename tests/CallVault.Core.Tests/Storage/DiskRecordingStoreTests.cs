using System.Security.Cryptography;
using CallVault.Storage;

namespace CallVault.Core.Tests.Storage;

public sealed class DiskRecordingStoreTests : IDisposable
{
    private const int SyncInterval = 64 * 1024;

    /// <summary>The test's own folder; the store's root is inside it, so "nothing outside the root" can be checked.</summary>
    private readonly string _sandbox = Directory.CreateTempSubdirectory("callvault-store-").FullName;
    private readonly string _root;

    public DiskRecordingStoreTests() => _root = Path.Combine(_sandbox, "root");

    public void Dispose() => Directory.Delete(_sandbox, recursive: true);

    /// <summary>A new upload has no checkpoint: that normal case is probed for, not found by a thrown exception (two per chunk).</summary>
    [Fact]
    public async Task OpenUpload_New_ThrowsNoFileNotFoundOnTheWay()
    {
        var store = new DiskRecordingStore(_root);
        using var thrown = ThrownExceptions.Record();

        await using (var upload = await store.OpenUploadAsync("e/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(new byte[100]);
            await upload.CommitAsync(CancellationToken.None);
        }

        Assert.Empty(thrown.Of<IOException>());
    }

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
        Assert.Equal(["chunk-000.wav"], Directory.GetFiles(Path.Combine(_root, "2026/01/01/c/r")).Select(Path.GetFileName));
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
        Assert.Equal(1000, new FileInfo(Path.Combine(_root, "p/chunk-000.wav.partial")).Length);
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

    /// <summary>A partial file without a checkpoint (nothing known to be durable, e.g. left by an older version) starts over.</summary>
    [Fact]
    public async Task Upload_PartialWithoutCheckpoint_RestartsFromZero()
    {
        var store = new DiskRecordingStore(_root);
        Directory.CreateDirectory(Path.Combine(_root, "n"));
        await File.WriteAllBytesAsync(Path.Combine(_root, "n/chunk-000.wav.partial"), new byte[5000]);

        await using var resumed = await store.OpenUploadAsync("n/chunk-000.wav", CancellationToken.None);

        Assert.Equal(0, resumed.PersistedLength);
    }

    /// <summary>
    /// A kill (no dispose, no final checkpoint) loses at most one sync interval: the upload fsyncs and checkpoints as it
    /// goes, and the restart resumes from the last checkpoint with the right bytes.
    /// </summary>
    [Fact]
    public async Task Upload_KilledMidWrite_ResumesFromTheLastPeriodicCheckpoint()
    {
        var store = new DiskRecordingStore(_root, SyncInterval);
        var content = RandomNumberGenerator.GetBytes(200 * 1024);
        var partial = Path.Combine(_root, "k/chunk-000.wav.partial");
        var upload = await store.OpenUploadAsync("k/chunk-000.wav", CancellationToken.None);
        for (var offset = 0; offset < content.Length; offset += 10 * 1024)
        {
            await upload.Content.WriteAsync(content.AsMemory(offset, 10 * 1024));
        }

        // The checkpoint as a kill here would leave it (the partial file itself is locked while the upload is open); a
        // clean dispose then records a newer one, which is put back to the state at the kill.
        var checkpointAtKill = await File.ReadAllBytesAsync(partial + ".ckpt");
        await upload.DisposeAsync();
        Assert.Equal(content.Length, new FileInfo(partial).Length);
        await File.WriteAllBytesAsync(partial + ".ckpt", checkpointAtKill);

        await using (var resumed = await store.OpenUploadAsync("k/chunk-000.wav", CancellationToken.None))
        {
            Assert.Equal(140 * 1024, resumed.PersistedLength);
            Assert.InRange(content.Length - resumed.PersistedLength, 0, SyncInterval);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await resumed.HashPersistedAsync(hash, CancellationToken.None);
            Assert.Equal(SHA256.HashData(content.AsSpan(0, (int)resumed.PersistedLength)), hash.GetHashAndReset());
            await resumed.Content.WriteAsync(content.AsMemory((int)resumed.PersistedLength));
            await resumed.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_root, "k/chunk-000.wav")));
    }

    /// <summary>
    /// The checkpoint written at commit is not synced (the commit syncs the file and its folder, not it). A power cut
    /// before the rename may leave it torn: the reopen then resumes from the last durable checkpoint, which the commit
    /// left intact, not from zero. Here the commit is refused (another object is at the path), so the partial file and
    /// every checkpoint stay, and the one the commit wrote is torn as a power cut would leave it.
    /// </summary>
    [Fact]
    public async Task Commit_ItsUnsyncedCheckpointTornByAPowerCut_ResumesFromTheLastDurableCheckpoint()
    {
        var store = new DiskRecordingStore(_root, SyncInterval);
        await store.WriteOnceAsync("t/chunk-000.wav", new byte[] { 1, 2, 3 }, CancellationToken.None);
        var content = RandomNumberGenerator.GetBytes(200 * 1024);
        await using (var upload = await store.OpenUploadAsync("t/chunk-000.wav", CancellationToken.None))
        {
            for (var offset = 0; offset < content.Length; offset += 10 * 1024)
            {
                await upload.Content.WriteAsync(content.AsMemory(offset, 10 * 1024));
            }

            await Assert.ThrowsAsync<StoredObjectConflictException>(() => upload.CommitAsync(CancellationToken.None));
        }

        var written = Directory.GetFiles(Path.Combine(_root, "t"), "chunk-000.wav.partial*.ckpt")
            .Where(f => File.ReadAllText(f).Contains($"\n{content.Length}\n", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(written);
        foreach (var checkpoint in written)
        {
            var bytes = await File.ReadAllBytesAsync(checkpoint);
            await File.WriteAllBytesAsync(checkpoint, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        }

        await using var resumed = await store.OpenUploadAsync("t/chunk-000.wav", CancellationToken.None);
        Assert.Equal(140 * 1024, resumed.PersistedLength);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await resumed.HashPersistedAsync(hash, CancellationToken.None);
        Assert.Equal(SHA256.HashData(content.AsSpan(0, 140 * 1024)), hash.GetHashAndReset());
    }

    /// <summary>A kill after the commit's checkpoint but before the rename resumes at the end: nothing is downloaded again.</summary>
    [Fact]
    public async Task Commit_RefusedWithItsCheckpointIntact_ResumesAtTheEnd()
    {
        var store = new DiskRecordingStore(_root, SyncInterval);
        await store.WriteOnceAsync("u/chunk-000.wav", new byte[] { 1, 2, 3 }, CancellationToken.None);
        var content = RandomNumberGenerator.GetBytes(200 * 1024);
        await using (var upload = await store.OpenUploadAsync("u/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(content);
            await Assert.ThrowsAsync<StoredObjectConflictException>(() => upload.CommitAsync(CancellationToken.None));
        }

        await using var resumed = await store.OpenUploadAsync("u/chunk-000.wav", CancellationToken.None);
        Assert.Equal(content.Length, resumed.PersistedLength);
    }

    /// <summary>A failed fsync is a failed write: the write throws, the upload refuses more, and a reopen resumes from the last good checkpoint.</summary>
    [Fact]
    public async Task Upload_FsyncFails_TheWriteFailsAndTheUploadResumesFromTheLastCheckpoint()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        var content = RandomNumberGenerator.GetBytes(3 * SyncInterval);
        await using (var upload = await store.OpenUploadAsync("f/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(content.AsMemory(0, SyncInterval));
            sync.FailFiles = true;

            await Assert.ThrowsAsync<IOException>(async () => await upload.Content.WriteAsync(content.AsMemory(SyncInterval, SyncInterval)));
            await Assert.ThrowsAsync<IOException>(async () => await upload.Content.WriteAsync(content.AsMemory(2 * SyncInterval, 1)));
            await Assert.ThrowsAsync<IOException>(() => upload.CommitAsync(CancellationToken.None));
        }

        sync.FailFiles = false;
        await using var resumed = await store.OpenUploadAsync("f/chunk-000.wav", CancellationToken.None);
        Assert.Equal(SyncInterval, resumed.PersistedLength);
        Assert.Null(await store.OpenReadAsync("f/chunk-000.wav", CancellationToken.None));
    }

    /// <summary>A failed fsync at commit: nothing becomes visible.</summary>
    [Fact]
    public async Task Commit_FsyncFails_ThrowsAndPublishesNothing()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        await using var upload = await store.OpenUploadAsync("g/chunk-000.wav", CancellationToken.None);
        await upload.Content.WriteAsync(RandomNumberGenerator.GetBytes(1000));
        sync.FailFiles = true;

        await Assert.ThrowsAsync<IOException>(() => upload.CommitAsync(CancellationToken.None));

        Assert.False(File.Exists(Path.Combine(_root, "g/chunk-000.wav")));
    }

    /// <summary>A failed fsync of a small object's data: the write fails and leaves nothing.</summary>
    [Fact]
    public async Task WriteOnce_FsyncFails_ThrowsAndLeavesNothing()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        Directory.CreateDirectory(Path.Combine(_root, "h"));
        sync.FailFiles = true;

        await Assert.ThrowsAsync<IOException>(() => store.WriteOnceAsync("h/chunk-000.metadata.json", "{}"u8.ToArray(), CancellationToken.None));

        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "h")));
    }

    /// <summary>Each new folder's parent is synced (top down), so new folders survive a power loss.</summary>
    [Fact]
    public async Task OpenUpload_NewFolders_SyncEachNewFoldersParent()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        sync.Directories.Clear();

        await using var upload = await store.OpenUploadAsync("2026/03/03/call/chunk-000.wav", CancellationToken.None);

        Assert.Equal(
            [_root, Path.Combine(_root, "2026"), Path.Combine(_root, "2026/03"), Path.Combine(_root, "2026/03/03")],
            sync.Directories);
    }

    /// <summary>
    /// Folders above a file are synced once per process: the first file in a folder syncs it and every folder up to the
    /// root (folders an earlier process made may never have been synced), later files sync only their own folder.
    /// </summary>
    [Fact]
    public async Task Writes_IntoAKnownFolder_SyncOnlyThatFolder()
    {
        // Made before the store exists, as by a process that crashed before syncing them.
        Directory.CreateDirectory(Path.Combine(_root, "2026/03/03/call"));
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        sync.Directories.Clear();

        await store.WriteOnceAsync("2026/03/03/call/rec/chunk-000.metadata.json", "{}"u8.ToArray(), CancellationToken.None);
        var call = Path.Combine(_root, "2026/03/03/call");
        Assert.Equal(
            [call, Path.Combine(call, "rec"), Path.Combine(_root, "2026/03/03"), Path.Combine(_root, "2026/03"), Path.Combine(_root, "2026"), _root],
            sync.Directories);

        sync.Directories.Clear();
        await using (var upload = await store.OpenUploadAsync("2026/03/03/call/rec/chunk-000.wav", CancellationToken.None))
        {
            await upload.Content.WriteAsync(new byte[1000]);
            await upload.CommitAsync(CancellationToken.None);
        }

        await store.ReplaceAsync("2026/03/03/call/rec/manifest.json", "{}"u8.ToArray(), CancellationToken.None);
        await store.WriteOnceAsync("2026/03/03/call/other/chunk-000.metadata.json", "{}"u8.ToArray(), CancellationToken.None);
        Assert.Equal([Path.Combine(call, "rec"), Path.Combine(call, "rec"), call, Path.Combine(call, "other")], sync.Directories);
    }

    /// <summary>A folder that cannot be synced fails the operation instead of being ignored.</summary>
    [Fact]
    public async Task OpenUpload_DirectorySyncFails_Throws()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        sync.FailDirectories = true;

        await Assert.ThrowsAsync<IOException>(() => store.OpenUploadAsync("new/chunk-000.wav", CancellationToken.None));
    }

    /// <summary>The real directory sync on this machine: it runs, and a folder that cannot be opened is an error, not ignored.</summary>
    [Fact]
    public void OsFileSync_SyncDirectory_RunsAndReportsAFolderItCannotOpen()
    {
        OsFileSync.Instance.SyncDirectory(_sandbox);

        if (OperatingSystem.IsLinux())
        {
            Assert.Throws<IOException>(() => OsFileSync.Instance.SyncDirectory(Path.Combine(_sandbox, "missing")));
        }
    }

    [Fact]
    public async Task Replace_ReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        var store = new DiskRecordingStore(_root);

        await store.ReplaceAsync("x/manifest.json", "{\"v\":1}"u8.ToArray(), CancellationToken.None);
        await store.ReplaceAsync("x/manifest.json", "{\"v\":2}"u8.ToArray(), CancellationToken.None);

        Assert.Equal("{\"v\":2}", await File.ReadAllTextAsync(Path.Combine(_root, "x/manifest.json")));
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "x")));
    }

    /// <summary>A refused commit keeps the refused bytes in the partial file beside the stored object.</summary>
    [Fact]
    public async Task Commit_OverADifferentObject_KeepsBoth()
    {
        var store = new DiskRecordingStore(_root);
        var first = RandomNumberGenerator.GetBytes(1000);
        var second = RandomNumberGenerator.GetBytes(1000);
        foreach (var content in new[] { first, second })
        {
            await using var upload = await store.OpenUploadAsync("b/chunk-000.wav", CancellationToken.None);
            await upload.Content.WriteAsync(content);
            if (content == first)
            {
                await upload.CommitAsync(CancellationToken.None);
            }
            else
            {
                await Assert.ThrowsAsync<StoredObjectConflictException>(() => upload.CommitAsync(CancellationToken.None));
            }
        }

        Assert.Equal(first, await File.ReadAllBytesAsync(Path.Combine(_root, "b/chunk-000.wav")));
        Assert.Equal(second, await File.ReadAllBytesAsync(Path.Combine(_root, "b/chunk-000.wav.partial")));
    }

    /// <summary>The traversal check means: the specific refusal, and nothing created anywhere outside the root.</summary>
    [Theory]
    [InlineData("../outside.wav")]
    [InlineData("a/../../outside.wav")]
    [InlineData("../../outside.wav")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\b")]
    public async Task Paths_ThatLeaveTheRoot_AreRefusedAndCreateNothingOutsideIt(string path)
    {
        var store = new DiskRecordingStore(_root);

        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenUploadAsync(path, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteOnceAsync(path, new byte[1], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReplaceAsync(path, new byte[1], CancellationToken.None));
        Assert.Equal([_root], Directory.EnumerateFileSystemEntries(_sandbox, "*", SearchOption.AllDirectories).Where(e => !e.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    /// <summary>A store whose root is no longer a folder reports that it cannot be written.</summary>
    [Fact]
    public async Task CheckWritable_RootReplacedByAFile_Throws()
    {
        var store = new DiskRecordingStore(_root);
        Directory.Delete(_root);
        await File.WriteAllBytesAsync(_root, [1]);

        await Assert.ThrowsAnyAsync<IOException>(() => store.CheckWritableAsync(CancellationToken.None));
    }

    /// <summary>
    /// Folders a deletion removed are no longer known durable: when they come back (here made by another writer's
    /// Directory.CreateDirectory, which creates missing parents without syncing theirs), the next write syncs every
    /// level's parent again, so a power cut cannot lose the entry of the day folder and the chunk in it.
    /// </summary>
    [Fact]
    public async Task Delete_RemovesEmptyFolders_ThenAWriteIntoTheRecreatedFolders_SyncsTheirParentsAgain()
    {
        var sync = new ControlledFileSync();
        var store = new DiskRecordingStore(_root, SyncInterval, sync);
        await store.WriteOnceAsync("2026/03/03/call-a/rec-a/chunk-000.metadata.json", new byte[] { 1 }, CancellationToken.None);
        await store.DeleteAsync("2026/03/03/call-a/rec-a/chunk-000.metadata.json", CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(_root, "2026")));

        Directory.CreateDirectory(Path.Combine(_root, "2026/03/03/call-a/rec-a"));
        sync.Directories.Clear();
        await store.WriteOnceAsync("2026/03/03/call-a/rec-a/chunk-001.metadata.json", new byte[] { 2 }, CancellationToken.None);

        var root = Path.TrimEndingDirectorySeparator(_root);
        Assert.Contains(root, sync.Directories);
        Assert.Contains(Path.Combine(root, "2026", "03", "03"), sync.Directories);
    }

    /// <summary>Deleting a recording's object also removes the temporary files a crash left beside it in its folder.</summary>
    [Fact]
    public async Task Delete_RemovesCrashLeftoversOfTheFolder_AndTheFolder()
    {
        var store = new DiskRecordingStore(_root, SyncInterval);
        await store.WriteOnceAsync("2026/03/03/c/r/manifest.json", new byte[] { 1 }, CancellationToken.None);
        var folder = Path.Combine(_root, "2026/03/03/c/r");
        await File.WriteAllBytesAsync(Path.Combine(folder, "manifest.json.0123456789abcdef0123456789abcdef.tmp"), [1]);
        await File.WriteAllBytesAsync(Path.Combine(folder, "chunk-000.wav.partial.ckpt.tmp"), [1]);

        await store.DeleteAsync("2026/03/03/c/r/manifest.json", CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(_root, "2026")));
    }

    /// <summary>Syncs that can be made to fail, and a record of the folders synced.</summary>
    private sealed class ControlledFileSync : IFileSync
    {
        public bool FailFiles { get; set; }

        public bool FailDirectories { get; set; }

        public List<string> Directories { get; } = [];

        public void SyncFile(FileStream file)
        {
            if (FailFiles)
            {
                throw new IOException("fsync failed (EIO, injected)");
            }

            OsFileSync.Instance.SyncFile(file);
        }

        public void SyncDirectory(string folder)
        {
            if (FailDirectories)
            {
                throw new IOException("fsync of a directory failed (EIO, injected)");
            }

            Directories.Add(Path.TrimEndingDirectorySeparator(folder));
        }
    }
}
