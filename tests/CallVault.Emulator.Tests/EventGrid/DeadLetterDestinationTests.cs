using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Azure.Storage.Blobs;
using CallVault.Testing;

namespace CallVault.Emulator.Tests.EventGrid;

/// <summary>
/// A subscription with a dead-letter container (Azurite): events the emulator gives up on are written there as Event
/// Grid writes them (path, array, dead-letter fields, the delay), and the Azure SDK parses them.
/// </summary>
public sealed partial class DeadLetterDestinationTests : EmulatorTestBase
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "emulator-dl-" + Guid.NewGuid().ToString("N")[..12]);
    private WebhookRecorder _webhook = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _webhook = await WebhookRecorder.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await _container.DeleteIfExistsAsync();
        await base.DisposeAsync();
    }

    /// <summary>Max attempts exhausted on 503: one blob per given-up batch, named and filled as Event Grid does.</summary>
    [Fact]
    public async Task MaxAttemptsExhausted_EventGridSchema_WritesTheBlobAfterTheScaledDelay()
    {
        await SubscribeAsync(new { name = "callvault-sub", endpoint = _webhook.Url.ToString(), maxDeliveryAttempts = 2, deadLetter = Destination() });
        _webhook.ForcedStatus = 503;

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Emulator.Context.EventGrid.DeadLetters.Count == 1, Patience));
        var seenAt = Emulator.Context.TimeProvider.GetUtcNow();
        var deadLetter = Emulator.Context.EventGrid.DeadLetters[0];
        var blob = Assert.Single(await BlobsAsync());
        Assert.Equal(deadLetter.BlobName, blob);
        Assert.Matches(BlobPath(), blob);
        Assert.StartsWith("CALLVAULT-SUB/", blob, StringComparison.Ordinal);
        Assert.DoesNotMatch("/0[0-9]/", blob);
        Assert.True(seenAt - deadLetter.Time >= TimeSpan.FromMinutes(5) * 0.001, "written about 5 minutes (scaled) after the last attempt");

        var content = (await _container.GetBlobClient(blob).DownloadContentAsync()).Value.Content;
        var parsed = Assert.Single(EventGridEvent.ParseMany(content));
        Assert.Equal("Microsoft.Communication.RecordingFileStatusUpdated", parsed.EventType);
        var element = Assert.Single(JsonDocument.Parse(content).RootElement.EnumerateArray());
        Assert.Equal(("MaxDeliveryAttemptsExceeded", 2, "Busy", 503), (
            element.GetProperty("deadLetterReason").GetString(), element.GetProperty("deliveryAttempts").GetInt32(),
            element.GetProperty("lastDeliveryOutcome").GetString(), element.GetProperty("lastHttpStatusCode").GetInt32()));
        Assert.True(element.GetProperty("publishTime").GetDateTimeOffset() <= element.GetProperty("lastDeliveryAttemptTime").GetDateTimeOffset());
    }

    /// <summary>A 400 is dead-lettered at once; in the CloudEvents schema the dead-letter fields are lower case.</summary>
    [Fact]
    public async Task BadRequest_CloudEventsSchema_WritesLowerCaseFields()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), schema = "CloudEvents", deadLetter = Destination() });
        _webhook.ForcedStatus = 400;

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Emulator.Context.EventGrid.DeadLetters.Count == 1, Patience));
        var blob = Assert.Single(await BlobsAsync());
        Assert.StartsWith("CALLVAULT/", blob, StringComparison.Ordinal);
        var content = (await _container.GetBlobClient(blob).DownloadContentAsync()).Value.Content;
        Assert.Single(CloudEvent.ParseMany(content));
        var element = Assert.Single(JsonDocument.Parse(content).RootElement.EnumerateArray());
        Assert.Equal(("UndeliverableDueToHttpBadRequest", 1, "BadRequest", 400), (
            element.GetProperty("deadletterreason").GetString(), element.GetProperty("deliveryattempts").GetInt32(),
            element.GetProperty("lastdeliveryoutcome").GetString(), element.GetProperty("lasthttpstatuscode").GetInt32()));
        Assert.True(element.TryGetProperty("publishtime", out _));
        Assert.True(element.TryGetProperty("lastdeliveryattempttime", out _));
        Assert.False(element.TryGetProperty("deadLetterReason", out _));
    }

    /// <summary>The admin API names the container but never shows the connection string.</summary>
    [Fact]
    public async Task SubscriptionView_ShowsTheContainer_NotTheConnectionString()
    {
        var view = await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), deadLetter = Destination() });

        Assert.Equal(_container.Name, view.GetProperty("deadLetterContainer").GetString());
        Assert.DoesNotContain("AccountKey", view.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    private object Destination() => new { connectionString = TestServices.Azurite, containerName = _container.Name };

    private async Task<List<string>> BlobsAsync()
    {
        var names = new List<string>();
        await foreach (var item in _container.GetBlobsAsync())
        {
            names.Add(item.Name);
        }

        return names;
    }

    private async Task<JsonElement> SubscribeAsync(object spec)
    {
        using var response = await Admin.PostAsJsonAsync("subscriptions", spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [GeneratedRegex(@"^[A-Z0-9-]+/\d{4}/([1-9]|1[0-2])/([1-9]|[12]\d|3[01])/(\d|1\d|2[0-3])/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$")]
    private static partial Regex BlobPath();
}
