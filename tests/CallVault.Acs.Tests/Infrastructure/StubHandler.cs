using System.Net;

namespace CallVault.Acs.Tests.Infrastructure;

/// <summary>An innermost handler that records each request and answers with a delegate, so no HttpClient is mocked.</summary>
internal sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage>? respond = null) : HttpMessageHandler
{
    public List<HttpRequestMessage> Requests { get; } = [];

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add(request);
        var response = respond?.Invoke(request) ?? new HttpResponseMessage(HttpStatusCode.OK);
        response.RequestMessage ??= request;
        return Task.FromResult(response);
    }
}
