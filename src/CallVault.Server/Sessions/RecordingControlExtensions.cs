using CallVault.Acs;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Sessions;

/// <summary>Recording control's composition: its options, the Call Automation client, callback authentication and the files-missing monitor.</summary>
internal static class RecordingControlExtensions
{
    public static WebApplicationBuilder AddRecordingControl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RecordingControlOptions>().BindConfiguration(RecordingControlOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecordingControlOptions>, RecordingControlOptionsAttributeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecordingControlOptions>, RecordingControlOptionsValidator>());
        services.AddCallRecordingClient();
        services.AddCallbackAuthentication();
        services.AddSingleton<SessionMetrics>();
        services.AddHostedService<FilesMissingSampler>();
        return builder;
    }
}
