using System.ComponentModel;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.Operations;

/// <summary>
/// A real service that has done a bit of everything a chart or an alert looks at: a chunk dead-lettered (a failed
/// attempt), a recording stored (bytes, durations), and an event received with <c>ExpectEventWithin</c> set. Its
/// <c>/metrics</c> is read once every instrument the files use has a sample.
/// </summary>
public sealed class ServiceWithTraffic : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;

    /// <summary>The text of <c>/metrics</c>.</summary>
    public string Metrics { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        await using var server = await IsolatedService.StartAsync(_emulator, s => s["CallVault:Webhook:ExpectEventWithin"] = "01:00:00");
        (await admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();

        // The metadata answers 404 once: the first recording's chunk looks gone and is dead-lettered at once.
        (await admin.PostAsJsonAsync("faults", new { target = "Metadata", fault = new { type = "Status", status = 404 } })).EnsureSuccessStatusCode();
        await server.WaitForRecordingAsync(await RecordAsync(admin), "failed");
        await server.WaitForRecordingAsync(await RecordAsync(admin));

        // A recording deleted by hand: the deletion counter has a sample only once something was deleted.
        var deletedCall = await RecordAsync(admin);
        await server.WaitForRecordingAsync(deletedCall);
        var deleted = (await server.Client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={deletedCall}"))![0].GetProperty("key").GetString();
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, $"api/recordings/{deleted}"))
        {
            delete.Headers.Add("X-CallVault-Request", "1");
            using var response = await server.Client.SendAsync(delete);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // The gauges read from the job database follow it within a few seconds. A name still missing after the wait
        // is reported by the test that needs it, with the names that are there.
        string[] needed = ["callvault_events_last_received_seconds", "callvault_downloads_failed_total", "callvault_chunks_stored_total", "callvault_download_duration_seconds_bucket", "callvault_retention_deleted_total", "callvault_holds_active"];
        await WebhookRecorder.WaitUntilAsync(
            async ct =>
            {
                Metrics = await server.Client.GetStringAsync("metrics", ct);
                return needed.All(PrometheusExposition.Names(Metrics).Contains);
            },
            TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    private static async Task<string> RecordAsync(HttpClient admin)
    {
        using var response = await admin.PostAsJsonAsync("recordings", new { durationSeconds = 1 });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("callId").GetString()!;
    }
}

/// <summary>
/// <c>deploy/prometheus/alerts.yml</c> and <c>deploy/grafana/callvault.json</c> use only metric names the service
/// really exports (names taken from every rule's and every panel's PromQL), and the dashboard is importable.
/// </summary>
public sealed partial class DeployFilesTests(ServiceWithTraffic service) : IClassFixture<ServiceWithTraffic>
{
    private static readonly string Deploy = Path.Combine(RepositoryPaths.Root, "deploy");
    private static readonly string AlertRules = Path.Combine(Deploy, "prometheus", "alerts.yml");
    private static readonly string Dashboard = Path.Combine(Deploy, "grafana", "callvault.json");

    [GeneratedRegex("callvault_[a-z0-9_]+")]
    private static partial Regex MetricName();

    private static IEnumerable<string> NamesIn(IEnumerable<string> expressions) =>
        expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// The <c>expr</c> of every rule: the text after <c>expr:</c>, or for a block (<c>|</c>, <c>&gt;</c>) the lines
    /// indented deeper than the key. Enough for the rules file's own layout; the count is checked against the rules.
    /// </summary>
    private static List<string> RuleExpressions(string yaml)
    {
        var lines = yaml.Split('\n');
        var expressions = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith("expr:", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = lines[i].Length - trimmed.Length;
            var rest = trimmed["expr:".Length..].Trim();
            if (!rest.StartsWith('|') && !rest.StartsWith('>'))
            {
                expressions.Add(rest);
                continue;
            }

            var block = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || lines[i + 1].Length - lines[i + 1].TrimStart().Length > indent))
            {
                block.Add(lines[++i]);
            }

            expressions.Add(string.Join('\n', block));
        }

        return expressions;
    }

    private static void AssertAllExported(string file, IEnumerable<string> names, string metrics)
    {
        var exported = PrometheusExposition.Names(metrics);
        var missing = names.Where(n => !exported.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"{file} uses metrics the service does not export: {string.Join(", ", missing)}. It exports: {string.Join(", ", exported.Where(n => n.StartsWith("callvault_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public void AlertRules_UseOnlyExportedMetrics()
    {
        var yaml = File.ReadAllText(AlertRules);
        var expressions = RuleExpressions(yaml);

        Assert.Equal(Regex.Count(yaml, @"^\s*- alert:", RegexOptions.Multiline), expressions.Count);
        var names = NamesIn(expressions).ToList();
        Assert.Contains("callvault_events_last_received_seconds", names);
        Assert.Contains("callvault_storage_free_bytes", names);
        AssertAllExported("alerts.yml", names, service.Metrics);
    }

    [Fact]
    public void GrafanaDashboard_IsImportableAndUsesOnlyExportedMetrics()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Dashboard));
        var root = document.RootElement;

        var input = Assert.Single(root.GetProperty("__inputs").EnumerateArray());
        Assert.Equal("DS_PROMETHEUS", input.GetProperty("name").GetString());
        Assert.Equal("prometheus", input.GetProperty("pluginId").GetString());
        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var expressions = new List<string>();
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal("${DS_PROMETHEUS}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"Panel '{title}' has no query.");
            foreach (var target in targets)
            {
                var expression = target.GetProperty("expr").GetString();
                Assert.False(string.IsNullOrWhiteSpace(expression), $"Panel '{title}' has an empty query.");
                Assert.Equal("${DS_PROMETHEUS}", target.GetProperty("datasource").GetProperty("uid").GetString());
                expressions.Add(expression!);
            }
        }

        AssertAllExported("callvault.json", NamesIn(expressions), service.Metrics);
    }
}

/// <summary>The alert rules parse and pass their unit tests (<c>promtool</c>, from Debian's prometheus package).</summary>
public sealed class AlertRulesPromtoolTests
{
    private static readonly string Rules = Path.Combine(RepositoryPaths.Root, "deploy", "prometheus");

    [Fact]
    public async Task AlertRules_PassPromtoolCheck()
    {
        var result = await PromtoolAsync("check", "rules", Path.Combine(Rules, "alerts.yml"));

        Assert.True(result.ExitCode == 0, $"promtool check rules failed:\n{result.Output}\n{result.Error}");
        Assert.Contains("SUCCESS", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlertRules_PassTheirUnitTests()
    {
        var result = await PromtoolAsync("test", "rules", Path.Combine(Rules, "alerts.test.yml"));

        Assert.True(result.ExitCode == 0, $"promtool test rules failed:\n{result.Output}\n{result.Error}");
        Assert.Contains("SUCCESS", result.Output, StringComparison.Ordinal);
    }

    private static async Task<ChildProcessResult> PromtoolAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("promtool") { WorkingDirectory = Rules };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            return await ChildProcess.RunAsync(start, input: null, TimeSpan.FromMinutes(1));
        }
        catch (FileNotFoundException missing) when (missing.InnerException is Win32Exception)
        {
            throw new InvalidOperationException("promtool is missing. ./eng/test.sh installs it with Debian's prometheus package (apt-get install prometheus).", missing);
        }
    }
}
