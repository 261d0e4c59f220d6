using CallVault.Byos;
using Microsoft.Extensions.Options;

namespace CallVault.Core.Tests.Byos;

/// <summary>Only blobs inside a configured export container are matched; an event cannot steer a read anywhere else.</summary>
public sealed class ExportedBlobLocationsTests
{
    private static readonly ExportedBlobLocations Locations = new(new Monitor(new ByosOptions
    {
        Containers = { ["calls"] = new ByosContainerOptions { ContainerUrl = new Uri("https://contoso.blob.core.windows.net/recordings") } },
    }));

    [Theory]
    [InlineData("https://contoso.blob.core.windows.net/recordings/20260303/c/abcdefgh-1/0-audiowav.0-eus-d0-1.wav", "20260303/c/abcdefgh-1/0-audiowav.0-eus-d0-1.wav")]
    [InlineData("https://CONTOSO.blob.core.windows.net/recordings/a%20b.wav", "a b.wav")]
    public void Match_BlobInAConfiguredContainer_NamesTheBlob(string location, string blobName)
    {
        Assert.Equal(new ExportedBlob("calls", blobName), Locations.Match(new Uri(location)));
    }

    [Theory]
    [InlineData("https://evil.example/recordings/0-audiowav.x.wav")]
    [InlineData("https://contoso.blob.core.windows.net/other/0-audiowav.x.wav")]
    [InlineData("https://contoso.blob.core.windows.net/recordings-2/0-audiowav.x.wav")]
    [InlineData("https://contoso.blob.core.windows.net/recordings")]
    [InlineData("https://contoso.blob.core.windows.net/recordings/")]
    [InlineData("https://contoso.blob.core.windows.net/recordings/x.wav?sig=abc")]
    [InlineData("https://contoso.blob.core.windows.net/recordings/%2e%2e/other/x.wav")]
    [InlineData("https://contoso.blob.core.windows.net/recordings/a//x.wav")]
    [InlineData("https://user@contoso.blob.core.windows.net/recordings/x.wav")]
    [InlineData("http://contoso.blob.core.windows.net/recordings/x.wav")]
    [InlineData("https://contoso.blob.core.windows.net:444/recordings/x.wav")]
    public void Match_AnythingElse_IsNull(string location)
    {
        Assert.Null(Locations.Match(new Uri(location)));
    }

    [Fact]
    public void StorePath_RoundTrips_AndOwnPathsAreNotExported()
    {
        var blob = new ExportedBlob("calls", "20260303/c/r-1/0-audiowav.d.wav");

        Assert.Equal(blob, ExportedBlob.FromStorePath(blob.StorePath));
        Assert.Null(ExportedBlob.FromStorePath("2026/03/03/c/r/chunk-000.wav"));
    }

    [Fact]
    public void Validator_ReportsEveryBadEntry_WithoutQuotingTheConnectionString()
    {
        var options = new ByosOptions
        {
            Containers =
            {
                ["Bad Name"] = new ByosContainerOptions { ContainerUrl = new Uri("https://a.blob.core.windows.net/c") },
                ["sas"] = new ByosContainerOptions { ContainerUrl = new Uri("https://a.blob.core.windows.net/d?sv=1&sig=secret") },
                ["cs"] = new ByosContainerOptions { ContainerUrl = new Uri("https://a.blob.core.windows.net/e"), ConnectionString = "not-a-secret-format-hunter2" },
                ["ok"] = new ByosContainerOptions { ContainerUrl = new Uri("https://a.blob.core.windows.net/f") },
            },
        };

        var result = new ByosOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(3, result.Failures!.Count());
        Assert.DoesNotContain("hunter2", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", result.FailureMessage, StringComparison.Ordinal);
    }

    /// <summary>A folder inside a container would be matched against events but opened as another container: refused.</summary>
    [Theory]
    [InlineData("https://a.blob.core.windows.net/recordings/tenant-a", true)]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/recordings/tenant-a", true)]
    [InlineData("https://a.blob.core.windows.net/recordings", false)]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/recordings", false)]
    public void Validator_AFolderInsteadOfAContainer_IsRefused(string containerUrl, bool refused)
    {
        var options = new ByosOptions { Containers = { ["calls"] = new ByosContainerOptions { ContainerUrl = new Uri(containerUrl) } } };

        var result = new ByosOptionsValidator().Validate(null, options);

        Assert.Equal(refused, result.Failed);
    }

    private sealed class Monitor(ByosOptions value) : IOptionsMonitor<ByosOptions>
    {
        public ByosOptions CurrentValue => value;

        public ByosOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<ByosOptions, string?> listener) => null;
    }
}
