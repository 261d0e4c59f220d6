// CallVault dashboard, Sessions view: recordings started through Call Automation, their live state, a timeline each,
// Pause/Resume/Stop for an operator, and the "files missing" alarm. Kept apart from app.js (and inside one function,
// so that its names never meet app.js's in the page's shared global scope); it polls every two seconds like app.js.
(() => {
  "use strict";

  // Older dashboards kept a key in local storage; sent as X-Api-Key it would outlive signing out. Forget it.
  try { localStorage.removeItem("callvault-api-key"); } catch { /* storage disabled */ }

  // Every call sends the session cookie (same origin) and nothing else that authenticates, so signing out signs
  // this view out too. State changes also carry X-CallVault-Request, which a cross-site form cannot send.
  async function call(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (options.method && options.method !== "GET") headers["X-CallVault-Request"] = "1";
    const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
    if (!response.ok) {
      let detail = "";
      try { detail = (await response.json()).detail || ""; } catch { /* not a problem document */ }
      const error = new Error(`${response.status} ${response.statusText}${detail ? `: ${detail}` : ""}`);
      error.status = response.status;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter(c => c !== null && c !== undefined).map(c => typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  };
  const text = value => value === null || value === undefined || value === "" ? "–" : String(value);
  const time = iso => iso ? new Date(iso).toLocaleString() : "–";
  const clock = iso => iso ? new Date(iso).toLocaleTimeString() : "–";

  // States as the service spells them: active, paused, stopped (for good: stopped, or the call ended), failed.
  const stateOf = s => String(s.state || "").toLowerCase();
  const finished = s => ["stopped", "failed"].includes(stateOf(s));
  const canPause = s => stateOf(s) === "active";
  const canResume = s => stateOf(s) === "paused";
  const canStop = s => !finished(s);
  const callOf = s => s.serverCallId ? s.serverCallId : `group ${text(s.groupCallId)}`;

  // What each timeline event means, in words: asked through the API, reported by a callback, or seen in Event Grid.
  const labels = {
    start: "start asked", pause: "pause asked", resume: "resume asked", stop: "stop asked",
    active: "recording", inactive: "not recording", startFailed: "start failed", filesArrived: "files arrived", stored: "stored",
  };
  const label = event => labels[event] || text(event);

  const expanded = new Set();
  const details = new Map();
  let canOperate = true;

  // Readers see the state but not the buttons. Before sign-in exists on the service, /api/auth/me is missing, and
  // whoever reaches the dashboard may act (the service still decides).
  async function refreshRole() {
    try {
      const me = await call("/api/auth/me");
      canOperate = me.role === "operator";
    } catch (error) {
      canOperate = error.status !== 401 && error.status !== 403;
    }
  }

  function showMessage(message, failed) {
    const box = document.getElementById("sessions-message");
    box.textContent = message;
    box.className = failed ? "sessions-message failed" : "sessions-message";
  }

  async function act(session, action, button) {
    button.disabled = true;
    try {
      await call(`/api/sessions/${encodeURIComponent(session.recordingId)}/${action}`, { method: "POST" });
      showMessage(`Asked to ${action} recording ${session.recordingId}.`, false);
    } catch (error) {
      showMessage(`Could not ${action} recording ${session.recordingId}: ${error.message}`, true);
    }
    await refresh();
  }

  function actions(session) {
    if (!canOperate) return el("td", { className: "actions" });
    const button = (action, label, enabled) => {
      const b = el("button", { type: "button", className: action, disabled: !enabled }, label);
      b.addEventListener("click", event => { event.stopPropagation(); act(session, action, b); });
      return b;
    };
    return el("td", { className: "actions" },
      button("pause", "Pause", canPause(session)), button("resume", "Resume", canResume(session)), button("stop", "Stop", canStop(session)));
  }

  function files(session) {
    if (session.filesMissing) return el("td", { className: "files files-missing" }, "files missing");
    // The stored recording the session links to, once the files' event arrived.
    const r = session.recording;
    if (r) {
      const link = el("a", { href: `#/recordings/${encodeURIComponent(r.key)}` }, r.storedAt ? "stored" : "arriving");
      link.addEventListener("click", event => event.stopPropagation());
      return el("td", { className: "files" }, link, ` ${r.storedChunks}/${r.chunks} chunks`);
    }
    return el("td", { className: "files" }, finished(session) ? "waiting for files" : "–");
  }

  function timeline(session) {
    const full = details.get(session.recordingId) || session;
    const entries = (full.timeline || []).map(e =>
      el("li", { className: `timeline-entry event-${e.event}${e.applied === false ? " stale" : ""}` },
        el("time", { dateTime: e.at || "" }, clock(e.at)), " ", el("strong", {}, label(e.event)),
        e.state ? ` · ${String(e.state).toLowerCase()}` : "", e.actor ? ` · by ${e.actor}` : "",
        e.source ? ` · ${String(e.source).toLowerCase()}` : "", e.detail ? ` · ${e.detail}` : "",
        e.applied === false ? " · arrived late, state unchanged" : ""));
    if (full.filesMissing) {
      entries.push(el("li", { className: "timeline-entry kind-files-missing" }, el("strong", {}, "files missing"), " · no file arrived within the window"));
    }
    if (entries.length === 0) entries.push(el("li", {}, "Nothing yet."));
    return el("ol", { className: "timeline" }, ...entries);
  }

  function rows(session) {
    const open = expanded.has(session.recordingId);
    const row = el("tr", { className: `session state-${stateOf(session)}${session.filesMissing ? " files-missing" : ""}`, title: "Show or hide the timeline" },
      el("td", {}, el("code", {}, text(session.recordingId))), el("td", {}, callOf(session)),
      el("td", { className: "state" }, text(stateOf(session))),
      el("td", {}, `${text(session.content)} · ${text(session.channel)} · ${text(session.format)}`),
      el("td", {}, time(session.createdAt)), files(session), actions(session));
    row.dataset.recordingId = session.recordingId;
    row.addEventListener("click", () => {
      if (expanded.has(session.recordingId)) expanded.delete(session.recordingId); else expanded.add(session.recordingId);
      refresh();
    });
    const detail = el("tr", { className: "session-timeline", hidden: !open }, el("td", { colSpan: 7 }, timeline(session)));
    detail.dataset.recordingId = session.recordingId;
    return [row, detail];
  }

  function showAlarm(sessions) {
    const missing = sessions.filter(s => s.filesMissing);
    const alarm = document.getElementById("sessions-alarm");
    alarm.hidden = missing.length === 0;
    alarm.replaceChildren(
      el("strong", {}, `Files missing: ${missing.length} recording${missing.length === 1 ? "" : "s"} ended without their files arriving. `),
      ...missing.map(s => el("code", {}, s.recordingId)).flatMap((c, i) => i ? [", ", c] : [c]),
      ". Check the Event Grid subscription and the ACS resource.");
  }

  let refreshing = null;
  async function refresh() {
    // One refresh at a time: a click during a poll waits for it instead of racing it.
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        const sessions = await call("/api/sessions");
        showAlarm(sessions);
        await Promise.all(sessions.filter(s => expanded.has(s.recordingId)).map(async s => {
          try { details.set(s.recordingId, await call(`/api/sessions/${encodeURIComponent(s.recordingId)}`)); } catch { /* shown on the next poll */ }
        }));
        const body = document.querySelector("#sessions tbody");
        body.replaceChildren(...sessions.flatMap(rows));
        if (sessions.length === 0) body.replaceChildren(el("tr", {}, el("td", { colSpan: 7 }, "No recording sessions yet: start one with POST /api/sessions or 'callvault sessions start'.")));
      } catch (error) {
        showMessage(`Sessions: ${error.message}`, true);
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  refreshRole().then(refresh);
  setInterval(refresh, 2000);
})();
