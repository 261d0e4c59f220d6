using CallVault.Recovery;

namespace CallVault.Core.Tests.Recovery;

/// <summary>Dead-letter recovery's settings: off when nothing is set, every problem reported at start-up otherwise.</summary>
public sealed class DeadLetterRecoveryOptionsValidatorTests
{
    private static readonly DeadLetterRecoveryOptionsValidator Validator = new();

    [Fact]
    public void Validate_NothingConfigured_IsOffAndValid()
    {
        var options = new DeadLetterRecoveryOptions();

        Assert.False(options.IsConfigured);
        Assert.True(Validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_ConnectionStringAndContainer_IsValid()
    {
        Assert.True(Validator.Validate(null, new DeadLetterRecoveryOptions { ConnectionString = "UseDevelopmentStorage=true", ContainerName = "eventgrid-deadletter" }).Succeeded);
        Assert.True(Validator.Validate(null, new DeadLetterRecoveryOptions { AccountUrl = new Uri("https://contoso.blob.core.windows.net"), ContainerName = "dl" + "q" }).Succeeded);
    }

    [Fact]
    public void Validate_PartlyConfigured_ReportsEveryProblem()
    {
        var result = Validator.Validate(null, new DeadLetterRecoveryOptions
        {
            ConnectionString = "UseDevelopmentStorage=true",
            AccountUrl = new Uri("ftp://contoso"),
            ContainerName = "Bad_Name",
            PollInterval = TimeSpan.FromMinutes(10),
            LeaseDuration = TimeSpan.FromMinutes(5),
        });

        Assert.True(result.Failed);
        Assert.Equal(4, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("exactly one of ConnectionString and AccountUrl", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("AccountUrl must be an absolute https URL", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("'Bad_Name' is not a container name", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("LeaseDuration must be longer than PollInterval", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ContainerWithoutAccount_AsksForOne()
    {
        var result = Validator.Validate(null, new DeadLetterRecoveryOptions { ContainerName = "eventgrid-deadletter" });

        Assert.Contains(result.Failures!, f => f.Contains("exactly one of ConnectionString and AccountUrl", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_SecretNeverInTheMessage()
    {
        var result = Validator.Validate(null, new DeadLetterRecoveryOptions { ConnectionString = "AccountKey=s3cr3t", AccountUrl = new Uri("https://a.blob.core.windows.net"), ContainerName = "dl-x" });

        Assert.DoesNotContain(result.Failures!, f => f.Contains("s3cr3t", StringComparison.Ordinal));
    }

    /// <summary>A connection string the storage client would refuse is a start-up error naming the setting, never its value.</summary>
    [Theory]
    [InlineData("not a connection string")]
    [InlineData("AccountName=contoso;AccountKey=KEYMARKER")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=KEYMARKER=;EndpointSuffix=core.windows.net;Bogus")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=contoso")]
    [InlineData("BlobEndpoint=not-a-url;SharedAccessSignature=sv=2024&sig=KEYMARKER")]
    public void Validate_MalformedConnectionString_NamesTheSetting_NotTheValue(string connectionString)
    {
        var result = Validator.Validate(null, new DeadLetterRecoveryOptions { ConnectionString = connectionString, ContainerName = "eventgrid-deadletter" });

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("CallVault:Recovery:DeadLetter:ConnectionString", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("KEYMARKER", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(connectionString, failure, StringComparison.Ordinal);
    }

    /// <summary>Well-formed connection strings of every kind the storage client takes.</summary>
    [Theory]
    [InlineData("UseDevelopmentStorage=true")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=a2V5a2V5;EndpointSuffix=core.windows.net")]
    [InlineData("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")]
    [InlineData("BlobEndpoint=https://contoso.blob.core.windows.net;SharedAccessSignature=sv=2024-08-04&ss=b&sig=abc%3D")]
    public void Validate_WellFormedConnectionString_IsValid(string connectionString)
    {
        Assert.True(Validator.Validate(null, new DeadLetterRecoveryOptions { ConnectionString = connectionString, ContainerName = "eventgrid-deadletter" }).Succeeded);
    }

    /// <summary>The account URL is https, or http only on loopback (Azurite): a key-less sign-in token must not travel in clear.</summary>
    [Theory]
    [InlineData("http://contoso.blob.core.windows.net", false)]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1", true)]
    [InlineData("http://localhost:10000/devstoreaccount1", true)]
    [InlineData("https://contoso.blob.core.windows.net", true)]
    public void Validate_AccountUrl_HttpsOrLoopbackHttp(string url, bool valid)
    {
        var result = Validator.Validate(null, new DeadLetterRecoveryOptions { AccountUrl = new Uri(url), ContainerName = "eventgrid-deadletter" });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("CallVault:Recovery:DeadLetter:AccountUrl", Assert.Single(result.Failures!), StringComparison.Ordinal);
        }
    }
}
