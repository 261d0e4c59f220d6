using CallVault.Jobs;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IJobStoreSchema"/> must do.</summary>
public abstract class JobStoreSchemaContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    [Fact]
    public async Task Initialize_Again_KeepsTheData()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);

        await Store.Schema.InitializeAsync(default);

        Assert.NotNull(await Store.Recordings.GetRecordingAsync("rec-1", default));
    }
}
