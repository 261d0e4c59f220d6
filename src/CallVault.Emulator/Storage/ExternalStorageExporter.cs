using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CallVault.Emulator.Media;
using CallVault.Emulator.Recordings;

namespace CallVault.Emulator.Storage;

/// <summary>The body of <c>POST /admin/external-storage</c>: a storage account the emulated ACS resource can write to,
/// standing in for its managed identity's role assignment.</summary>
public sealed record ExternalStorageAccountSpec
{
    /// <summary>The account's connection string (Azurite's in tests). Never shown back.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Make every export to this account fail (as a missing role assignment would), so that the event
    /// carries ordinary download locations instead. Default false.</summary>
    public bool FailExports { get; init; }
}

/// <summary>Where a recording's files went: <c>exported</c> into the container, or <c>failed</c> with a reason.</summary>
/// <param name="State"><c>exported</c> or <c>failed</c>.</param>
/// <param name="ContainerUrl">The container the start request named.</param>
/// <param name="Error">Why the export failed; null when it did not.</param>
/// <param name="Blobs">Per document id, the media and metadata blob URLs; empty when the export failed.</param>
public sealed record RecordingExport(string State, string ContainerUrl, string? Error, IReadOnlyDictionary<string, ExportedChunk> Blobs);

/// <summary>One chunk's two blobs in the customer's container.</summary>
/// <param name="Content">The media blob's URL.</param>
/// <param name="Metadata">The metadata blob's URL.</param>
public sealed record ExportedChunk(Uri Content, Uri Metadata);

/// <summary>
/// Bring Your Own Storage: the accounts the emulated resource may write to, and the export of a recording's files
/// into a container in ACS's published layout
/// <c>{yyyyMMdd}/{callId}/{first 8 characters of recordingId}-{guid}/{chunk}-acsmetadata.{documentId}.json</c>, with
/// the media beside it as <c>{chunk}-{content}{format}.{documentId}.{format}</c> (e.g. <c>0-audiowav.0-eus-….wav</c>).
/// </summary>
internal sealed class ExternalStorageExporter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string ConnectionString, bool Fail)> _accounts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers (or replaces) an account; answers its URL.</summary>
    public Uri Register(ExternalStorageAccountSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.ConnectionString))
        {
            throw new EmulatorRequestException("connectionString is required: the storage account's connection string (Azurite's in tests).");
        }

        Uri accountUrl;
        try
        {
            accountUrl = new BlobServiceClient(spec.ConnectionString).Uri;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            // The message may quote the connection string, so it is not passed on.
            throw new EmulatorRequestException("connectionString is not a storage account connection string.");
        }

        lock (_lock)
        {
            _accounts[AccountKey(accountUrl)] = (spec.ConnectionString, spec.FailExports);
        }

        return accountUrl;
    }

    /// <summary>Whether a container URL lies in a registered account (which may then be plain http, as Azurite is).</summary>
    public bool IsRegistered(Uri containerUrl) => Resolve(containerUrl) is not null;

    /// <summary>Writes every chunk of <paramref name="recording"/> into the container, or records why it could not.</summary>
    public async Task<RecordingExport> ExportAsync(EmulatedRecording recording, string containerUrl, CancellationToken cancellationToken)
    {
        var target = Uri.TryCreate(containerUrl, UriKind.Absolute, out var uri) ? Resolve(uri) : null;
        if (target is not { } found)
        {
            return Failed("The container's storage account is not registered with the emulator (no role assignment).");
        }

        if (found.Fail)
        {
            return Failed("The export was told to fail.");
        }

        var container = new BlobContainerClient(found.ConnectionString, found.ContainerName);
        var folder = string.Create(
            CultureInfo.InvariantCulture,
            $"{recording.StartTime.UtcDateTime:yyyyMMdd}/{recording.CallId}/{recording.RecordingId[..Math.Min(8, recording.RecordingId.Length)]}-{Guid.NewGuid()}");
        var blobs = new Dictionary<string, ExportedChunk>(StringComparer.Ordinal);
        try
        {
            foreach (var chunk in recording.Chunks)
            {
                var media = container.GetBlobClient($"{folder}/{chunk.Index}-{recording.ContentType.ToLowerInvariant()}{recording.Format}.{chunk.DocumentId}.{recording.Format}");
                var metadata = container.GetBlobClient($"{folder}/{chunk.Index}-acsmetadata.{chunk.DocumentId}.json");
                await using (var stream = new MediaSourceStream(chunk.Media))
                {
                    await media.UploadAsync(stream, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = chunk.Media.ContentType } }, cancellationToken);
                }

                await metadata.UploadAsync(
                    BinaryData.FromBytes(chunk.Metadata),
                    new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
                    cancellationToken);
                blobs[chunk.DocumentId] = new ExportedChunk(Under(uri!, media.Name), Under(uri!, metadata.Name));
            }
        }
        catch (RequestFailedException ex)
        {
            return Failed($"The container answered {ex.Status} ({ex.ErrorCode}).");
        }

        return new RecordingExport("exported", containerUrl, null, blobs);

        RecordingExport Failed(string reason) => new("failed", containerUrl, reason, new Dictionary<string, ExportedChunk>());
    }

    // Path-style (Azurite, http://host:port/account/container) and host-style (https://account.blob.../container)
    // container URLs both end with the container's name, and the rest is the account's URL.
    private (string ConnectionString, string ContainerName, bool Fail)? Resolve(Uri containerUrl)
    {
        var path = containerUrl.AbsolutePath.TrimEnd('/');
        var slash = path.LastIndexOf('/');
        if (slash < 0 || slash == path.Length - 1 || !string.IsNullOrEmpty(containerUrl.Query))
        {
            return null;
        }

        var account = new Uri(containerUrl.GetLeftPart(UriPartial.Authority) + path[..slash]);
        lock (_lock)
        {
            return _accounts.TryGetValue(AccountKey(account), out var found) ? (found.ConnectionString, path[(slash + 1)..], found.Fail) : null;
        }
    }

    private static string AccountKey(Uri accountUrl) => accountUrl.GetLeftPart(UriPartial.Authority) + accountUrl.AbsolutePath.TrimEnd('/');

    private static Uri Under(Uri containerUrl, string blobName) => new(containerUrl.AbsoluteUri.TrimEnd('/') + "/" + blobName);

    /// <summary>A read-only, seekable view of a media source for the upload.</summary>
    private sealed class MediaSourceStream(IMediaSource source) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => source.Length;

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, Math.Max(0, source.Length - Position));
            if (count > 0)
            {
                source.Read(Position, buffer[..count]);
                Position += count;
            }

            return count;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => source.Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
