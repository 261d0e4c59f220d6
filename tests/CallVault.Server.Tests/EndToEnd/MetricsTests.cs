using System.Net;
using System.Text;
using System.Text.Json;
using CallVault.Diagnostics;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary><c>/metrics</c> under a flood of made-up event types: the series stay a fixed, small set.</summary>
public sealed class MetricsTests
{
    private const string Topic = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso";

    private static string Delivery(IEnumerable<string> types) => JsonSerializer.Serialize(types.Select(type => new
    {
        id = Guid.NewGuid().ToString(),
        topic = Topic,
        subject = "/anything",
        data = new { },
        eventType = type,
        dataVersion = "1.0",
        eventTime = "2026-03-03T13:53:40Z",
    }));

    /// <summary>
    /// A thousand distinct event types (and odd spellings of the recording event's type) sent by a holder of the
    /// webhook secret add no series: they are counted under <c>other</c> and the known types' canonical names.
    /// </summary>
    [Fact]
    public async Task EventsReceived_FloodOfDistinctTypes_SeriesStayBounded()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
            s["CallVault:Acs:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]));
        for (var delivery = 0; delivery < 20; delivery++)
        {
            var types = Enumerable.Range(0, 50).Select(i => $"Attacker.Chosen.Type{delivery}x{i}").ToList();
            types.Add(delivery % 2 == 0 ? "MICROSOFT.EVENTGRID.SUBSCRIPTIONDELETEDEVENT" : "microsoft.eventgrid.subscriptiondeletedevent");
            using var response = await server.Client.PostAsync(
                $"api/events?code={server.Secret}",
                new StringContent(Delivery(types), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var metrics = await server.Client.GetStringAsync("metrics");

        var series = metrics.Split('\n').Where(l => l.StartsWith("callvault_events_received", StringComparison.Ordinal)).ToList();
        Assert.InRange(series.Count, 1, CallVaultMetrics.KnownEventTypes.Count + 3);
        Assert.Contains(series, l => l.Contains("type=\"other\"", StringComparison.Ordinal) && l.Split(' ')[1] == "1000");
        Assert.Contains(series, l => l.Contains("type=\"Microsoft.EventGrid.SubscriptionDeletedEvent\"", StringComparison.Ordinal) && l.Split(' ')[1] == "20");
        Assert.DoesNotContain("Attacker", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Microsoft.Communication.RecordingFileStatusUpdated", "Microsoft.Communication.RecordingFileStatusUpdated")]
    [InlineData("microsoft.communication.recordingfilestatusupdated", "Microsoft.Communication.RecordingFileStatusUpdated")]
    [InlineData("(rejected)", "(rejected)")]
    [InlineData("(foreign topic)", "(foreign topic)")]
    [InlineData("Contoso.Anything", "other")]
    [InlineData("", "other")]
    [InlineData(null, "other")]
    public void EventTypeLabel_MapsToAFixedSet(string? type, string expected) =>
        Assert.Equal(expected, CallVaultMetrics.EventTypeLabel(type));
}
