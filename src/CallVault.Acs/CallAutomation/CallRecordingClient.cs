using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CallVault.Acs.Errors;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CallVault.Acs.CallAutomation;

/// <summary>
/// Starts, queries, pauses, resumes and stops recordings through the ACS Call Automation REST API
/// (<c>/calling/recordings</c> on the ACS endpoint of the connection string, at
/// <see cref="AcsClientOptions.CallAutomationApiVersion"/>). Expects an <see cref="HttpClient"/> whose pipeline signs
/// requests (see <see cref="AcsServiceCollectionExtensions.AddCallRecordingClient"/>): the body's SHA-256 is signed,
/// and only the configured endpoint receives the requests.
/// </summary>
/// <remarks>
/// Transient failures (no answer, 408, 429, 5xx) are retried with <see cref="AcsClientOptions.Retry"/>. A start is
/// retried with the same body and the same <c>Repeatability-Request-ID</c> and <c>Repeatability-First-Sent</c>, so
/// ACS answers a retry of a start it already performed with that recording instead of starting a second one.
/// Every failure is a <see cref="CallAutomationException"/>, except a missing connection string
/// (<see cref="AcsNotConfiguredException"/>).
/// </remarks>
public sealed class CallRecordingClient
{
    /// <summary>The header that identifies a logical start across its retries.</summary>
    public const string RepeatabilityRequestIdHeader = "Repeatability-Request-ID";

    /// <summary>The header that says when the logical start was first sent (RFC 1123).</summary>
    public const string RepeatabilityFirstSentHeader = "Repeatability-First-Sent";

    private const int MaxResponseBytes = 64 * 1024;

    private readonly HttpClient _httpClient;
    private readonly IOptionsMonitor<AcsClientOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the client.</summary>
    public CallRecordingClient(HttpClient httpClient, IOptionsMonitor<AcsClientOptions> options, TimeProvider timeProvider, ILogger<CallRecordingClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<CallRecordingClient>.Instance;
    }

    /// <summary>Starts recording a call (<c>POST /calling/recordings</c>).</summary>
    /// <returns>The new recording's id and state (<c>inactive</c> when started paused).</returns>
    /// <exception cref="ArgumentException">The request names no call, or both a server and a group call, or a
    /// channel outside 0 to 4.</exception>
    /// <exception cref="CallAutomationException">ACS refused (404: the call is unknown or has ended; 400: the
    /// request is invalid) or did not answer after every retry.</exception>
    public async Task<RecordingStateResult> StartAsync(StartRecordingRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = StartRecordingBody.Serialize(request);
        var requestId = (request.RepeatabilityRequestId ?? Guid.NewGuid()).ToString("D");
        var firstSent = (request.RepeatabilityFirstSent ?? _timeProvider.GetUtcNow()).ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);
        var call = request.ServerCallId is not null ? $"server call '{request.ServerCallId}'" : $"group call '{request.GroupCallId}'";
        var operation = new Operation("start recording", call, Target.Call);

        return await SendAsync(
            operation,
            () =>
            {
                // A new message per attempt (one cannot be sent twice), with the same bytes and the same headers.
                var message = new HttpRequestMessage(HttpMethod.Post, Location("calling/recordings"))
                {
                    Content = new ByteArrayContent(body),
                };
                message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                message.Headers.TryAddWithoutValidation(RepeatabilityRequestIdHeader, requestId);
                message.Headers.TryAddWithoutValidation(RepeatabilityFirstSentHeader, firstSent);
                return message;
            },
            ReadStateAsync,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a recording's state (<c>GET /calling/recordings/{recordingId}</c>).</summary>
    /// <exception cref="CallAutomationException">404: the recording is unknown or has stopped.</exception>
    public Task<RecordingStateResult> GetAsync(string recordingId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(recordingId);
        return SendAsync(
            new Operation("get the state of", $"recording '{recordingId}'", Target.Recording),
            () => new HttpRequestMessage(HttpMethod.Get, RecordingLocation(recordingId, action: null)),
            ReadStateAsync,
            cancellationToken);
    }

    /// <summary>Pauses a recording (<c>POST /calling/recordings/{recordingId}:pause</c>): silence is recorded until it is resumed.</summary>
    /// <exception cref="CallAutomationException">404: the recording is unknown or has stopped.</exception>
    public Task PauseAsync(string recordingId, CancellationToken cancellationToken = default) =>
        SendWithoutResultAsync("pause", recordingId, HttpMethod.Post, ":pause", cancellationToken);

    /// <summary>Resumes a paused recording (<c>POST /calling/recordings/{recordingId}:resume</c>).</summary>
    /// <exception cref="CallAutomationException">404: the recording is unknown or has stopped; a stopped recording
    /// cannot be resumed.</exception>
    public Task ResumeAsync(string recordingId, CancellationToken cancellationToken = default) =>
        SendWithoutResultAsync("resume", recordingId, HttpMethod.Post, ":resume", cancellationToken);

    /// <summary>
    /// Stops a recording for good (<c>DELETE /calling/recordings/{recordingId}</c>); its files are announced later
    /// through Event Grid. When an attempt got no answer and the retry finds the recording gone (404), that attempt
    /// is what stopped it, and the stop succeeds.
    /// </summary>
    /// <exception cref="CallAutomationException">404: the recording is unknown or already stopped.</exception>
    public Task StopAsync(string recordingId, CancellationToken cancellationToken = default) =>
        SendWithoutResultAsync("stop", recordingId, HttpMethod.Delete, action: null, cancellationToken, goneAfterLostAnswerIsDone: true);

    private async Task SendWithoutResultAsync(
        string verb,
        string recordingId,
        HttpMethod method,
        string? action,
        CancellationToken cancellationToken,
        bool goneAfterLostAnswerIsDone = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(recordingId);
        await SendAsync<object?>(
            new Operation(verb, $"recording '{recordingId}'", Target.Recording) { GoneAfterLostAnswerIsDone = goneAfterLostAnswerIsDone },
            () => new HttpRequestMessage(method, RecordingLocation(recordingId, action)),
            static (_, _) => Task.FromResult<object?>(null),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendAsync<T>(
        Operation operation,
        Func<HttpRequestMessage> createMessage,
        Func<HttpResponseMessage, CancellationToken, Task<T>> readResult,
        CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        var pipeline = AcsRetryPipeline.Create(options.Retry, _timeProvider, _logger);
        var answerLost = false;
        try
        {
            return await pipeline.ExecuteAsync(
                async ct =>
                {
                    using var message = createMessage();
                    HttpResponseMessage response;
                    try
                    {
                        response = await SendOnceAsync(message, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TimeoutException or IOException)
                    {
                        // The request may have been carried out; only its answer is known to be lost.
                        answerLost = true;
                        throw;
                    }

                    using (response)
                    {
                        if (response.StatusCode == HttpStatusCode.NotFound && answerLost && operation.GoneAfterLostAnswerIsDone)
                        {
                            return default!;
                        }

                        if (!response.IsSuccessStatusCode)
                        {
                            throw await ReadErrorAsync(operation, response, ct).ConfigureAwait(false);
                        }

                        return await readResult(response, ct).ConfigureAwait(false);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new CallAutomationException(
                $"Could not {operation.Verb} {operation.Subject}: ACS did not answer ({ex.Message}).",
                statusCode: 0,
                errorCode: null,
                ex);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await _httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout: an attempt that got no answer in time, worth retrying (a start keeps its request id).
            throw new TimeoutException("The request timed out.", ex);
        }
    }

    private Uri Location(string relativePath)
    {
        var endpoint = EndpointOf(_options.CurrentValue);
        var version = Uri.EscapeDataString(_options.CurrentValue.CallAutomationApiVersion);
        return new Uri($"{endpoint.AbsoluteUri}{relativePath}?api-version={version}");
    }

    private Uri RecordingLocation(string recordingId, string? action) =>
        Location($"calling/recordings/{Uri.EscapeDataString(recordingId)}{action}");

    private static Uri EndpointOf(AcsClientOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new AcsNotConfiguredException();
        }

        return AcsConnectionString.Parse(options.ConnectionString).Endpoint;
    }

    private static async Task<RecordingStateResult> ReadStateAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await ReadBoundedAsync(response, cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("recordingId", out var id) && id.ValueKind == JsonValueKind.String && !string.IsNullOrEmpty(id.GetString())
                && root.TryGetProperty("recordingState", out var state) && state.ValueKind == JsonValueKind.String)
            {
                var kind = root.TryGetProperty("recordingKind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
                return new RecordingStateResult(id.GetString()!, state.GetString()!, kind);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            // Reported below with the status.
        }

        throw new CallAutomationException(
            $"ACS answered {(int)response.StatusCode} without a recording state (expected JSON with recordingId and recordingState).",
            (int)response.StatusCode,
            errorCode: null);
    }

    private async Task<CallAutomationException> ReadErrorAsync(Operation operation, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var error = await AcsErrorResponse.ReadAsync(response, _timeProvider, cancellationToken).ConfigureAwait(false);
        var (code, serviceMessage) = ParseCommunicationError(error.Body);
        serviceMessage ??= error.ServiceMessage;
        var status = (int)response.StatusCode;
        var text = $"Could not {operation.Verb} {operation.Subject}: ACS answered {status}";
        text += code is null ? "." : $" ({code}).";
        var meaning = Explain(operation.Target, response.StatusCode);
        if (meaning is not null)
        {
            text += " " + meaning;
        }

        if (!string.IsNullOrWhiteSpace(serviceMessage))
        {
            text += $" ACS said: \"{serviceMessage}\".";
        }

        if (error.RequestId is not null)
        {
            text += $" ({error.RequestId})";
        }

        return new CallAutomationException(text, status, code) { RetryAfter = error.RetryAfter };
    }

    private static string? Explain(Target target, HttpStatusCode status) => (target, status) switch
    {
        (Target.Call, HttpStatusCode.NotFound) => "The call is not known to this ACS resource: the id is wrong, the call belongs to another resource, or it has already ended.",
        (Target.Recording, HttpStatusCode.NotFound) => "The recording is not known to this ACS resource: the id is wrong, or it has already stopped (a stopped recording cannot be paused, resumed or stopped again; its files come through Event Grid).",
        (_, HttpStatusCode.BadRequest) => "ACS found the request invalid.",
        (_, HttpStatusCode.Conflict) => "The call or recording is not in a state that allows this.",
        (_, HttpStatusCode.Unauthorized) => "Check the access key in the connection string and this machine's clock.",
        (_, HttpStatusCode.Forbidden) => "The access key is valid but not allowed to do this on this resource.",
        (_, HttpStatusCode.TooManyRequests) => "ACS is throttling requests.",
        (_, >= HttpStatusCode.InternalServerError) => "ACS had a problem.",
        _ => null,
    };

    private static (string? Code, string? Message) ParseCommunicationError(string? body)
    {
        if (string.IsNullOrWhiteSpace(body) || !body.TrimStart().StartsWith('{'))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (code, message);
            }
        }
        catch (JsonException)
        {
            // A truncated or non-JSON body still has the status to explain it.
        }

        return (null, null);
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var buffer = new BoundedMemoryStream(MaxResponseBytes);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        return buffer.ToArray();
    }

    private enum Target
    {
        Call,
        Recording,
    }

    private sealed record Operation(string Verb, string Subject, Target Target)
    {
        /// <summary>Whether a 404 after an attempt whose answer was lost means that attempt did the work.</summary>
        public bool GoneAfterLostAnswerIsDone { get; init; }
    }
}
