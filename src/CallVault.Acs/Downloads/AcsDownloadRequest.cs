using System.Security.Cryptography;

namespace CallVault.Acs.Downloads;

/// <summary>One object to download, possibly continuing an earlier attempt.</summary>
/// <param name="Location">The object's absolute URL: a <c>contentLocation</c>, a <c>metadataLocation</c> or a 2021-preview download URL.</param>
public sealed record AcsDownloadRequest(Uri Location)
{
    /// <summary>
    /// Bytes of the object already stored by an earlier attempt, 0 by default. The download continues from there; the
    /// destination stream must be positioned just after them.
    /// </summary>
    public long ResumeOffset { get; init; }

    /// <summary>The strong ETag seen by the earlier attempt, sent as <c>If-Range</c> so that a changed object is fetched whole again.</summary>
    public string? ETag { get; init; }

    /// <summary>
    /// A SHA-256 hash that has already been fed the first <see cref="ResumeOffset"/> bytes; the download appends to it so
    /// the result's hash covers the whole object. When null, the result's hash covers only the bytes this call wrote.
    /// Owned by the caller. After a failed download it holds the bytes stored, except after a failure of the
    /// destination itself, when it may also hold the bytes whose write failed: build a new one to resume.
    /// </summary>
    public IncrementalHash? Sha256 { get; init; }

    /// <summary>
    /// Whether a body may be taken as the whole object when it ends cleanly although the service never said the
    /// object's size (a chunked <c>200</c> from a server that ignores ranges). Only for documents whose format proves
    /// their own end, as a JSON document does when it parses. Default <see langword="false"/>: the size is asked for
    /// with a range, and a download whose size cannot be learned fails with
    /// <see cref="AcsContentProblem.UnknownLength"/> rather than being reported complete.
    /// </summary>
    public bool AllowUnknownLength { get; init; }

    /// <summary>Overrides <see cref="AcsClientOptions.Download"/> for this request; null uses the configured options.</summary>
    public AcsDownloadOptions? Options { get; init; }
}
