using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;

namespace CallVault.Diagnostics;

/// <summary>
/// A log scope's state: named values that structured sinks (the JSON console, OTLP) read as key/value pairs, and that
/// read as <c>key=value key2=value2</c> where a sink prints the scope as text (the simple console). A value holding a
/// space, a quote, a backslash, an equals sign or a control character is quoted, control characters and line
/// separators escaped (<c>\n</c>, <c>\u001b</c>), so the text splits back into the same pairs and stays on one line.
/// </summary>
public sealed class LogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(
        " \"=\\\u2028\u2029" + string.Concat(Enumerable.Range(0, 0xA0).Select(c => (char)c).Where(char.IsControl)));
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
                AppendQuoted(text, printed);
            }
            else
            {
                text.Append(printed);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Appends the value in quotes with every control character escaped: a value (a call id from a webhook, say) holding
    /// a line break would otherwise start a forged line on the one-line-per-entry console.
    /// </summary>
    private static void AppendQuoted(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\r': text.Append("\\r"); break;
                case '\n': text.Append("\\n"); break;
                case '\t': text.Append("\\t"); break;
                case var control when char.IsControl(control) || control is '\u2028' or '\u2029':
                    text.Append("\\u").Append(((int)control).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default: text.Append(c); break;
            }
        }

        text.Append('"');
    }
}
