// CallVault dashboard, Reconciliation view: a daily summary of what happened to every chunk of the last two days
// (lost first), and the lost and pending chunks by name. Kept apart from app.js, inside one function so that its names
// never meet the other scripts'; it polls every ten seconds (the report reads a whole period, so not every two).
(() => {
  "use strict";

  const states = ["lost", "failed", "pending", "exported", "recovered", "stored"];

  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter(c => c !== null && c !== undefined).map(c => typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  };
  const time = iso => iso ? new Date(iso).toLocaleString() : "–";
  const left = seconds => seconds === null || seconds === undefined ? "–"
    : seconds >= 3600 ? `${Math.floor(seconds / 3600)} h ${Math.floor(seconds % 3600 / 60)} min` : `${Math.floor(seconds / 60)} min`;

  function showDays(report) {
    const body = document.querySelector("#reconciliation-days tbody");
    const rows = report.days.map(day => {
      const counts = Object.fromEntries(day.totals.map(t => [t.state, t.chunks]));
      return el("tr", { className: counts.lost ? "day has-lost" : "day" },
        el("td", {}, day.day), ...states.map(s => el("td", { className: `count-${s}` }, String(counts[s] || 0))));
    });
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: states.length + 1 }, "No recording in the last two days."))]));
  }

  // The chunks that need a look, worst first: lost (gone from ACS), failed, then pending with the time ACS still keeps them.
  function showAttention(report) {
    const rows = report.recordings.flatMap(r => r.chunks
      .filter(c => c.state === "lost" || c.state === "failed" || c.state === "pending")
      .map(c => el("tr", { className: `reconciliation-chunk state-${c.state}` },
        el("td", { className: "state" }, c.state), el("td", {}, el("code", {}, r.recordingId || r.key)), el("td", {}, String(c.index)),
        el("td", {}, time(c.eventTime)), el("td", {}, left(c.timeLeftSeconds)), el("td", {}, c.viaDeadLetter ? "dead-letter blob" : "webhook"),
        el("td", {}, c.reason || ""))));
    const order = row => states.indexOf(row.firstChild.textContent);
    rows.sort((a, b) => order(a) - order(b));
    const body = document.querySelector("#reconciliation-chunks tbody");
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 7 }, "Nothing lost, failed or pending."))]));
  }

  async function refresh() {
    const message = document.getElementById("reconciliation-message");
    try {
      const response = await fetch("/api/reconciliation", { headers: { Accept: "application/json" }, credentials: "same-origin" });
      // Signed out (or no reader role): the sign-in view is shown by app.js; nothing to say here.
      if (response.status === 401 || response.status === 403) return;
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const report = await response.json();
      showDays(report);
      showAttention(report);
      message.textContent = "";
    } catch (error) {
      message.textContent = `Reconciliation: ${error.message}`;
    }
  }

  refresh();
  setInterval(refresh, 60000); // a summary by day: once a minute is fresh enough and costs the service little
})();
