using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;

namespace CallVault.Diagnostics;

/// <summary>
/// A log scope's state: named values that structured sinks (the JSON console, OTLP) read as key/value pairs, and that
/// read as <c>key=value key2=value2</c> where a sink prints the scope as text (the simple console). A value holding a
/// space, a quote or an equals sign is quoted, so the text splits back into the same pairs.
/// </summary>
public sealed class LogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(" \"=\t\r\n");
    private readonly KeyValuePair<string, object?>[] _values;
    private string? _text;

    /// <summary>Creates the scope from its values, in the order they are printed.</summary>
    public LogScope(params KeyValuePair<string, object?>[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = values;
    }

    /// <inheritdoc />
    public int Count => _values.Length;

    /// <inheritdoc />
    public KeyValuePair<string, object?> this[int index] => _values[index];

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The values as <c>key=value</c>, separated by spaces; a missing value prints as nothing after the <c>=</c>.</summary>
    public override string ToString() => _text ??= Format(_values);

    private static string Format(KeyValuePair<string, object?>[] values)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in values)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(key).Append('=');
            var printed = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
            if (printed.AsSpan().ContainsAny(NeedsQuotes))
            {
                text.Append('"').Append(printed.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                text.Append(printed);
            }
        }

        return text.ToString();
    }
}
