using System.Net;
using BenchmarkDotNet.Attributes;
using CallVault.Acs;
using CallVault.Acs.Authentication;
using Microsoft.Extensions.Options;

namespace CallVault.Bench.Micro;

/// <summary>
/// The cost of signing one download request with HMAC-SHA256, through the same handler the service uses: what every
/// ranged part and every retry pays before it leaves the process.
/// </summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private static readonly Uri Content = new("https://us-storage.asm.skype.com/v1/objects/0-eus-d1-0123456789abcdef0123456789abcdef/content/audio");
    private HttpMessageInvoker _invoker = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new AcsClientOptions { ConnectionString = $"endpoint=https://contoso.communication.azure.com/;accesskey={Convert.ToBase64String(new byte[32])}" };
        var handler = new AcsHmacSigningHandler(new StaticOptions(options), TimeProvider.System) { InnerHandler = new AnswerOk() };
        _invoker = new HttpMessageInvoker(handler);
    }

    [GlobalCleanup]
    public void Cleanup() => _invoker.Dispose();

    /// <summary>A GET of a media object on the storage host, signed for the resource endpoint.</summary>
    [Benchmark]
    public async Task<HttpStatusCode> SignRangedGet()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Content);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(8_388_608, 16_777_215);
        using var response = await _invoker.SendAsync(request, CancellationToken.None);
        return response.StatusCode;
    }

    private sealed class AnswerOk : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
    }

    private sealed class StaticOptions(AcsClientOptions value) : IOptionsMonitor<AcsClientOptions>
    {
        public AcsClientOptions CurrentValue => value;

        public AcsClientOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AcsClientOptions, string?> listener) => null;
    }
}
