using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CallVault.Diagnostics;

namespace CallVault.Storage;

public sealed partial class DiskRecordingStore
{
    /// <summary>
    /// An upload into <c>{path}.partial</c>. Appends only; every <see cref="SyncIntervalBytes"/> the file is fsynced and
    /// then a checkpoint records the durable length and the SHA-256 of that prefix. After a crash or a power loss a file
    /// can be longer than what reached the device (a zero-filled or stale tail) or differ from it: on reopen it is cut back
    /// to the checkpoint and its prefix is hashed again; a prefix that does not match starts the upload over.
    /// </summary>
    private sealed class DiskUpload : Stream, IResumableUpload
    {
        private const string CheckpointHeader = "callvault-checkpoint 1";
        private readonly DiskRecordingStore _store;
        private readonly FileStream _file;
        private readonly string _partialPath;
        private readonly string _finalPath;
        private readonly IncrementalHash _hash;
        private long _length;
        private long _durableLength;
        private bool _faulted;
        private bool _committed;
        private bool _disposed;

        private DiskUpload(DiskRecordingStore store, FileStream file, string finalPath, IncrementalHash hash, long persisted)
        {
            _store = store;
            _file = file;
            _finalPath = finalPath;
            _partialPath = finalPath + PartialSuffix;
            _hash = hash;
            _length = _durableLength = PersistedLength = persisted;
        }

        public long PersistedLength { get; }

        public Stream Content => this;

        public bool CanHashPersisted => true;

        public override bool CanRead => false;

        public override bool CanSeek => true;

        public override bool CanWrite => !_committed;

        public override long Length => _length;

        /// <summary>The end of what was written; moving it back discards what follows (the file is append-only).</summary>
        public override long Position
        {
            get => _length;
            set => SetLength(value);
        }

        private string CheckpointPath => _partialPath + CheckpointSuffix;

        private string CommitCheckpointPath => _partialPath + CommitCheckpointSuffix;

        public static async Task<DiskUpload> OpenAsync(DiskRecordingStore store, string finalPath, CancellationToken cancellationToken)
        {
            var partialPath = finalPath + PartialSuffix;
            var checkpointPath = partialPath + CheckpointSuffix;
            var commitCheckpointPath = partialPath + CommitCheckpointSuffix;
            var file = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                // The commit's checkpoint (the whole file, when a kill came before the rename) first, then the last
                // durable one: a power cut may have torn or lost the first, never the second.
                long? persisted = null;
                string? used = null;
                foreach (var path in (string[])[commitCheckpointPath, checkpointPath])
                {
                    if (ReadCheckpoint(path) is { } checkpoint && checkpoint.Length <= file.Length
                        && await HashPrefixAsync(file, checkpoint.Length, hash, cancellationToken).ConfigureAwait(false)
                        && CryptographicOperations.FixedTimeEquals(hash.GetCurrentHash(), checkpoint.Sha256))
                    {
                        (persisted, used) = (checkpoint.Length, path);
                        break;
                    }

                    hash.GetHashAndReset();
                }

                // A commit checkpoint that was not used describes nothing that is kept. No usable checkpoint at all (a
                // new upload, or a prefix that is not what was recorded): nothing in the file is known to be intact.
                if (used != commitCheckpointPath)
                {
                    File.Delete(commitCheckpointPath);
                }

                if (used is null)
                {
                    File.Delete(checkpointPath);
                }

                var length = persisted ?? 0;
                if (file.Length != length)
                {
                    file.SetLength(length);
                }

                file.Position = length;
                return new DiskUpload(store, file, finalPath, hash, length);
            }
            catch
            {
                hash.Dispose();
                await file.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async Task HashPersistedAsync(IncrementalHash hash, CancellationToken cancellationToken)
        {
            // Read through the upload's own handle: the partial file is locked against every other opener.
            if (!await HashPrefixAsync(_file, PersistedLength, hash, cancellationToken).ConfigureAwait(false))
            {
                throw new IOException($"'{_partialPath}' is shorter than when it was opened.");
            }

            _file.Position = _length;
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            // The checkpoint covers the whole file, so refused bytes left in the partial file are fully described, and
            // a kill before the link below resumes at the end instead of downloading again. The file itself is fsynced
            // (the object is durable before it is published); the checkpoint is not, so it is written beside the
            // durable one, not over it: a power cut may tear or lose it, and then the upload resumes from the previous
            // (durable) checkpoint. Each is checked against the file's bytes on reopen.
            Checkpoint(durable: false);
            var sha256 = _hash.GetCurrentHash();
            CrashPoint.Hit("disk.before-rename");
            await _file.DisposeAsync().ConfigureAwait(false);
            _committed = true;
            if (!TryPublish(_partialPath, _finalPath))
            {
                if (!await HasContentAsync(_finalPath, _length, sha256, cancellationToken).ConfigureAwait(false))
                {
                    // The refused bytes stay in the partial file beside the stored object, for the operator.
                    throw new StoredObjectConflictException(RelativePath(), new FileInfo(_finalPath).Length, _length);
                }

                File.Delete(_partialPath);
            }

            _store.SyncFolders(Path.GetDirectoryName(_finalPath)!);
            File.Delete(CommitCheckpointPath);
            File.Delete(CheckpointPath);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ThrowIfUnusable();
            try
            {
                await _file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                UndoFailedWrite();
                throw;
            }

            Appended(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ThrowIfUnusable();
            try
            {
                _file.Write(buffer);
            }
            catch
            {
                UndoFailedWrite();
                throw;
            }

            Appended(buffer);
        }

        public override void Flush() => Checkpoint();

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Checkpoint();
            return Task.CompletedTask;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        /// <summary>Only back (discarding what follows) or to the end: the position is always the end of the upload.</summary>
        public override long Seek(long offset, SeekOrigin origin) => Position = origin == SeekOrigin.Begin ? offset : _length + offset;

        /// <summary>Cuts the upload back to <paramref name="value"/> bytes (a restart from zero); it cannot grow.</summary>
        public override void SetLength(long value)
        {
            ThrowIfUnusable();
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            if (value > _length)
            {
                throw new NotSupportedException("An upload only grows by writing.");
            }

            if (value == _length)
            {
                return;
            }

            _file.SetLength(value);
            _file.Position = value;
            _hash.GetHashAndReset();
            if (value > 0)
            {
                HashPrefix(_file, value, _hash);
                _file.Position = value;
            }

            _length = value;
            if (value < _durableLength)
            {
                // The checkpoint must never claim bytes that are gone.
                File.Delete(CommitCheckpointPath);
                File.Delete(CheckpointPath);
                _durableLength = 0;
                Checkpoint();
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                if (!_committed && !_faulted)
                {
                    try
                    {
                        // A clean stop keeps everything written so far; a kill keeps up to the last checkpoint.
                        Checkpoint();
                    }
                    catch (IOException)
                    {
                        // Nothing more is claimed durable than the last checkpoint, which the next open trusts.
                    }
                }

                _disposed = true;
                _hash.Dispose();
                _file.Dispose();
            }

            base.Dispose(disposing);
        }

        private static (long Length, byte[] Sha256)? ReadCheckpoint(string path)
        {
            // Every new upload has no checkpoint yet: probing first keeps that normal case free of a thrown
            // exception (two per chunk otherwise, media and metadata); the catch stays for a file deleted in between.
            if (!File.Exists(path))
            {
                return null;
            }

            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (FileNotFoundException)
            {
                return null;
            }

            return lines.Length == 3 && lines[0] == CheckpointHeader
                && long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                && lines[2].Length == 64 && lines[2].All(char.IsAsciiHexDigitLower)
                ? (length, Convert.FromHexString(lines[2]))
                : null;
        }

        private static async Task<bool> HashPrefixAsync(FileStream file, long length, IncrementalHash hash, CancellationToken cancellationToken)
        {
            var buffer = new byte[(int)Math.Min(1024 * 1024, Math.Max(length, 1))];
            file.Position = 0;
            var remaining = length;
            while (remaining > 0)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }

            return true;
        }

        private static void HashPrefix(FileStream file, long length, IncrementalHash hash)
        {
            var buffer = new byte[(int)Math.Min(1024 * 1024, Math.Max(length, 1))];
            file.Position = 0;
            var remaining = length;
            while (remaining > 0)
            {
                var read = file.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining)));
                if (read == 0)
                {
                    throw new IOException($"'{file.Name}' ended before byte {length}.");
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }

        private void Appended(ReadOnlySpan<byte> bytes)
        {
            _hash.AppendData(bytes);
            _length += bytes.Length;
            if (_length - _durableLength >= _store.SyncIntervalBytes)
            {
                Checkpoint();
            }
        }

        /// <summary>fsync, then record the durable length and its hash. A failed fsync fails the write and the upload.</summary>
        /// <param name="durable">
        /// Whether the checkpoint file itself is synced (its content and its rename). Only the commit skips that, and
        /// writes it under its own name: a torn or lost one only means resuming from the durable one, kept intact.
        /// </param>
        private void Checkpoint(bool durable = true)
        {
            ThrowIfUnusable();
            if (_length == _durableLength)
            {
                return;
            }

            try
            {
                _store._sync.SyncFile(_file);
                WriteCheckpoint(_length, _hash.GetCurrentHash(), durable);
            }
            catch
            {
                // After a failed fsync the kernel may have dropped the dirty pages: nothing after the last checkpoint
                // can be trusted, so this upload stops here and the next one resumes from that checkpoint.
                _faulted = true;
                throw;
            }

            _durableLength = _length;
        }

        private void WriteCheckpoint(long length, byte[] sha256, bool durable)
        {
            var path = durable ? CheckpointPath : CommitCheckpointPath;
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{CheckpointHeader}\n{length}\n{Convert.ToHexStringLower(sha256)}\n")));
                if (durable)
                {
                    _store._sync.SyncFile(stream);
                }
            }

            File.Move(temporary, path, overwrite: true);
            if (durable)
            {
                _store._sync.SyncDirectory(Path.GetDirectoryName(path)!);
            }
        }

        /// <summary>A write that failed part-way may have left some of its bytes: cut the file back to what is accounted for.</summary>
        private void UndoFailedWrite()
        {
            try
            {
                _file.SetLength(_length);
                _file.Position = _length;
            }
            catch (IOException)
            {
                _faulted = true;
            }
        }

        private void ThrowIfUnusable()
        {
            ObjectDisposedException.ThrowIf(_committed || _disposed, this);
            if (_faulted)
            {
                throw new IOException($"'{_partialPath}' could not be made durable; the upload must be reopened to resume from its last checkpoint.");
            }
        }

        private string RelativePath() => _finalPath[_store._root.Length..].Replace(Path.DirectorySeparatorChar, '/');
    }
}
