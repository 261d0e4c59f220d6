// CallVault dashboard, Activity charts: recordings stored per hour and per day, backlog and the oldest pending chunk's
// age, bytes per second and failures, drawn with uPlot (lib/uplot, served by CallVault itself) from the service's
// aggregates (/api/stats/timeline), never from the recordings list. Kept apart from app.js, inside one function so that
// its names never meet the other scripts'; it reads the aggregates once a minute.
(() => {
  "use strict";

  const colors = { stored: "#2f6fdb", day: "#1f7a3a", backlog: "#a66b00", age: "#7a3fb8", bytes: "#0f8b8d", failed: "#c62828" };
  const charts = new Map();

  const bytesLabel = n => n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} KiB` : `${Math.round(n)} B`;
  const ageLabel = s => s === null || s === undefined ? "–" : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`;

  // What each chart shows: which timeline, which series (a value read from each point), drawn as bars or lines.
  const definitions = [
    { id: "chart-stored-hourly", bucket: "hour", title: "Recordings stored per hour", series: [{ label: "Recordings", value: p => p.recordingsStored, color: colors.stored, bars: true }] },
    { id: "chart-stored-daily", bucket: "day", title: "Recordings stored per day (UTC)", series: [{ label: "Recordings", value: p => p.recordingsStored, color: colors.day, bars: true }] },
    {
      id: "chart-backlog", bucket: "hour", title: "Backlog and oldest pending age",
      series: [
        { label: "Chunks owed", value: p => p.backlog, color: colors.backlog, scale: "count" },
        { label: "Oldest pending", value: p => p.oldestPendingSeconds, color: colors.age, scale: "age", format: ageLabel },
      ],
    },
    { id: "chart-bytes", bucket: "hour", title: "Bytes stored per second", series: [{ label: "Bytes/s", value: p => p.bytesPerSecond, color: colors.bytes, format: n => `${bytesLabel(n)}/s`, fill: true }] },
    { id: "chart-failures", bucket: "hour", title: "Failures per hour", series: [{ label: "Chunks given up on", value: p => p.failed, color: colors.failed, bars: true }] },
  ];

  function options(definition, width) {
    const bars = globalThis.uPlot.paths.bars({ size: [0.7, 40] });
    const scales = { x: { time: true } };
    const axes = [{ stroke: "#5a6270", grid: { stroke: "#eef0f3" } }];
    const used = [...new Set(definition.series.map(s => s.scale || "y"))];
    used.forEach((scale, i) => {
      scales[scale] = { range: (u, min, max) => [0, Math.max(1, max * 1.1)] };
      const first = definition.series.find(s => (s.scale || "y") === scale);
      axes.push({
        scale, side: i === 0 ? 3 : 1, stroke: first.color, grid: { show: i === 0, stroke: "#eef0f3" }, size: first.format ? 76 : 48,
        values: (u, values) => values.map(v => first.format ? first.format(v) : Number.isInteger(v) ? String(v) : ""),
      });
    });
    return {
      width, height: 170, scales, axes,
      legend: { show: true, live: false },
      cursor: { points: { show: false } },
      series: [
        { value: (u, v) => v === null ? "–" : new Date(v * 1000).toLocaleString() },
        ...definition.series.map(s => ({
          label: s.label, scale: s.scale || "y", stroke: s.color, width: s.bars ? 1 : 2,
          fill: s.bars || s.fill ? `${s.color}55` : undefined, paths: s.bars ? bars : undefined, points: { show: false },
          value: (u, v) => v === null || v === undefined ? "–" : s.format ? s.format(v) : String(v),
        })),
      ],
    };
  }

  function draw(definition, timeline) {
    const box = document.getElementById(definition.id);
    const data = [timeline.points.map(p => Date.parse(p.start) / 1000), ...definition.series.map(s => timeline.points.map(s.value))];
    // Numbers a test (or a curious operator) can check against the API: points drawn and each series' sum.
    box.dataset.points = String(timeline.points.length);
    box.dataset.totals = definition.series.map((s, i) => data[i + 1].reduce((sum, v) => sum + (v || 0), 0)).join(",");
    const existing = charts.get(definition.id);
    if (existing) {
      existing.setData(data);
      return;
    }

    const plot = box.querySelector(".plot");
    charts.set(definition.id, new globalThis.uPlot(options(definition, Math.max(240, plot.clientWidth)), data, plot));
  }

  async function timeline(bucket) {
    const response = await fetch(`/api/stats/timeline?bucket=${bucket}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    // Signed out (or no reader role): the sign-in view is shown by app.js; nothing to draw.
    if (response.status === 401 || response.status === 403) return null;
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  async function refresh() {
    const message = document.getElementById("charts-message");
    if (!document.getElementById("charts") || !globalThis.uPlot) return;
    try {
      const [hourly, daily] = await Promise.all([timeline("hour"), timeline("day")]);
      if (!hourly || !daily) return;
      for (const definition of definitions) draw(definition, definition.bucket === "day" ? daily : hourly);
      const last = hourly.points[hourly.points.length - 1];
      document.getElementById("charts-summary").textContent =
        `Now: ${last.backlog ?? 0} chunk${last.backlog === 1 ? "" : "s"} owed, oldest waiting ${ageLabel(last.oldestPendingSeconds)}; `
        + `last 48 h: ${hourly.points.reduce((n, p) => n + p.recordingsStored, 0)} recordings, ${bytesLabel(hourly.points.reduce((n, p) => n + p.bytesStored, 0))} stored, `
        + `${hourly.points.reduce((n, p) => n + p.failed, 0)} chunks given up on. Service clock ${new Date(hourly.now).toLocaleString()}.`;
      document.getElementById("charts").dataset.refreshedAt = hourly.now;
      message.textContent = "";
    } catch (error) {
      message.textContent = `Charts: ${error.message}`;
    }
  }

  function build() {
    const grid = document.getElementById("charts");
    if (!grid) return;
    grid.replaceChildren(...definitions.map(d => {
      const card = document.createElement("figure");
      card.className = "chart";
      card.id = d.id;
      const caption = document.createElement("figcaption");
      caption.textContent = d.title;
      const plot = document.createElement("div");
      plot.className = "plot";
      card.append(caption, plot);
      return card;
    }));
  }

  // Charts are sized to their card; a card drawn while hidden (or a new window size) is redrawn at its width once shown.
  function fit() {
    for (const [id, chart] of charts) {
      const width = document.querySelector(`#${id} .plot`).clientWidth;
      if (width > 0 && Math.abs(width - chart.width) > 2) chart.setSize({ width, height: 170 });
    }
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(fit, 200); });

  // Hooks for app.js: refresh after signing in, fit when the list is shown again.
  globalThis.CallVaultCharts = { refresh, fit };
  build();
  refresh();
  setInterval(refresh, 60000); // aggregates by hour and day: once a minute is fresh enough and costs the service little
})();
