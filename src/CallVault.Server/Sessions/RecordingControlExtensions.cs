using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Sessions;

/// <summary>Recording control's composition: its options, callback authentication and the files-missing monitor.</summary>
/// <remarks>The Call Automation client itself is registered beside the download client, in <c>AddCallVault</c>.</remarks>
internal static class RecordingControlExtensions
{
    public static WebApplicationBuilder AddRecordingControl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RecordingControlOptions>().BindConfiguration(RecordingControlOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecordingControlOptions>, RecordingControlOptionsAttributeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecordingControlOptions>, RecordingControlOptionsValidator>());
        services.AddCallbackAuthentication();
        services.AddSingleton<SessionMetrics>();
        services.AddHostedService<FilesMissingSampler>();
        return builder;
    }
}
