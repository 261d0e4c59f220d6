using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using CallVault.Emulator.Faults;
using CallVault.Emulator.Recordings;

namespace CallVault.Emulator.CallAutomation;

/// <summary>An ACS error answer: the status and the <c>{"error":{"code","message"}}</c> body.</summary>
internal sealed class CallAutomationError(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static CallAutomationError Invalid(string message) => new(400, "InvalidRequestBody", message);

    public static CallAutomationError RecordingNotFound(string recordingId) =>
        new(404, "RecordingNotFound", $"Recording '{recordingId}' was not found: it is unknown or has stopped.");
}

/// <summary>A validated start request.</summary>
internal sealed record StartCommand(
    string? ServerCallId,
    string? GroupCallId,
    string Content,
    string Channel,
    string Format,
    IReadOnlyList<string> Ordering,
    IReadOnlyList<(int Channel, string RawId)> Affinity,
    bool PauseOnStart,
    string? ExternalStorageContainerUrl,
    Uri? CallbackUri,
    string? RepeatabilityRequestId);

/// <summary>
/// Calls and their Call Automation recordings: start, pause, resume and stop with ACS's rules, repeatability,
/// <c>RecordingStateChanged</c> callbacks (in order, one at a time, each with a fresh token), and, when a recording
/// stops or its call ends, the files (silent where it was paused) and their <c>RecordingFileStatusUpdated</c> event.
/// </summary>
public sealed class CallAutomationService : IAsyncDisposable
{
    private const int MaxParticipants = 20;
    private const int MaxUnmixedChannels = 5;
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(10);

    private readonly EmulatorContext _emulator;
    private readonly RecordingFactory _factory;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, EmulatedCall> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EmulatedCallRecording> _recordings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _startsByRequestId = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<CallbackDelivery> _callbacks = new();
    private readonly Channel<PendingCallback> _pending = Channel.CreateUnbounded<PendingCallback>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = CallbackTimeout };
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _exports = [];
    private readonly Task _sender;

    internal CallAutomationService(EmulatorContext emulator, RecordingFactory factory, CallbackTokenIssuer tokens)
    {
        _emulator = emulator;
        _factory = factory;
        Tokens = tokens;
        _sender = Task.Run(SendCallbacksAsync);
    }

    /// <summary>Signs the callback tokens and publishes their keys.</summary>
    public CallbackTokenIssuer Tokens { get; }

    /// <summary>Every call, oldest first.</summary>
    public IReadOnlyList<EmulatedCall> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls.Values.OrderBy(c => c.StartedAt)];
            }
        }
    }

    /// <summary>Every callback attempted (or lost), in order.</summary>
    public IReadOnlyList<CallbackDelivery> Callbacks => [.. _callbacks];

    /// <summary>A call by server call id.</summary>
    public EmulatedCall? FindCall(string serverCallId)
    {
        lock (_lock)
        {
            return _calls.GetValueOrDefault(serverCallId);
        }
    }

    /// <summary>A Call Automation recording by id, stopped or not.</summary>
    public EmulatedCallRecording? FindRecording(string recordingId)
    {
        lock (_lock)
        {
            return _recordings.GetValueOrDefault(recordingId);
        }
    }

    /// <summary>The recordings of a call, oldest first.</summary>
    public IReadOnlyList<EmulatedCallRecording> RecordingsOf(EmulatedCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        lock (_lock)
        {
            return [.. call.RecordingIds.Select(id => _recordings[id])];
        }
    }

    internal EmulatedCall CreateCall(CallSpec spec)
    {
        var participants = spec.Participants ?? [];
        if (participants.Count is 0 or > MaxParticipants || participants.Any(string.IsNullOrWhiteSpace))
        {
            throw new EmulatorRequestException($"participants must hold 1 to {MaxParticipants} raw ids, such as '8:acs:...' or '4:+14255550123'.");
        }

        if (participants.Distinct(StringComparer.Ordinal).Count() != participants.Count)
        {
            throw new EmulatorRequestException("participants must not repeat a raw id.");
        }

        if (spec.DurationSeconds is <= 0 or > 7 * 24 * 3600)
        {
            throw new EmulatorRequestException("durationSeconds must be above 0 and at most 7 days.");
        }

        var call = new EmulatedCall
        {
            ServerCallId = RecordingFactory.NewServerCallId(),
            CallId = Guid.NewGuid().ToString(),
            GroupCallId = string.IsNullOrWhiteSpace(spec.GroupCallId) ? null : spec.GroupCallId,
            Participants = [.. participants],
            PublishFiles = spec.PublishFiles,
            StartedAt = _emulator.TimeProvider.GetUtcNow(),
        };
        lock (_lock)
        {
            _calls[call.ServerCallId] = call;
        }

        if (spec.DurationSeconds is { } seconds)
        {
            call.EndTimer = _emulator.TimeProvider.CreateTimer(
                static state =>
                {
                    var (service, id) = ((CallAutomationService, string))state!;
                    service.EndCall(id);
                },
                (this, call.ServerCallId),
                TimeSpan.FromSeconds(seconds),
                Timeout.InfiniteTimeSpan);
        }

        return call;
    }

    /// <summary>Ends a call: its recordings stop and their files are produced. False when the call is unknown.</summary>
    internal bool EndCall(string serverCallId)
    {
        List<EmulatedCallRecording> stopped;
        lock (_lock)
        {
            if (!_calls.TryGetValue(serverCallId, out var call))
            {
                return false;
            }

            if (call.EndedAt is not null)
            {
                return true;
            }

            var now = _emulator.TimeProvider.GetUtcNow();
            call.EndedAt = now;
            stopped = [.. call.RecordingIds.Select(id => _recordings[id]).Where(r => r.State != CallRecordingState.Stopped)];
            foreach (var recording in stopped)
            {
                StopLocked(recording, now);
            }

            call.EndTimer?.Dispose();
        }

        foreach (var recording in stopped)
        {
            ProduceFiles(recording);
        }

        return true;
    }

    internal EmulatedCallRecording Start(StartCommand command)
    {
        lock (_lock)
        {
            if (command.RepeatabilityRequestId is { } requestId && _startsByRequestId.TryGetValue(requestId, out var earlier))
            {
                // A repeat of a start already performed: the first result, and no second recording.
                return _recordings[earlier];
            }

            var call = command.ServerCallId is { } serverCallId
                ? _calls.GetValueOrDefault(serverCallId)
                : _calls.Values.FirstOrDefault(c => c.GroupCallId == command.GroupCallId && c.EndedAt is null)
                    ?? _calls.Values.FirstOrDefault(c => c.GroupCallId == command.GroupCallId);
            var locator = command.ServerCallId is not null ? $"server call '{command.ServerCallId}'" : $"group call '{command.GroupCallId}'";
            if (call is null)
            {
                throw new CallAutomationError(404, "CallNotFound", $"The {locator} was not found.");
            }

            if (call.EndedAt is not null)
            {
                throw new CallAutomationError(404, "CallNotFound", $"The {locator} has ended.");
            }

            var channelParticipants = AssignChannels(call, command);
            var now = _emulator.TimeProvider.GetUtcNow();
            var recording = new EmulatedCallRecording
            {
                RecordingId = RecordingFactory.NewRecordingId(),
                Call = call,
                Content = command.Content,
                Channel = command.Channel,
                Format = command.Format,
                ChannelParticipants = channelParticipants,
                CallbackUri = command.CallbackUri,
                ExternalStorageContainerUrl = command.ExternalStorageContainerUrl,
                StartedAt = now,
                State = command.PauseOnStart ? CallRecordingState.Paused : CallRecordingState.Active,
                WasEverActive = !command.PauseOnStart,
            };
            if (command.PauseOnStart)
            {
                recording.Pauses = [(TimeSpan.Zero, null)];
            }

            _recordings[recording.RecordingId] = recording;
            call.RecordingIds.Add(recording.RecordingId);
            if (command.RepeatabilityRequestId is { } id)
            {
                _startsByRequestId[id] = recording.RecordingId;
            }

            EnqueueCallbackLocked(recording, now);
            return recording;
        }
    }

    internal EmulatedCallRecording Get(string recordingId)
    {
        lock (_lock)
        {
            return LiveLocked(recordingId);
        }
    }

    internal void Pause(string recordingId)
    {
        lock (_lock)
        {
            var recording = LiveLocked(recordingId);
            if (recording.State == CallRecordingState.Paused)
            {
                return;
            }

            var now = _emulator.TimeProvider.GetUtcNow();
            recording.State = CallRecordingState.Paused;
            recording.Pauses = [.. recording.Pauses, (now - recording.StartedAt, null)];
            EnqueueCallbackLocked(recording, now);
        }
    }

    internal void Resume(string recordingId)
    {
        lock (_lock)
        {
            var recording = LiveLocked(recordingId);
            if (recording.State == CallRecordingState.Active)
            {
                return;
            }

            var now = _emulator.TimeProvider.GetUtcNow();
            recording.State = CallRecordingState.Active;
            recording.WasEverActive = true;
            ClosePause(recording, now);
            EnqueueCallbackLocked(recording, now);
        }
    }

    internal void Stop(string recordingId)
    {
        EmulatedCallRecording recording;
        lock (_lock)
        {
            recording = LiveLocked(recordingId);
            StopLocked(recording, _emulator.TimeProvider.GetUtcNow());
        }

        ProduceFiles(recording);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await _sender;
        }
        catch (OperationCanceledException)
        {
        }

        Task[] exports;
        lock (_lock)
        {
            exports = [.. _exports];
        }

        await Task.WhenAll(exports);
        lock (_lock)
        {
            foreach (var call in _calls.Values)
            {
                call.EndTimer?.Dispose();
            }
        }

        _http.Dispose();
        _stopping.Dispose();
        Tokens.Dispose();
    }

    private EmulatedCallRecording LiveLocked(string recordingId) =>
        _recordings.TryGetValue(recordingId, out var recording) && recording.State != CallRecordingState.Stopped
            ? recording
            : throw CallAutomationError.RecordingNotFound(recordingId);

    private void StopLocked(EmulatedCallRecording recording, DateTimeOffset now)
    {
        recording.State = CallRecordingState.Stopped;
        recording.StoppedAt = now;
        ClosePause(recording, now);
        EnqueueCallbackLocked(recording, now);
    }

    private static void ClosePause(EmulatedCallRecording recording, DateTimeOffset now)
    {
        if (recording.Pauses.Count > 0 && recording.Pauses[^1].End is null)
        {
            recording.Pauses = [.. recording.Pauses.Take(recording.Pauses.Count - 1), (recording.Pauses[^1].Start, now - recording.StartedAt)];
        }
    }

    /// <summary>
    /// The participants in channel order: those pinned by channel affinity on their channel, then those in the
    /// ordering on the free channels in turn, then everyone else in joining order.
    /// </summary>
    private static List<string> AssignChannels(EmulatedCall call, StartCommand command)
    {
        var participants = call.Participants;
        if (command.Channel == "unmixed" && participants.Count > MaxUnmixedChannels)
        {
            throw CallAutomationError.Invalid($"Unmixed audio records at most {MaxUnmixedChannels} channels; the call has {participants.Count} participants.");
        }

        var slots = new string?[participants.Count];
        foreach (var (channel, rawId) in command.Affinity)
        {
            if (!participants.Contains(rawId, StringComparer.Ordinal))
            {
                throw CallAutomationError.Invalid($"channelAffinity names '{rawId}', who is not in the call.");
            }

            if (channel >= slots.Length || slots[channel] is not null || slots.Contains(rawId, StringComparer.Ordinal))
            {
                throw CallAutomationError.Invalid($"channelAffinity puts '{rawId}' on channel {channel}, which is taken, repeated, or beyond the call's {slots.Length} channels.");
            }

            slots[channel] = rawId;
        }

        foreach (var rawId in command.Ordering)
        {
            if (!participants.Contains(rawId, StringComparer.Ordinal))
            {
                throw CallAutomationError.Invalid($"audioChannelParticipantOrdering names '{rawId}', who is not in the call.");
            }
        }

        var queue = new Queue<string>(command.Ordering.Concat(participants).Distinct(StringComparer.Ordinal).Where(p => !slots.Contains(p, StringComparer.Ordinal)));
        for (var channel = 0; channel < slots.Length; channel++)
        {
            slots[channel] ??= queue.Dequeue();
        }

        return [.. slots.Select(s => s!)];
    }

    private void ProduceFiles(EmulatedCallRecording recording)
    {
        if (!recording.WasEverActive)
        {
            return;
        }

        var duration = (recording.StoppedAt!.Value - recording.StartedAt).TotalSeconds;

        // A recording stopped the instant it started still yields a (1 ms) file, so that its files can arrive.
        duration = Math.Max(duration, 0.001);
        var spec = new RecordingSpec
        {
            ContentType = recording.Content,
            ChannelType = recording.Channel,
            Format = recording.Format,
            DurationSeconds = duration,
            Participants = recording.ChannelParticipants,
            Pauses = [.. recording.Pauses.Select(p => new PauseSpec(p.Start.TotalSeconds, (p.End!.Value - p.Start).TotalSeconds))],
            Publish = recording.Call.PublishFiles,
        };
        var files = _factory.Create(spec, new RecordingIdentity(recording.RecordingId, recording.Call.CallId, recording.Call.ServerCallId, recording.StartedAt));
        _emulator.Recordings.Add(files);
        if (recording.ExternalStorageContainerUrl is { } container)
        {
            // ACS writes exported files before it announces them, so the event waits for the upload.
            lock (_lock)
            {
                _exports.RemoveAll(t => t.IsCompleted);
                _exports.Add(Task.Run(() => ExportThenPublishAsync(files, container, spec.Publish)));
            }
        }
        else if (spec.Publish)
        {
            _emulator.EventGrid.Publish(files);
        }
    }

    private async Task ExportThenPublishAsync(EmulatedRecording files, string container, bool publish)
    {
        try
        {
            files.Export = await _emulator.ExternalStorage.ExportAsync(files, container, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or Azure.RequestFailedException)
        {
            files.Export = new Storage.RecordingExport("failed", container, "The container could not be reached.", new Dictionary<string, Storage.ExportedChunk>());
        }

        if (publish)
        {
            _emulator.EventGrid.Publish(files);
        }
    }

    private void EnqueueCallbackLocked(EmulatedCallRecording recording, DateTimeOffset now)
    {
        if (recording.CallbackUri is not { } uri)
        {
            return;
        }

        var serverCallId = recording.Call.ServerCallId;
        var cloudEvent = new Dictionary<string, object?>
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["source"] = $"calling/recordings/{serverCallId}/recordingId/{recording.RecordingId}/RecordingStateChanged",
            ["type"] = "Microsoft.Communication.RecordingStateChanged",
            ["subject"] = $"calling/recordings/{serverCallId}/recordingId/{recording.RecordingId}",
            ["specversion"] = "1.0",
            ["datacontenttype"] = "application/json",
            ["time"] = now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["data"] = new Dictionary<string, object?>
            {
                ["recordingId"] = recording.RecordingId,
                ["state"] = recording.AcsState,
                ["startDateTime"] = recording.StartedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["recordingKind"] = "azureCommunicationServices",
                ["serverCallId"] = serverCallId,
                ["correlationId"] = recording.Call.CallId,
                ["resultInformation"] = new { code = 200, subCode = 0, message = RecordingStateMessage(recording.State) },
            },
        };
        _pending.Writer.TryWrite(new PendingCallback(recording.RecordingId, recording.AcsState, uri, JsonSerializer.SerializeToUtf8Bytes(new[] { cloudEvent })));
    }

    private static string RecordingStateMessage(CallRecordingState state) => state switch
    {
        CallRecordingState.Active => "The recording is active.",
        CallRecordingState.Paused => "The recording is paused.",
        _ => "The recording has stopped.",
    };

    private async Task SendCallbacksAsync()
    {
        var stopping = _stopping.Token;
        await foreach (var callback in _pending.Reader.ReadAllAsync(stopping))
        {
            var time = _emulator.TimeProvider.GetUtcNow();
            if (_emulator.Faults.Take(callback.RecordingId, FaultTarget.RecordingCallback) is not null)
            {
                _callbacks.Enqueue(new CallbackDelivery(callback.RecordingId, callback.State, callback.Uri.AbsoluteUri, CallbackOutcome.Lost, null, "Dropped by an injected fault.", time));
                continue;
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, callback.Uri) { Content = new ByteArrayContent(callback.Body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.CreateToken());
                using var response = await _http.SendAsync(request, stopping);
                var status = (int)response.StatusCode;
                _callbacks.Enqueue(new CallbackDelivery(
                    callback.RecordingId,
                    callback.State,
                    callback.Uri.AbsoluteUri,
                    response.IsSuccessStatusCode ? CallbackOutcome.Delivered : CallbackOutcome.Failed,
                    status,
                    response.IsSuccessStatusCode ? null : $"Answered {status}.",
                    time));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
            {
                _callbacks.Enqueue(new CallbackDelivery(callback.RecordingId, callback.State, callback.Uri.AbsoluteUri, CallbackOutcome.Failed, null, ex.Message, time));
            }
        }
    }

    private sealed record PendingCallback(string RecordingId, string State, Uri Uri, byte[] Body);
}
