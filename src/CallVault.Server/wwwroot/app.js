// CallVault dashboard: plain JavaScript over the service's API. Refreshes every two seconds.
"use strict";

const apiKey = new URLSearchParams(location.search).get("api-key") || localStorage.getItem("callvault-api-key") || "";
if (new URLSearchParams(location.search).get("api-key")) localStorage.setItem("callvault-api-key", apiKey);

async function api(path, options = {}) {
  const headers = apiKey ? { "X-Api-Key": apiKey } : {};
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) throw new Error("An API key is needed: open the dashboard with ?api-key=<key>.");
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.status === 204 ? null : response.json();
}

const withKey = path => apiKey ? `${path}?api-key=${encodeURIComponent(apiKey)}` : path;
const text = value => value === null || value === undefined ? "–" : String(value);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.map(c => typeof c === "string" ? document.createTextNode(c) : c));
  return node;
};
const bytes = n => n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const duration = ms => ms === null || ms === undefined ? "–" : new Date(ms).toISOString().substring(11, 19);
const time = iso => iso ? new Date(iso).toLocaleString() : "–";

async function refreshHealth() {
  const box = document.getElementById("health");
  try {
    const response = await fetch("/health/ready");
    const health = await response.json();
    const db = health.checks.database || {};
    const data = db.data || {};
    box.className = `health ${health.status}`;
    box.textContent = `${health.status} · last event ${time(data.lastEventReceivedAt)} · queue ${text(data.pending)} · dead letters ${text(data.deadLettered)}`
      + (health.status !== "Healthy" ? ` · ${Object.values(health.checks).filter(c => c.status !== "Healthy").map(c => c.description).join(" ")}` : "");
  } catch (error) {
    box.className = "health Unhealthy";
    box.textContent = `The service does not answer: ${error.message}`;
  }
}

async function showList() {
  document.getElementById("list-view").hidden = false;
  document.getElementById("recording-view").hidden = true;
  const recordings = await api("/api/recordings?take=200");
  const body = document.querySelector("#recordings tbody");
  body.replaceChildren(...recordings.map(r => {
    const row = el("tr", { className: "recording", title: r.key },
      el("td", {}, text(r.callId)), el("td", {}, time(r.startTime)), el("td", {}, duration(r.durationMs)),
      el("td", {}, r.participants.length ? r.participants.join(", ") : "–"),
      el("td", {}, text(r.formatType)), el("td", {}, `${r.storedChunks}/${r.chunks}`), el("td", {}, bytes(r.storedBytes)),
      el("td", { className: `status-${r.status}` }, r.downloadingChunks ? `${r.status} (${r.downloadingChunks} downloading)` : r.status));
    row.dataset.key = r.key;
    row.addEventListener("click", () => { location.hash = `#/recordings/${encodeURIComponent(r.key)}`; });
    return row;
  }));
  const deadLetters = await api("/api/jobs/dead-letters");
  document.querySelector("#dead-letters tbody").replaceChildren(...deadLetters.map(d => {
    const retry = el("button", { className: "retry" }, "Retry");
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      await api(`/api/jobs/${encodeURIComponent(d.documentId)}/retry`, { method: "POST" });
      retry.textContent = "Queued";
    });
    return el("tr", { className: "dead-letter" }, el("td", {}, el("code", {}, d.documentId)), el("td", {}, text(d.callId)),
      el("td", {}, text(d.attempts)), el("td", {}, text(d.lastError)), el("td", {}, retry));
  }));
}

async function showRecording(key) {
  document.getElementById("list-view").hidden = true;
  document.getElementById("recording-view").hidden = false;
  const r = await api(`/api/recordings/${encodeURIComponent(key)}`);
  document.getElementById("recording-title").textContent = `Call ${text(r.callId)}`;
  document.getElementById("recording-facts").replaceChildren(
    el("dt", {}, "Status"), el("dd", { className: `status-${r.status}` }, r.status),
    el("dt", {}, "Started"), el("dd", {}, time(r.startTime)),
    el("dt", {}, "Duration"), el("dd", {}, duration(r.durationMs)),
    el("dt", {}, "Format"), el("dd", {}, `${text(r.contentType)} · ${text(r.channelType)} · ${text(r.formatType)}`),
    el("dt", {}, "Stored"), el("dd", {}, bytes(r.storedBytes)));
  document.getElementById("participants").replaceChildren(...r.participants.map(p =>
    el("li", {}, p.channel === null || p.channel === undefined ? p.participantId : `channel ${p.channel}: ${p.participantId}`)));
  const container = document.getElementById("chunks");
  const existing = new Map([...container.querySelectorAll(".chunk")].map(c => [c.dataset.documentId, c]));
  container.replaceChildren(...r.chunks.map(c => {
    // Keep a chunk's player across refreshes so that playback is not interrupted.
    const kept = existing.get(c.documentId);
    if (kept && kept.dataset.state === c.state) return kept;
    const box = el("div", { className: "chunk" },
      el("div", {}, `Chunk ${c.index} · ${c.state} · ${c.media ? bytes(c.media.length) : "not stored"} · `, el("code", {}, c.documentId)));
    box.dataset.documentId = c.documentId;
    box.dataset.state = c.state;
    if (c.media) {
      box.append(el("audio", { controls: true, preload: "metadata", src: withKey(`/api/recordings/${encodeURIComponent(r.key)}/chunks/${c.index}/media`) }));
      box.append(el("div", {}, "SHA-256 ", el("code", {}, c.media.sha256)));
    }
    if (c.lastError) box.append(el("div", { className: "status-failed" }, c.lastError));
    return box;
  }));
}

async function render() {
  const match = location.hash.match(/^#\/recordings\/(.+)$/);
  try {
    if (match) await showRecording(decodeURIComponent(match[1])); else await showList();
  } catch (error) {
    document.getElementById("health").textContent = error.message;
  }
}

window.addEventListener("hashchange", render);
refreshHealth();
render();
setInterval(() => { refreshHealth(); render(); }, 2000);
