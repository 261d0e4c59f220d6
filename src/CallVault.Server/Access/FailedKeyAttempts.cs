using System.Net;

namespace CallVault.Server.Access;

/// <summary>
/// Limits guessing keys through the <c>X-Api-Key</c> header: after <see cref="MaxFailures"/> unknown keys from one
/// client address (per /64 for IPv6) within <see cref="Window"/>, every request from it that carries the header is
/// answered 429 until that window has passed, even with a right key (else a guess that hits would still tell).
/// The address is the client's after trusted forwarded-header processing.
/// </summary>
internal sealed class FailedKeyAttempts(TimeProvider timeProvider)
{
    /// <summary>Unknown keys a client address may present within <see cref="Window"/>: 20.</summary>
    public const int MaxFailures = 20;

    /// <summary>The window in which failures count, from the first one: 5 minutes.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    /// <summary>Addresses tracked at most; beyond it, expired windows are dropped first, then the oldest ones.</summary>
    private const int MaxTracked = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset Start, int Failures)> _windows = new(StringComparer.Ordinal);

    /// <summary>How long <paramref name="address"/> must wait before presenting a key again; null when it may now.</summary>
    public TimeSpan? RetryAfter(IPAddress? address)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            var partition = ClientPartition.Of(address);
            if (!_windows.TryGetValue(partition, out var window))
            {
                return null;
            }

            var ends = window.Start + Window;
            if (now >= ends)
            {
                _windows.Remove(partition);
                return null;
            }

            return window.Failures >= MaxFailures ? ends - now : null;
        }
    }

    /// <summary>Counts an unknown key presented from <paramref name="address"/>.</summary>
    public void Failed(IPAddress? address)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            var partition = ClientPartition.Of(address);
            if (_windows.TryGetValue(partition, out var window) && now < window.Start + Window)
            {
                _windows[partition] = (window.Start, window.Failures + 1);
                return;
            }

            if (_windows.Count >= MaxTracked)
            {
                Prune(now);
            }

            _windows[partition] = (now, 1);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var expired in _windows.Where(w => now >= w.Value.Start + Window).Select(w => w.Key).ToList())
        {
            _windows.Remove(expired);
        }

        // Still full: an attacker spreading over many addresses; forget the oldest windows rather than grow without bound.
        if (_windows.Count >= MaxTracked)
        {
            foreach (var oldest in _windows.OrderBy(w => w.Value.Start).Take(_windows.Count - (MaxTracked / 2)).Select(w => w.Key).ToList())
            {
                _windows.Remove(oldest);
            }
        }
    }
}

/// <summary>Refuses, with 429, a request carrying <c>X-Api-Key</c> from an address that has guessed too many keys.</summary>
internal sealed class FailedKeyAttemptsMiddleware(RequestDelegate next, FailedKeyAttempts attempts)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName)
            && attempts.RetryAfter(context.Connection.RemoteIpAddress) is { } wait)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Results.Problem(
                "Too many unknown API keys from this address; try again later.",
                statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(context);
            return;
        }

        await next(context);
    }
}

/// <summary>The unit a client is limited by: its address, or for IPv6 its /64 (a client gets a whole one).</summary>
internal static class ClientPartition
{
    public static string Of(IPAddress? address) => address switch
    {
        null => "(none)",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6, IsIPv4MappedToIPv6: false } => Prefix64(address),
        _ => address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : address.ToString(),
    };

    private static string Prefix64(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return $"{new IPAddress(bytes)}/64";
    }
}
