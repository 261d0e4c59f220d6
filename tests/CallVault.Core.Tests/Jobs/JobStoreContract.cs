using CallVault.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Jobs;

/// <summary>
/// What the contract suites share: a fresh store on the backend, a fake clock and chunk builders. There is one suite
/// per role of <see cref="IJobStore"/>; each runs on every backend through a subclass that only names the backend.
/// </summary>
public abstract class JobStoreContract(JobStoreBackend backend) : IAsyncLifetime
{
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    protected JobStoreBackend Backend { get; } = backend;

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));

    protected IJobStore Store { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Store = await Backend.CreateAsync(Clock);
        await Store.Schema.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync() => await Backend.DisposeAsync();

    protected static ChunkRequest Chunk(string documentId, string recording = "rec-1", long index = 0, DateTimeOffset? eventTime = null, Uri? content = null) => new()
    {
        DocumentId = documentId,
        Recording = new RecordingInfo { Key = recording, RecordingId = recording, CallId = "call-" + recording, FormatType = "Wav" },
        Index = index,
        EndReason = "SessionEnded",
        ContentLocation = content ?? new Uri($"https://storage.asm.skype.com/v1/objects/{documentId}/content/audio"),
        MetadataLocation = content is null ? new Uri($"https://storage.asm.skype.com/v1/objects/{documentId}/content/acsmetadata") : null,
        EventTime = eventTime ?? new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero),
    };
}
