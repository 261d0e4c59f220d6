using CallVault.Acs;
using CallVault.Byos;
using CallVault.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CallVault.Core.Tests.Byos;

/// <summary>
/// The intake and exported chunks: locations inside a configured export container are accepted without an ACS host;
/// a blob URL in any other container (a hostile or mistaken event) is refused as any unknown host is.
/// </summary>
public sealed class ExportedChunkIntakeTests
{
    private const string Container = "https://contoso.blob.core.windows.net/recordings";
    private const string DocumentId = "0-weu-d4-abc";

    private static WebhookIntake Intake()
    {
        var acs = new AcsClientOptions { ConnectionString = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]) };
        var byos = new ByosOptions { Containers = { ["calls"] = new ByosContainerOptions { ContainerUrl = new Uri(Container) } } };
        return new WebhookIntake(
            new Monitor<CallVaultOptions>(new CallVaultOptions()),
            new Monitor<AcsClientOptions>(acs),
            NullLogger<WebhookIntake>.Instance,
            new ExportedBlobLocations(new Monitor<ByosOptions>(byos)));
    }

    private static CallVault.Jobs.ChunkRequest ChunkOf(string container)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["id"] = "e1",
            ["topic"] = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso",
            ["subject"] = "/recording/call/call-1/serverCallId/server-1/recordingId/rec-1",
            ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
            ["dataVersion"] = "1.0",
            ["eventTime"] = "2026-03-03T13:53:40Z",
            ["data"] = new Dictionary<string, object>
            {
                ["recordingStorageInfo"] = new
                {
                    recordingChunks = new[]
                    {
                        new
                        {
                            documentId = DocumentId,
                            index = 0,
                            endReason = "SessionEnded",
                            contentLocation = $"{container}/20260303/call-1/rec-1abc-1/0-audiowav.{DocumentId}.wav",
                            metadataLocation = $"{container}/20260303/call-1/rec-1abc-1/0-acsmetadata.{DocumentId}.json",
                        },
                    },
                },
            },
        });
        var result = Assert.IsType<IntakeResult.Events>(Intake().Parse(BinaryData.FromString("[" + json + "]"), "application/json"));
        return Assert.Single(Assert.Single(result.Accepted).Chunks);
    }

    [Fact]
    public void LocationsInAConfiguredContainer_AreAccepted()
    {
        Assert.Null(ChunkOf(Container).RejectedReason);
    }

    [Theory]
    [InlineData("https://contoso.blob.core.windows.net/other")]
    [InlineData("https://attacker.blob.core.windows.net/recordings")]
    [InlineData("http://169.254.169.254/recordings")]
    public void LocationsAnywhereElse_AreRefused(string container)
    {
        Assert.StartsWith("Refused:", ChunkOf(container).RejectedReason, StringComparison.Ordinal);
    }

    private sealed class Monitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
