using CallVault.Acs.Errors;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace CallVault.Acs.Internal;

/// <summary>Builds the Polly pipeline that retries ACS requests and resumed downloads.</summary>
internal static class AcsRetryPipeline
{
    public static ResiliencePipeline Create(AcsRetryOptions options, TimeProvider timeProvider, ILogger logger)
    {
        var maxDelay = options.MaxDelay;
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts == 0 ? 1 : options.MaxRetryAttempts,
                ShouldHandle = args => ValueTask.FromResult(
                    options.MaxRetryAttempts > 0 && args.Outcome.Exception is { } ex && AcsTransientErrors.IsTransient(ex)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = maxDelay,
                DelayGenerator = args => ValueTask.FromResult(
                    RetryAfterOf(args.Outcome.Exception) is { } retryAfter
                        ? (TimeSpan?)(retryAfter < maxDelay ? retryAfter : maxDelay)
                        : null),
                OnRetry = args =>
                {
                    Log.Retrying(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static TimeSpan? RetryAfterOf(Exception? exception) => exception switch
    {
        AcsRequestException request => request.RetryAfter,
        CallAutomation.CallAutomationException callAutomation => callAutomation.RetryAfter,
        _ => null,
    };
}
