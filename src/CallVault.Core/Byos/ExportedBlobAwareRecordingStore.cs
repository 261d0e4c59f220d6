using CallVault.Storage;

namespace CallVault.Byos;

/// <summary>
/// The recording store as the API and the worker see it once exports are configured: paths under <c>byos/</c> are
/// read from the customer's container (so exported media is served, with Range, and verified where it lies); every
/// other path goes to CallVault's own store. Nothing is ever written to an export container.
/// </summary>
public sealed class ExportedBlobAwareRecordingStore(IRecordingStore inner, IExportedBlobReader exported) : IRecordingStore
{
    /// <inheritdoc />
    public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken) =>
        inner.OpenUploadAsync(OwnPath(path), cancellationToken);

    /// <inheritdoc />
    public Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        inner.WriteOnceAsync(OwnPath(path), content, cancellationToken);

    /// <inheritdoc />
    public Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        inner.ReplaceAsync(OwnPath(path), content, cancellationToken);

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        ExportedBlob.FromStorePath(path) is { } blob ? exported.OpenReadAsync(blob, cancellationToken) : inner.OpenReadAsync(path, cancellationToken);

    /// <inheritdoc />
    public Task CheckWritableAsync(CancellationToken cancellationToken) => inner.CheckWritableAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>An exported blob is the customer's: it is refused here, so that CallVault never deletes one.</remarks>
    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) =>
        inner.DeleteAsync(OwnPath(path), cancellationToken);

    private static string OwnPath(string path) => path.StartsWith(ExportedBlob.StorePathPrefix, StringComparison.Ordinal)
        ? throw new ArgumentException("Exported recordings are read from the customer's container and never written or deleted by CallVault.", nameof(path))
        : path;
}
