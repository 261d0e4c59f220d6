using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;

namespace CallVault.Acs.Internal;

/// <summary>Which failures are worth another attempt.</summary>
internal static class AcsTransientErrors
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        AcsRequestException request => request.IsTransient,
        AcsContentException content => content.IsTransient,
        AcsStallTimeoutException => true,
        CallAutomation.CallAutomationException callAutomation => callAutomation.IsTransient,
        TimeoutException => true,
        HttpRequestException => true,
        OperationCanceledException => false,
        InvalidDataException => false,
        IOException => true,
        _ => false,
    };
}
