using System.Collections.Concurrent;
using CallVault.Jobs;
using CallVault.Jobs.PostgreSql;
using CallVault.Testing;
using Npgsql;

namespace CallVault.Core.Tests.Jobs;

/// <summary>The job-store contract on the run's PostgreSQL server, each test in a schema of its own.</summary>
public sealed class PostgreSqlJobStoreTests : JobStoreContract
{
    private readonly string _schema = "test_" + Guid.NewGuid().ToString("N")[..16];
    private readonly List<PostgreSqlJobStore> _stores = [];

    private string ConnectionString => new NpgsqlConnectionStringBuilder(TestServices.PostgreSql) { SearchPath = _schema }.ToString();

    protected override async Task<IJobStore> CreateStoreAsync(TimeProvider clock)
    {
        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {_schema};", connection);
        await command.ExecuteNonQueryAsync();
        return NewInstance(clock);
    }

    private PostgreSqlJobStore NewInstance(TimeProvider clock)
    {
        var store = new PostgreSqlJobStore(ConnectionString, clock);
        _stores.Add(store);
        return store;
    }

    public override async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Several instances share the database: a new instance starting up must not steal live leases.</summary>
    [Fact]
    public async Task Initialize_OfAnotherInstance_LeavesLiveLeasesAlone()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        Assert.NotNull(await Store.TryLeaseAsync("instance-a", TimeSpan.FromMinutes(2), default));

        var other = NewInstance(Clock);
        await other.InitializeAsync(default);

        Assert.Null(await other.TryLeaseAsync("instance-b", TimeSpan.FromMinutes(2), default));
        Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal("d1", (await other.TryLeaseAsync("instance-b", TimeSpan.FromMinutes(2), default))!.DocumentId);
    }

    /// <summary>Three instances, each with its own connections, race for 90 chunks: SKIP LOCKED gives each to one of them.</summary>
    [Fact]
    public async Task SeveralInstances_NeverLeaseTheSameChunkTwice()
    {
        await Store.EnqueueAsync([.. Enumerable.Range(0, 90).Select(i => new EventChunks($"e{i}", [Chunk($"d{i}", index: i)]))], default);
        var instances = new[] { Store, NewInstance(Clock), NewInstance(Clock) };
        var leased = new ConcurrentBag<string>();

        await Task.WhenAll(instances.SelectMany((store, s) => Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            while (await store.TryLeaseAsync($"i{s}w{w}", TimeSpan.FromMinutes(2), default) is { } lease)
            {
                leased.Add(lease.DocumentId);
                await store.CompleteAsync(lease, default);
            }
        }))));

        Assert.Equal(90, leased.Count);
        Assert.Equal(90, leased.Distinct().Count());
    }

    /// <summary>Instances starting together run the migrations once, under the advisory lock.</summary>
    [Fact]
    public async Task ConcurrentInitialize_MigratesOnce()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => NewInstance(Clock).InitializeAsync(default)));

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM schema_migrations;", connection);
        Assert.Equal((long)CallVault.Jobs.AdoNet.RelationalSchema.Migrations.Count, await command.ExecuteScalarAsync());
    }

    /// <summary>Three instances enqueue the same overlapping documents at once, many rounds: every commit succeeds and each chunk exists once.</summary>
    [Fact]
    public async Task SeveralInstances_EnqueuingTheSameDocumentsAtOnce_AllSucceed()
    {
        var instances = new[] { Store, NewInstance(Clock), NewInstance(Clock), NewInstance(Clock) };
        for (var round = 0; round < 25; round++)
        {
            var r = round;
            await Task.WhenAll(instances.Select((store, s) => Task.Run(async () =>
            {
                // Each instance sends the same documents in its own order, as redeliveries to different instances do.
                var ids = Enumerable.Range(0, 6).Select(i => $"r{r}-d{i}").ToList();
                if (s % 2 == 1)
                {
                    ids.Reverse();
                }

                await store.EnqueueAsync([.. ids.Select(id => new EventChunks($"e-{s}-{id}", [Chunk(id, $"rec-{r}-{id[^1] % 2}", index: id[^1] - '0')]))], default);
            })));
        }

        var statistics = await Store.GetStatisticsAsync(default);
        Assert.Equal(25 * 6, statistics.ByState[ChunkState.Pending]);
    }

    /// <summary>Workers on different chunks of one recording store metadata with different participants at once: none is lost.</summary>
    [Fact]
    public async Task ConcurrentProgress_OnOneRecording_KeepsEveryParticipant()
    {
        var instances = new[] { Store, NewInstance(Clock), NewInstance(Clock), NewInstance(Clock) };
        for (var round = 0; round < 15; round++)
        {
            var recording = $"rec-{round}";
            await Store.EnqueueAsync("e" + round, [.. Enumerable.Range(0, 8).Select(i => Chunk($"{recording}-d{i}", recording, i))], default);
            var leases = new List<(IJobStore Store, ChunkLease Lease)>();
            for (var i = 0; i < 8; i++)
            {
                var store = instances[i % instances.Length];
                leases.Add((store, (await store.TryLeaseAsync("w" + i, TimeSpan.FromMinutes(2), default))!));
            }

            await Task.WhenAll(leases.Select((l, i) => Task.Run(() => l.Store.RecordProgressAsync(l.Lease, new ChunkProgress
            {
                MetadataJson = "{\"participants\":[{\"participantId\":\"8:acs:p" + i + "\",\"channel\":0}]}",
            }, default))));

            var found = (await Store.GetRecordingAsync(recording, default))!.Summary.Participants;
            Assert.Equal(Enumerable.Range(0, 8).Select(i => "8:acs:p" + i).Order(), found.Order());
        }
    }
}
