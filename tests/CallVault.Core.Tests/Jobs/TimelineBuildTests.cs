using CallVault.Jobs;
using CallVault.Jobs.AdoNet;

namespace CallVault.Core.Tests.Jobs;

/// <summary>
/// The timeline's sweep over owed groups gives, at every bucket, exactly the backlog and oldest event of the definition
/// (event bucket at or before it, completion bucket after it; only the still-owed at now), checked against that
/// definition written out directly, over random groups of every shape: before the period, done before their event, done
/// after the period, still owed, and the bucket that holds now.
/// </summary>
public sealed class TimelineBuildTests
{
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 24, 10)]
    [InlineData(2, 48, 500)]
    [InlineData(3, 1000, 5000)]
    [InlineData(4, 7, 0)]
    public void Sweep_GivesTheBacklogAndOldestEventOfTheDefinition_AtEveryBucket(int seed, int buckets, int groups)
    {
        var random = new Random(seed);
        var width = TimeSpan.FromHours(1);

        // Now falls inside the period (partway through a bucket), so that later buckets have no backlog.
        var now = From + (width * random.Next(buckets)) + TimeSpan.FromMinutes(random.Next(1, 59));
        var query = new TimelineQuery { From = From, Until = From + (width * buckets), BucketWidth = width, Now = now };
        var owed = Enumerable.Range(0, groups).Select(_ =>
        {
            var eventBucket = (long)random.Next(-1, buckets + 2);
            long? done = random.Next(4) == 0 ? null : random.Next(0, buckets + 3);
            var oldest = From.ToUnixTimeMilliseconds() + (Math.Max(eventBucket, -5) * 3_600_000) + random.Next(3_600_000);
            return new TimelineStatements.OwedRow(eventBucket, done, random.Next(3), random.Next(1, 5), oldest);
        }).ToList();

        var points = TimelineStatements.Build(query, [], owed);

        Assert.Equal(buckets, points.Count);
        for (var bucket = 0; bucket < buckets; bucket++)
        {
            var (backlog, oldest) = ByDefinition(query, owed, bucket);
            Assert.Equal(backlog, points[bucket].Backlog);
            Assert.Equal(oldest, points[bucket].OldestPendingAge);
        }
    }

    private static (long? Backlog, TimeSpan? Oldest) ByDefinition(TimelineQuery query, List<TimelineStatements.OwedRow> owed, int bucket)
    {
        var start = query.From + (query.BucketWidth * bucket);
        var end = start + query.BucketWidth;
        if (start > query.Now)
        {
            return (null, null);
        }

        var complete = end <= query.Now;
        var at = complete ? end : query.Now;
        var owedThen = owed.Where(o => o.EventBucket <= bucket && (o.DoneBucket is null || (complete && o.DoneBucket > bucket))).ToList();
        if (owedThen.Count == 0)
        {
            return (0, null);
        }

        var age = at - DateTimeOffset.FromUnixTimeMilliseconds(owedThen.Min(o => o.OldestEvent));
        return (owedThen.Sum(o => o.Count), age > TimeSpan.Zero ? age : TimeSpan.Zero);
    }
}
