using System.Globalization;

namespace CallVault.Server.Tests.Operations;

/// <summary>One sample of the Prometheus text format: <c>name{labels} value</c>.</summary>
internal sealed record PrometheusSample(string Name, string Labels, double Value);

/// <summary>Reads what <c>/metrics</c> answers in the Prometheus text format.</summary>
internal static class PrometheusExposition
{
    /// <summary>Every sample line (comments left out).</summary>
    public static IReadOnlyList<PrometheusSample> Samples(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var nameEnd = brace >= 0 && brace < space ? brace : space;
            var labelsEnd = brace >= 0 && brace < space ? line.IndexOf('}', brace) : -1;
            var rest = line[((labelsEnd >= 0 ? labelsEnd : nameEnd) + 1)..].Trim().Split(' ')[0];
            samples.Add(new PrometheusSample(
                line[..nameEnd],
                labelsEnd >= 0 ? line[(brace + 1)..labelsEnd] : string.Empty,
                double.Parse(rest, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>The metric names the text mentions: each sample's name and each name in a HELP or TYPE line.</summary>
    public static IReadOnlySet<string> Names(string text)
    {
        var names = new HashSet<string>(Samples(text).Select(s => s.Name), StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                names.Add(line.Split(' ')[2]);
            }
        }

        return names;
    }

    /// <summary>The value of the only sample named <paramref name="name"/>, or null when there is none.</summary>
    public static double? Single(string text, string name) =>
        Samples(text).Where(s => s.Name == name).Select(s => (double?)s.Value).SingleOrDefault();
}
