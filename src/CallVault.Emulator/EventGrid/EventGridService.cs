using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Emulator.Recordings;

namespace CallVault.Emulator.EventGrid;

/// <summary>
/// Event Grid's push delivery to webhooks, as Event Grid documents it: the validation
/// handshakes, the <c>aeg-*</c> headers, which statuses succeed, are retried or are dead-lettered at once, the retry
/// schedule with jitter, maximum attempts and time-to-live, and batching. Delays are multiplied by the time factor.
/// </summary>
public sealed partial class EventGridService : IAsyncDisposable
{
    /// <summary>Event Grid's retry schedule: 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h.</summary>
    public static readonly IReadOnlyList<TimeSpan> RetrySchedule =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6),
    ];

    private const string WebHookOrigin = "eventgrid.azure.net";
    private static readonly TimeSpan ManualValidationWindow = TimeSpan.FromMinutes(5);

    private readonly EmulatorContext _emulator;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new();
    private readonly ConcurrentQueue<DeliveryAttempt> _attempts = new();
    private readonly ConcurrentQueue<DeadLetter> _deadLetters = new();
    private readonly ConcurrentDictionary<string, IReadOnlyList<RecordingEvent>> _publishedEvents = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();

    internal EventGridService(EmulatorContext emulator, ILogger logger)
    {
        _emulator = emulator;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Every subscription.</summary>
    public IReadOnlyList<Subscription> Subscriptions => [.. _subscriptions.Values.OrderBy(s => s.CreatedAt)];

    /// <summary>Every delivery attempt so far, oldest first.</summary>
    public IReadOnlyList<DeliveryAttempt> Attempts => [.. _attempts];

    /// <summary>Events given up on.</summary>
    public IReadOnlyList<DeadLetter> DeadLetters => [.. _deadLetters];

    /// <summary>Deliveries not yet finished (waiting for a retry or in progress).</summary>
    public int PendingDeliveries => _inFlight.Count;

    /// <summary>Creates a subscription and runs its validation handshake.</summary>
    public async Task<Subscription> SubscribeAsync(SubscriptionSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!Uri.TryCreate(spec.Endpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new EmulatorRequestException("endpoint must be an absolute http(s) URL.");
        }

        if (spec.DeliveryHeaders is { Count: > 10 } || spec.DeliveryHeaders?.Keys.Any(k => k.StartsWith("aeg-", StringComparison.OrdinalIgnoreCase)) == true)
        {
            throw new EmulatorRequestException("At most 10 delivery headers, and none may start with 'aeg-'.");
        }

        var id = Guid.NewGuid().ToString("N");
        var code = Guid.NewGuid().ToString().ToUpperInvariant();
        var subscription = new Subscription
        {
            Id = id,
            Spec = spec,
            ValidationCode = code,
            ValidationUrl = new Uri(_emulator.Endpoint, $"admin/subscriptions/{id}/validate?code={code}"),
            CreatedAt = _emulator.TimeProvider.GetUtcNow(),
        };
        _subscriptions[id] = subscription;
        (subscription.State, subscription.Error) = spec.Schema == EventSchema.CloudEvents
            ? await ValidateCloudEventsAsync(subscription, endpoint, cancellationToken)
            : await ValidateEventGridAsync(subscription, endpoint, cancellationToken);
        return subscription;
    }

    /// <summary>Completes a manual validation (a GET on the validation URL); false when the code is wrong or too late.</summary>
    public bool CompleteManualValidation(string id, string? code)
    {
        if (!_subscriptions.TryGetValue(id, out var subscription) || subscription.State != SubscriptionState.AwaitingManualAction || code != subscription.ValidationCode)
        {
            return false;
        }

        if (_emulator.TimeProvider.GetUtcNow() - subscription.CreatedAt > Scale(ManualValidationWindow))
        {
            subscription.State = SubscriptionState.Failed;
            subscription.Error = "The validation URL expired.";
            return false;
        }

        subscription.State = SubscriptionState.Active;
        return true;
    }

    /// <summary>Deletes a subscription; pending deliveries to it are abandoned.</summary>
    public bool Unsubscribe(string id) => _subscriptions.TryRemove(id, out _);

    /// <summary>Publishes a recording's events to every active subscription.</summary>
    /// <returns>The ids of the events, in publishing order.</returns>
    public IReadOnlyList<string> Publish(EmulatedRecording recording, bool republish = false)
    {
        ArgumentNullException.ThrowIfNull(recording);
        var events = republish && _publishedEvents.TryGetValue(recording.RecordingId, out var earlier)
            ? earlier
            : _publishedEvents[recording.RecordingId] = RecordingEventFactory.Create(recording, _emulator);
        var delay = Scale(TimeSpan.FromSeconds(recording.Spec.Delivery?.DelaySeconds ?? 0));
        foreach (var subscription in _subscriptions.Values.Where(s => s.State == SubscriptionState.Active))
        {
            Track(DeliverInOrderAsync(subscription, [.. Batch(events, subscription.Spec)], delay, _stopping.Token));
        }

        return [.. events.Select(e => e.Id)];
    }

    /// <summary>Waits until no delivery is pending, or the timeout passes.</summary>
    public async Task<bool> WaitForIdleAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!_inFlight.IsEmpty)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            await Task.Delay(10, cancellationToken);
        }

        return true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_inFlight.Keys);
        }
        catch (OperationCanceledException)
        {
        }

        _http.Dispose();
        _stopping.Dispose();
    }

    private void Track(Task task)
    {
        _inFlight[task] = 0;
        _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), TaskScheduler.Default);
    }

    private TimeSpan Scale(TimeSpan delay) => delay * _emulator.Options.TimeFactor;

    private static IEnumerable<IReadOnlyList<RecordingEvent>> Batch(IReadOnlyList<RecordingEvent> events, SubscriptionSpec spec)
    {
        if (spec.MaxEventsPerBatch <= 1)
        {
            return events.Select(e => (IReadOnlyList<RecordingEvent>)[e]);
        }

        var batches = new List<IReadOnlyList<RecordingEvent>>();
        var current = new List<RecordingEvent>();
        var size = 0;
        foreach (var e in events)
        {
            var eventSize = e.Data.ToJsonString().Length + 400;
            if (current.Count > 0 && (current.Count >= spec.MaxEventsPerBatch || size + eventSize > spec.PreferredBatchSizeInKilobytes * 1024))
            {
                batches.Add(current);
                current = [];
                size = 0;
            }

            current.Add(e);
            size += eventSize;
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return batches;
    }

    private async Task<(SubscriptionState, string?)> ValidateEventGridAsync(Subscription subscription, Uri endpoint, CancellationToken cancellationToken)
    {
        var validationEvent = new JsonArray(new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["topic"] = RecordingEventFactory.Topic,
            ["subject"] = string.Empty,
            ["data"] = new JsonObject { ["validationCode"] = subscription.ValidationCode, ["validationUrl"] = subscription.ValidationUrl.AbsoluteUri },
            ["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent",
            ["eventTime"] = _emulator.TimeProvider.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["metadataVersion"] = "1",
            ["dataVersion"] = "2",
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(validationEvent.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        AddHeaders(request, subscription, "SubscriptionValidation", deliveryCount: 0, dataVersion: "2");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_emulator.Options.DeliveryTimeout);
            using var response = await _http.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (SubscriptionState.Failed, $"Webhook validation handshake failed: the endpoint answered {(int)response.StatusCode}.");
            }

            if (response.StatusCode == HttpStatusCode.OK && EchoedCode(body) == subscription.ValidationCode)
            {
                return (SubscriptionState.Active, null);
            }

            // A 2xx without the code switches Event Grid to manual validation.
            return (SubscriptionState.AwaitingManualAction, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (SubscriptionState.Failed, $"Webhook validation handshake failed: {ex.Message}");
        }
    }

    private async Task<(SubscriptionState, string?)> ValidateCloudEventsAsync(Subscription subscription, Uri endpoint, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, endpoint);
        request.Headers.TryAddWithoutValidation("WebHook-Request-Origin", WebHookOrigin);
        request.Headers.TryAddWithoutValidation("WebHook-Request-Rate", "120");
        request.Headers.TryAddWithoutValidation("WebHook-Request-Callback", subscription.ValidationUrl.AbsoluteUri);
        AddStaticHeaders(request, subscription);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_emulator.Options.DeliveryTimeout);
            using var response = await _http.SendAsync(request, timeout.Token);
            var allowed = response.Headers.TryGetValues("WebHook-Allowed-Origin", out var values) ? values.FirstOrDefault() : null;
            if (response.IsSuccessStatusCode && (allowed == WebHookOrigin || allowed == "*"))
            {
                return (SubscriptionState.Active, null);
            }

            return response.IsSuccessStatusCode
                ? (SubscriptionState.AwaitingManualAction, null)
                : (SubscriptionState.Failed, $"CloudEvents abuse-protection handshake failed: the endpoint answered {(int)response.StatusCode} to OPTIONS.");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (SubscriptionState.Failed, $"CloudEvents abuse-protection handshake failed: {ex.Message}");
        }
    }

    private static string? EchoedCode(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name.Equals("validationResponse", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value.GetString();
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>
    /// Sends the first attempt of each batch in publishing order (so a test can see events in the order it asked for);
    /// retries then go on independently, as they do in Event Grid.
    /// </summary>
    private async Task DeliverInOrderAsync(Subscription subscription, IReadOnlyList<IReadOnlyList<RecordingEvent>> batches, TimeSpan initialDelay, CancellationToken stopping)
    {
        await Task.Yield();
        if (initialDelay > TimeSpan.Zero)
        {
            await Task.Delay(initialDelay, _emulator.TimeProvider, stopping);
        }

        foreach (var batch in batches)
        {
            var firstAttemptDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Track(DeliverAsync(subscription, batch, firstAttemptDone, stopping));
            await firstAttemptDone.Task;
        }
    }

    private async Task DeliverAsync(Subscription subscription, IReadOnlyList<RecordingEvent> batch, TaskCompletionSource firstAttemptDone, CancellationToken stopping)
    {
        try
        {
            await DeliverWithRetriesAsync(subscription, batch, firstAttemptDone, stopping);
        }
        finally
        {
            firstAttemptDone.TrySetResult();
        }
    }

    private async Task DeliverWithRetriesAsync(Subscription subscription, IReadOnlyList<RecordingEvent> batch, TaskCompletionSource firstAttemptDone, CancellationToken stopping)
    {
        var deliveryId = Guid.NewGuid().ToString("N")[..12];
        var firstPublished = _emulator.TimeProvider.GetUtcNow();
        var timeToLive = Scale(TimeSpan.FromMinutes(subscription.Spec.EventTimeToLiveInMinutes));
        for (var attempt = 1; ; attempt++)
        {
            if (!_subscriptions.ContainsKey(subscription.Id))
            {
                return;
            }

            var (status, error, latency) = await SendOnceAsync(subscription, batch, attempt - 1, stopping);
            firstAttemptDone.TrySetResult();
            var eventIds = batch.Select(e => e.Id).ToList();
            if (status is >= 200 and <= 204)
            {
                _attempts.Enqueue(new DeliveryAttempt(deliveryId, subscription.Spec.Name, eventIds, attempt, status, null, DeliveryOutcome.Delivered, latency, _emulator.TimeProvider.GetUtcNow()));
                return;
            }

            var outcome = OutcomeName(status, error);
            var neverRetried = status is 400 or 401 or 403 or 413;
            var nextDelay = NextDelay(attempt, status);
            var expired = _emulator.TimeProvider.GetUtcNow() + nextDelay - firstPublished > timeToLive;
            if (neverRetried || attempt >= subscription.Spec.MaxDeliveryAttempts || expired)
            {
                var lastAttemptAt = _emulator.TimeProvider.GetUtcNow();
                _attempts.Enqueue(new DeliveryAttempt(deliveryId, subscription.Spec.Name, eventIds, attempt, status, error, DeliveryOutcome.DeadLettered, latency, lastAttemptAt));
                var reason = neverRetried ? "NoRetryStatusCode" : expired ? "TimeToLiveExceeded" : "MaxDeliveryAttemptsExceeded";
                string? blobName = null;
                if (subscription.Spec.DeadLetter is { } destination)
                {
                    var fields = new DeadLetterFields(BlobReason(reason, status), attempt, outcome, status ?? 0, firstPublished, lastAttemptAt);
                    blobName = await WriteDeadLetterAsync(subscription, destination, batch, fields, stopping);
                }

                foreach (var e in batch)
                {
                    _deadLetters.Enqueue(new DeadLetter(subscription.Spec.Name, e.Id, reason, attempt, outcome, lastAttemptAt, blobName));
                }

                Log.DeadLettered(_logger, batch.Count, subscription.Spec.Name, reason);
                return;
            }

            _attempts.Enqueue(new DeliveryAttempt(deliveryId, subscription.Spec.Name, eventIds, attempt, status, error, DeliveryOutcome.WillRetry, latency, _emulator.TimeProvider.GetUtcNow()));
            await Task.Delay(nextDelay, _emulator.TimeProvider, stopping);
        }
    }

    /// <summary>
    /// Writes a dead-letter blob after Event Grid's delay (scaled). A container that cannot be written is tried again
    /// (Event Grid keeps trying for 4 hours, then drops the events); here a few times, then the events are dropped
    /// with a warning. Returns the blob's name, or null when it was dropped.
    /// </summary>
    private async Task<string?> WriteDeadLetterAsync(Subscription subscription, DeadLetterDestinationSpec destination, IReadOnlyList<RecordingEvent> batch, DeadLetterFields fields, CancellationToken stopping)
    {
        await Task.Delay(Scale(DeadLetterWriter.WriteDelay), _emulator.TimeProvider, stopping);
        var content = DeadLetterWriter.Content(subscription.Spec.Schema, batch, fields);
        for (var attempt = 1; ; attempt++)
        {
            var name = DeadLetterWriter.BlobName(subscription.Spec.Name, _emulator.TimeProvider.GetUtcNow());
            try
            {
                await DeadLetterWriter.WriteAsync(destination, name, content, stopping);
                return name;
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException or AggregateException && !stopping.IsCancellationRequested)
            {
                if (attempt >= 3)
                {
                    Log.DeadLetterDropped(_logger, batch.Count, subscription.Spec.Name, ex.Message);
                    return null;
                }

                await Task.Delay(Scale(TimeSpan.FromMinutes(1)), _emulator.TimeProvider, stopping);
            }
        }
    }

    /// <summary>The reason Event Grid writes into a dead-letter blob.</summary>
    private static string BlobReason(string reason, int? status) => (reason, status) switch
    {
        ("NoRetryStatusCode", 400) => "UndeliverableDueToHttpBadRequest",
        ("NoRetryStatusCode", 413) => "UndeliverableDueToHttpPayloadTooLarge",
        ("NoRetryStatusCode", 401 or 403) => "UndeliverableDueToHttpUnauthorized",
        _ => reason,
    };

    /// <summary>The delay before the next attempt: the schedule, at least the status's minimum, scaled, with ±10 % jitter.</summary>
    private TimeSpan NextDelay(int attempt, int? status)
    {
        var scheduled = attempt <= RetrySchedule.Count ? RetrySchedule[attempt - 1] : TimeSpan.FromHours(12);
        var minimum = status switch
        {
            404 => TimeSpan.FromMinutes(5),
            408 => TimeSpan.FromMinutes(2),
            503 => TimeSpan.FromSeconds(30),
            _ => TimeSpan.FromSeconds(10),
        };
        var delay = scheduled > minimum ? scheduled : minimum;
        var jitter = 0.9 + (Random.Shared.NextDouble() * 0.2);
        return Scale(delay * jitter);
    }

    private static string OutcomeName(int? status, string? error) => status switch
    {
        null when error?.Contains("timed out", StringComparison.OrdinalIgnoreCase) == true => "TimedOut",
        null => "SocketError",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        413 => "PayloadTooLarge",
        _ => "Busy",
    };

    private async Task<(int? Status, string? Error, double LatencyMilliseconds)> SendOnceAsync(Subscription subscription, IReadOnlyList<RecordingEvent> batch, int deliveryCount, CancellationToken stopping)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Spec.Endpoint) { Content = Body(subscription.Spec, batch) };
        AddHeaders(request, subscription, "Notification", deliveryCount, dataVersion: "1.0");
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(_emulator.Options.DeliveryTimeout);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return ((int)response.StatusCode, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return (null, $"The webhook timed out after {_emulator.Options.DeliveryTimeout.TotalSeconds:0.###} s.", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (HttpRequestException ex)
        {
            return (null, ex.Message, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static StringContent Body(SubscriptionSpec spec, IReadOnlyList<RecordingEvent> batch)
    {
        if (spec.Schema == EventSchema.EventGrid)
        {
            var array = new JsonArray([.. batch.Select(e => (JsonNode)RecordingEventFactory.ToEventGridSchema(e))]);
            return Json(array.ToJsonString(), "application/json");
        }

        if (spec.MaxEventsPerBatch <= 1)
        {
            return Json(RecordingEventFactory.ToCloudEventSchema(batch[0]).ToJsonString(), "application/cloudevents+json");
        }

        var events = new JsonArray([.. batch.Select(e => (JsonNode)RecordingEventFactory.ToCloudEventSchema(e))]);
        return Json(events.ToJsonString(), "application/cloudevents-batch+json");

        static StringContent Json(string text, string mediaType)
        {
            var content = new StringContent(text, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };
            return content;
        }
    }

    private static void AddHeaders(HttpRequestMessage request, Subscription subscription, string eventType, int deliveryCount, string dataVersion)
    {
        request.Headers.TryAddWithoutValidation("aeg-event-type", eventType);
        request.Headers.TryAddWithoutValidation("aeg-subscription-name", subscription.Spec.Name.ToUpperInvariant());
        request.Headers.TryAddWithoutValidation("aeg-delivery-count", deliveryCount.ToString(CultureInfo.InvariantCulture));
        if (subscription.Spec.Schema == EventSchema.EventGrid)
        {
            request.Headers.TryAddWithoutValidation("aeg-metadata-version", "1");
            request.Headers.TryAddWithoutValidation("aeg-data-version", dataVersion);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("aeg-metadata-version", "1.0");
            request.Headers.TryAddWithoutValidation("WebHook-Request-Origin", WebHookOrigin);
        }

        AddStaticHeaders(request, subscription);
    }

    private static void AddStaticHeaders(HttpRequestMessage request, Subscription subscription)
    {
        foreach (var (name, value) in subscription.Spec.DeliveryHeaders ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Dead-lettered {Count} event(s) for subscription {Subscription}: {Reason}")]
        public static partial void DeadLettered(ILogger logger, int count, string subscription, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Dropped {Count} dead-lettered event(s) of subscription {Subscription}: the dead-letter container could not be written ({Reason})")]
        public static partial void DeadLetterDropped(ILogger logger, int count, string subscription, string reason);
    }
}
