using System.Diagnostics.CodeAnalysis;

namespace CallVault.Acs;

/// <summary>
/// An Azure Communication Services connection string: <c>endpoint=https://contoso.communication.azure.com/;accesskey=BASE64</c>.
/// </summary>
/// <remarks>
/// Keys may come in any order and any letter case; surrounding white space and a trailing <c>;</c> are ignored.
/// The access key is held as the decoded HMAC key bytes and never appears in <see cref="ToString"/> or in an error.
/// </remarks>
public sealed class AcsConnectionString
{
    private const string EndpointKey = "endpoint";
    private const string AccessKeyKey = "accesskey";

    private readonly byte[] _accessKey;

    private AcsConnectionString(Uri endpoint, byte[] accessKey)
    {
        Endpoint = endpoint;
        _accessKey = accessKey;
    }

    /// <summary>The ACS resource endpoint, always ending with <c>/</c>. Its authority is the signing identity.</summary>
    public Uri Endpoint { get; }

    /// <summary>The decoded access key: the HMAC-SHA256 key bytes. A copy, so that callers cannot change the original.</summary>
    public ReadOnlySpan<byte> AccessKey => _accessKey;

    /// <summary>Creates a connection string from its parts, as the emulator does when it prints one.</summary>
    /// <param name="endpoint">An absolute http or https URI.</param>
    /// <param name="accessKey">The key bytes; at least one byte.</param>
    public static AcsConnectionString Create(Uri endpoint, ReadOnlySpan<byte> accessKey)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (accessKey.IsEmpty)
        {
            throw new ArgumentException("The access key must not be empty.", nameof(accessKey));
        }

        return new AcsConnectionString(NormalizeEndpoint(endpoint), accessKey.ToArray());
    }

    /// <summary>Parses a connection string.</summary>
    /// <exception cref="AcsConnectionStringException">A part is missing or malformed; the message names it.</exception>
    public static AcsConnectionString Parse(string? connectionString)
    {
        if (TryParse(connectionString, out var result, out var error))
        {
            return result;
        }

        throw new AcsConnectionStringException(error);
    }

    /// <summary>Parses a connection string without throwing.</summary>
    /// <param name="connectionString">The text to parse.</param>
    /// <param name="result">The parsed value, when the method returns <see langword="true"/>.</param>
    /// <param name="error">What is wrong, when the method returns <see langword="false"/>. Never contains the key.</param>
    public static bool TryParse(
        string? connectionString,
        [NotNullWhen(true)] out AcsConnectionString? result,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error = "The ACS connection string is empty. Expected 'endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>'.";
            return false;
        }

        string? endpointText = null;
        string? keyText = null;
        var parts = connectionString.Split(';');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i].Trim();
            if (part.Length == 0)
            {
                continue;
            }

            // Split at the first '=' only: a base64 key ends with '=' padding.
            var separator = part.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                // Name the position only: the part may be a pasted key.
                error = $"Part {i + 1} of the ACS connection string is not of the form 'name=value'.";
                return false;
            }

            var name = part[..separator].Trim();
            var value = part[(separator + 1)..].Trim();
            if (name.Equals(EndpointKey, StringComparison.OrdinalIgnoreCase))
            {
                endpointText = value;
            }
            else if (name.Equals(AccessKeyKey, StringComparison.OrdinalIgnoreCase))
            {
                keyText = value;
            }
        }

        if (string.IsNullOrEmpty(endpointText))
        {
            error = "The ACS connection string has no 'endpoint=' part.";
            return false;
        }

        if (string.IsNullOrEmpty(keyText))
        {
            error = "The ACS connection string has no 'accesskey=' part.";
            return false;
        }

        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
            || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp)
            || string.IsNullOrEmpty(endpoint.Host))
        {
            error = $"The 'endpoint' of the ACS connection string is not an absolute http(s) URL: '{endpointText}'.";
            return false;
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyText);
        }
        catch (FormatException)
        {
            error = $"The 'accesskey' of the ACS connection string is not valid base64 ({keyText.Length} characters). Copy it again from the resource's Keys page.";
            return false;
        }

        if (key.Length == 0)
        {
            error = "The 'accesskey' of the ACS connection string decodes to zero bytes.";
            return false;
        }

        result = new AcsConnectionString(NormalizeEndpoint(endpoint), key);
        error = null;
        return true;
    }

    /// <summary>The connection string in its canonical form, key included. Only for handing to another process.</summary>
    public string ToSecretString() => $"{EndpointKey}={Endpoint.AbsoluteUri};{AccessKeyKey}={Convert.ToBase64String(_accessKey)}";

    /// <summary>The endpoint with the key redacted, safe for logs.</summary>
    public override string ToString() => $"{EndpointKey}={Endpoint.AbsoluteUri};{AccessKeyKey}=***";

    private static Uri NormalizeEndpoint(Uri endpoint)
    {
        var builder = new UriBuilder(endpoint) { Query = string.Empty, Fragment = string.Empty };
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }
}
