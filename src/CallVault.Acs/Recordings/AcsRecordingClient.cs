using System.Net;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;

namespace CallVault.Acs.Recordings;

/// <summary>
/// Downloads and deletes ACS recording objects. Expects an <see cref="HttpClient"/> whose pipeline signs requests
/// (see <see cref="AcsServiceCollectionExtensions.AddAcsRecordingClient"/>), so that the allow-list and HMAC signing
/// apply to every request, retries and redirects included.
/// </summary>
public sealed class AcsRecordingClient
{
    /// <summary>The largest metadata document accepted, in bytes: 4 MiB. Real ones are a few KiB.</summary>
    public const int MaxMetadataBytes = 4 * 1024 * 1024;

    /// <summary>The API version of the 2021-preview download routes on the ACS endpoint.</summary>
    public const string PreviewApiVersion = "2021-04-15-preview1";

    /// <summary>How many of an object's last bytes <see cref="GetTailAsync"/> asks for by default: 64 KiB.</summary>
    public const int DefaultTailBytes = 64 * 1024;

    private readonly HttpClient _httpClient;
    private readonly IOptionsMonitor<AcsClientOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DownloadConnectionCounter? _connections;
    private readonly PartBufferPool? _partBuffers;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">The signed HTTP client.</param>
    /// <param name="options">The client's options.</param>
    /// <param name="timeProvider">The clock for retries, stall timeouts and the adaptive connection count.</param>
    /// <param name="logger">The log; none when null.</param>
    /// <param name="connections">Counts the connections downloads hold open, for a gauge; not counted when null.</param>
    /// <param name="partBuffers">The part buffers shared by every download of this client, within their budget; when
    /// null, each download holds its own (at most its connections times its part size).</param>
    public AcsRecordingClient(HttpClient httpClient, IOptionsMonitor<AcsClientOptions> options, TimeProvider timeProvider, ILogger<AcsRecordingClient>? logger = null, DownloadConnectionCounter? connections = null, PartBufferPool? partBuffers = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<AcsRecordingClient>.Instance;
        _connections = connections;
        _partBuffers = partBuffers;
    }

    /// <summary>
    /// The 2021-preview media URL of a document, for events that carry only <c>documentId</c>:
    /// <c>{endpoint}/recording/download/{documentId}?api-version=2021-04-15-preview1</c>.
    /// </summary>
    public static Uri GetPreviewContentLocation(Uri endpoint, string documentId) => PreviewLocation(endpoint, documentId, metadata: false);

    /// <summary>The 2021-preview metadata URL of a document: <c>{endpoint}/recording/download/{documentId}/metadata?api-version=...</c>.</summary>
    public static Uri GetPreviewMetadataLocation(Uri endpoint, string documentId) => PreviewLocation(endpoint, documentId, metadata: true);

    /// <summary>
    /// Streams one object into <paramref name="destination"/>, resuming after failures, verifying its size and hashing
    /// it as it goes. Memory stays bounded whatever the object's size. It returns only once the service has said the
    /// object's size and that many bytes are stored; when the size is not said, it asks with a range after the bytes
    /// received. A failure of <paramref name="destination"/> itself (a full disk, a failed fsync) is not retried: it is
    /// thrown as it came, the destination may hold part of the failed write and <see cref="AcsDownloadRequest.Sha256"/>
    /// may hold bytes that were not stored, so resume from what the destination persisted with a hash of those bytes.
    /// </summary>
    /// <exception cref="AcsRequestException">ACS answered with an error that retries did not cure.</exception>
    /// <exception cref="AcsContentException">The body could not be trusted, even after retries, or its size could not
    /// be learned (<see cref="AcsContentProblem.UnknownLength"/>).</exception>
    /// <exception cref="Hosts.AcsHostNotAllowedException">The URL's host may not receive credentials.</exception>
    public Task<AcsDownloadResult> DownloadToAsync(
        AcsDownloadRequest request,
        Stream destination,
        IProgress<AcsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = _options.CurrentValue;
        var downloader = new RangedDownloader(_httpClient, CreateRetryPipeline(options), options.Retry.MaxRetryAttempts > 0, _timeProvider, _logger, _connections, _partBuffers);
        return downloader.DownloadAsync(request, request.Options ?? options.Download, destination, progress, cancellationToken);
    }

    /// <summary>
    /// Asks for an object's size and its last bytes with one small ranged request (<c>Range: bytes=-n</c>), through the
    /// same signing, allow-list and retries as a download. Enough to tell whether an object already stored is this one
    /// without downloading it again.
    /// </summary>
    /// <param name="location">The object's URL (a chunk's <c>contentLocation</c>).</param>
    /// <param name="maxBytes">How many of the last bytes to ask for, in bytes; at most this many are read. Default 64 KiB.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The size and tail, or null when the answer did not say both (nothing can be proven from it).</returns>
    /// <exception cref="AcsRequestException">ACS answered with an error that retries did not cure; 404 when the object is gone.</exception>
    /// <exception cref="Hosts.AcsHostNotAllowedException">The URL's host may not receive credentials.</exception>
    public Task<AcsObjectTail?> GetTailAsync(Uri location, int maxBytes = DefaultTailBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        var options = _options.CurrentValue;
        var downloader = new RangedDownloader(_httpClient, CreateRetryPipeline(options), options.Retry.MaxRetryAttempts > 0, _timeProvider, _logger);
        return downloader.FetchTailAsync(location, maxBytes, options.Download.StallTimeout, cancellationToken);
    }

    /// <summary>Fetches and parses a chunk's metadata document: the JSON at the event's <c>metadataLocation</c> that
    /// describes one chunk (call id, index, start, duration, format, participants and their channels).</summary>
    /// <returns>The raw bytes, as they should be stored, and the parsed document.</returns>
    public async Task<(byte[] Json, RecordingMetadata Metadata)> GetMetadataAsync(Uri metadataLocation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadataLocation);
        using var buffer = new BoundedMemoryStream(MaxMetadataBytes);
        var options = new AcsDownloadOptions { ParallelConnections = 1, StallTimeout = _options.CurrentValue.Download.StallTimeout };

        // A JSON document proves its own end when it parses, so a chunked answer of unknown size is accepted whole.
        var request = new AcsDownloadRequest(metadataLocation) { Options = options, AllowUnknownLength = true };
        await DownloadToAsync(request, buffer, progress: null, cancellationToken).ConfigureAwait(false);
        var json = buffer.ToArray();
        return (json, RecordingMetadata.Parse(json));
    }

    /// <summary>
    /// Deletes a chunk's media and metadata through its <c>deleteLocation</c>. A 404 means it is already gone, which is
    /// the outcome wanted, so it is not an error.
    /// </summary>
    /// <exception cref="AcsRequestException">ACS refused the deletion.</exception>
    public async Task<AcsDeleteOutcome> DeleteAsync(Uri deleteLocation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deleteLocation);
        var pipeline = CreateRetryPipeline(_options.CurrentValue);
        return await pipeline.ExecuteAsync(
            static async (s, ct) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Delete, s.Location);
                using var response = await s.Client._httpClient.SendAsync(request, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return AcsDeleteOutcome.AlreadyGone;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new AcsRequestException(await AcsErrorResponse.ReadAsync(response, s.Client._timeProvider, ct).ConfigureAwait(false));
                }

                return AcsDeleteOutcome.Deleted;
            },
            (Client: this, Location: deleteLocation),
            cancellationToken).ConfigureAwait(false);
    }

    private ResiliencePipeline CreateRetryPipeline(AcsClientOptions options) =>
        AcsRetryPipeline.Create(options.Retry, _timeProvider, _logger);

    private static Uri PreviewLocation(Uri endpoint, string documentId, bool metadata)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!RecordingDocumentId.IsValid(documentId))
        {
            throw new ArgumentException($"'{documentId}' is not an ACS document id.", nameof(documentId));
        }

        var suffix = metadata ? "/metadata" : string.Empty;
        var baseUri = endpoint.AbsoluteUri.EndsWith('/') ? endpoint.AbsoluteUri : endpoint.AbsoluteUri + "/";
        return new Uri($"{baseUri}recording/download/{documentId}{suffix}?api-version={PreviewApiVersion}");
    }
}
