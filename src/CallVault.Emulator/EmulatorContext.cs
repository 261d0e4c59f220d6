using CallVault.Emulator.EventGrid;
using CallVault.Emulator.Faults;
using CallVault.Emulator.Recordings;
using CallVault.Emulator.Storage;

namespace CallVault.Emulator;

/// <summary>The state both emulated hosts share.</summary>
public sealed class EmulatorContext
{
    private long _bytesSent;

    internal EmulatorContext(AcsEmulatorOptions options, ReadOnlyMemory<byte> accessKey)
    {
        Options = options;
        AccessKey = accessKey;
        TimeProvider = options.TimeProvider;
        Recordings = new RecordingStore(TimeProvider);
    }

    /// <summary>The options the emulator started with.</summary>
    public AcsEmulatorOptions Options { get; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The decoded access key.</summary>
    public ReadOnlyMemory<byte> AccessKey { get; }

    /// <summary>The ACS endpoint's base URL, ending with <c>/</c>.</summary>
    public Uri Endpoint { get; internal set; } = null!;

    /// <summary>The media storage host's base URL, ending with <c>/</c>.</summary>
    public Uri StorageBase { get; internal set; } = null!;

    /// <summary>The recordings.</summary>
    public RecordingStore Recordings { get; }

    /// <summary>Storage accounts the resource may export recordings to (Bring Your Own Storage).</summary>
    internal ExternalStorageExporter ExternalStorage { get; } = new();

    /// <summary>Faults waiting for requests.</summary>
    public FaultPlan Faults { get; } = new();

    private LinkState _link = new(new LinkShape(), null);

    /// <summary>The link every download goes over. Setting it starts a fresh shared bucket for its total cap.</summary>
    public LinkShape Link
    {
        get => _link.Shape;
        set => _link = new(value, value.TotalBandwidthBytesPerSecond > 0 ? new SharedBandwidth(value.TotalBandwidthBytesPerSecond, TimeProvider) : null);
    }

    /// <summary>The link and its shared bucket, read together so a response never pairs one link's shape with another's bucket.</summary>
    internal LinkState CurrentLink => _link;

    /// <summary>Event Grid: subscriptions, deliveries and dead letters.</summary>
    public EventGridService EventGrid { get; internal set; } = null!;

    /// <summary>Calls and their Call Automation recordings, callbacks and callback tokens.</summary>
    public CallAutomation.CallAutomationService CallAutomation { get; internal set; } = null!;

    /// <summary>Every media and metadata request served, with when it started and ended.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<ObjectRequest> ObjectRequests { get; } = new();

    /// <summary>Per document, the media bytes the download API sent, and how its responses ended.</summary>
    public MediaTransferLedger MediaTransfers { get; } = new();

    /// <summary>Body bytes sent by the download API since start.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    internal void CountBytesSent(long count) => Interlocked.Add(ref _bytesSent, count);

    /// <summary>The GA media location of a chunk.</summary>
    public Uri ContentLocation(EmulatedChunk chunk) => new(StorageBase, $"v1/objects/{chunk.DocumentId}/content/{chunk.ContentKind}");

    /// <summary>The GA metadata location of a chunk.</summary>
    public Uri MetadataLocation(EmulatedChunk chunk) => new(StorageBase, $"v1/objects/{chunk.DocumentId}/content/acsmetadata");

    /// <summary>The GA delete location of a chunk.</summary>
    public Uri DeleteLocation(EmulatedChunk chunk) => new(StorageBase, $"v1/objects/{chunk.DocumentId}");
}

/// <summary>A link's shape and, when it has a total cap, the bucket all connections share.</summary>
internal sealed record LinkState(LinkShape Shape, SharedBandwidth? Total);

/// <summary>One object request the download API served.</summary>
/// <param name="DocumentId">The chunk.</param>
/// <param name="Metadata">Whether it was the metadata document.</param>
/// <param name="Started">When the request arrived.</param>
/// <param name="Ended">When the response ended (completed, failed or aborted).</param>
/// <param name="BytesSent">Body bytes written for this request.</param>
/// <param name="End">Whether the body was written in full, cut by an injected fault, or abandoned by the client.</param>
public sealed record ObjectRequest(string DocumentId, bool Metadata, DateTimeOffset Started, DateTimeOffset Ended, long BytesSent, ResponseEnd End);
