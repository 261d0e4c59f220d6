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
        Assert.Contains(result.Failures!, f => f.Contains("AccountUrl must be an absolute http(s) URL", StringComparison.Ordinal));
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
}
