// CallVault dashboard: plain JavaScript over the service's API. Refreshes every two seconds.
// No key is ever kept here or put in a URL: the key is posted once to /api/auth/sign-in, and the service answers with an
// HttpOnly session cookie that the browser sends by itself (also for the audio players' requests).
"use strict";

// Older dashboards kept the key in local storage; a key left there is a secret any script on the page could read.
try { localStorage.removeItem("callvault-api-key"); } catch { /* storage disabled */ }

class SignInNeeded extends Error {}

async function api(path, options = {}) {
  const method = options.method || "GET";
  // A cross-site form cannot send this header, so the service accepts state changes only with it.
  const headers = method === "GET" ? {} : { "X-CallVault-Request": "1" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), credentials: "same-origin" });
  if (response.status === 401) throw new SignInNeeded("Sign in with an API key.");
  if (response.status === 403) throw new Error("This key's role may not do that.");
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.status === 204 ? null : response.json();
}

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
    // Without read access the service answers the status alone, with no checks.
    const checks = health.checks || {};
    const db = checks.database || {};
    const data = db.data || {};
    box.className = `health ${health.status}`;
    box.textContent = `${health.status} · last event ${time(data.lastEventReceivedAt)} · queue ${text(data.pending)} · dead letters ${text(data.deadLettered)}`
      + (health.status !== "Healthy" ? ` · ${Object.values(checks).filter(c => c.status !== "Healthy").map(c => c.description).join(" ")}` : "");
  } catch (error) {
    box.className = "health Unhealthy";
    box.textContent = `The service does not answer: ${error.message}`;
  }
}

const pageSize = 50;
const filterNames = ["callId", "participant", "from", "to", "status", "sort"];

// The list's filters, sort and page live in the URL (#/?status=failed&skip=50), so a view can be bookmarked and shared.
function listParameters() {
  const query = location.hash.startsWith("#/?") ? location.hash.substring(3) : "";
  return new URLSearchParams(query);
}

function showFilters(parameters) {
  const form = document.getElementById("filters");
  for (const name of filterNames) form.elements[name].value = parameters.get(name) || (name === "sort" ? "Newest" : "");
}

function applyFilters(event) {
  event.preventDefault();
  const form = document.getElementById("filters");
  const parameters = new URLSearchParams();
  for (const name of filterNames) {
    const value = form.elements[name].value.trim();
    if (value && !(name === "sort" && value === "Newest")) parameters.set(name, value);
  }
  location.hash = `#/?${parameters}`;
}

function goToPage(skip) {
  const parameters = listParameters();
  if (skip > 0) parameters.set("skip", skip); else parameters.delete("skip");
  location.hash = `#/?${parameters}`;
}

function recordingsQuery(parameters) {
  const query = new URLSearchParams({ take: pageSize, skip: parameters.get("skip") || 0 });
  for (const name of filterNames) {
    const value = parameters.get(name);
    if (!value) continue;
    // The date inputs are in the browser's time zone; the API takes instants.
    query.set(name, name === "from" || name === "to" ? new Date(value).toISOString() : value);
  }
  return query;
}

const percent = (received, total) => total ? Math.floor(100 * received / total) : null;

async function showInFlight() {
  const downloads = await api("/api/jobs/in-flight");
  document.getElementById("in-flight-view").hidden = downloads.length === 0;
  document.querySelector("#in-flight tbody").replaceChildren(...downloads.map(d =>
    el("tr", { className: "download" },
      el("td", {}, el("code", {}, d.documentId)), el("td", {}, `${d.recordingKey} · chunk ${d.index}`),
      el("td", {}, el("progress", { max: d.totalBytes || 1, value: d.totalBytes ? d.bytesReceived : 0 })),
      el("td", {}, d.totalBytes ? `${bytes(d.bytesReceived)} of ${bytes(d.totalBytes)} (${percent(d.bytesReceived, d.totalBytes)}%)` : bytes(d.bytesReceived)),
      el("td", {}, `${bytes(d.bytesPerSecond)}/s`))));
  return downloads;
}

async function showList() {
  document.getElementById("list-view").hidden = false;
  document.getElementById("recording-view").hidden = true;
  globalThis.CallVaultCharts?.fit();
  const parameters = listParameters();
  const skip = Number(parameters.get("skip")) || 0;
  const [recordings, downloads] = await Promise.all([api(`/api/recordings?${recordingsQuery(parameters)}`), showInFlight()]);
  const progressByRecording = new Map();
  for (const d of downloads) {
    const sum = progressByRecording.get(d.recordingKey) || { received: 0, total: 0 };
    progressByRecording.set(d.recordingKey, { received: sum.received + d.bytesReceived, total: sum.total + (d.totalBytes || 0) });
  }
  const body = document.querySelector("#recordings tbody");
  body.replaceChildren(...recordings.map(r => {
    const progress = progressByRecording.get(r.key);
    const done = progress ? percent(progress.received, progress.total) : null;
    const status = r.downloadingChunks ? `${r.status}${done === null ? "" : ` ${done}%`} (${r.downloadingChunks} chunk${r.downloadingChunks > 1 ? "s" : ""})` : r.status;
    const row = el("tr", { className: "recording", title: r.key },
      el("td", {}, text(r.callId)), el("td", {}, time(r.startTime)), el("td", {}, duration(r.durationMs)),
      el("td", {}, r.participants.length ? r.participants.join(", ") : "–"),
      el("td", {}, text(r.formatType)), el("td", {}, `${r.storedChunks}/${r.chunks}`), el("td", {}, bytes(r.storedBytes)),
      el("td", { className: `status-${r.status}` }, status));
    row.dataset.key = r.key;
    row.addEventListener("click", () => { location.hash = `#/recordings/${encodeURIComponent(r.key)}`; });
    return row;
  }));
  if (recordings.length === 0) body.replaceChildren(el("tr", {}, el("td", { colSpan: 8 }, "No recordings match.")));
  document.getElementById("page-info").textContent = recordings.length ? `${skip + 1}–${skip + recordings.length}` : "";
  document.getElementById("previous-page").disabled = skip === 0;
  document.getElementById("next-page").disabled = recordings.length < pageSize;

  const deadLetters = await api("/api/jobs/dead-letters");
  document.querySelector("#dead-letters tbody").replaceChildren(...deadLetters.map(d => {
    const retry = el("button", { className: "retry" }, "Retry");
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try {
        await api(`/api/jobs/${encodeURIComponent(d.documentId)}/retry`, { method: "POST" });
        retry.textContent = "Queued";
      } catch (error) {
        retry.textContent = error.message;
      }
    });
    return el("tr", { className: "dead-letter" }, el("td", {}, el("code", {}, d.documentId)), el("td", {}, text(d.callId)),
      el("td", {}, text(d.attempts)), el("td", {}, text(d.lastError)), el("td", {}, retry));
  }));

  const rejected = await api("/api/events/rejected?take=20");
  document.getElementById("rejected-total").textContent = rejected.total ? `(${rejected.total})` : "";
  document.querySelector("#rejected-events tbody").replaceChildren(...rejected.events.map(e => {
    // The raw event folds away: it can be long, and it is shown as text, never as markup.
    const raw = el("details", {}, el("summary", {}, e.rawTruncated ? `raw, first ${e.rawJson.length} of ${e.rawLength} characters` : "raw"), el("pre", {}, e.rawJson));
    return el("tr", { className: "rejected-event" }, el("td", {}, time(e.lastSeenAt)), el("td", {}, el("code", {}, text(e.eventId))),
      el("td", {}, text(e.occurrences)), el("td", {}, text(e.reason)), el("td", {}, raw));
  }));
  if (rejected.events.length === 0) document.querySelector("#rejected-events tbody").replaceChildren(el("tr", {}, el("td", { colSpan: 5 }, "None.")));
}

// The key of a recording shown with every chunk stored: it cannot change, so it is not read again on each refresh (every
// read of a recording is an access audit record).
let settledRecording = null;

async function showRecording(key, refreshing) {
  document.getElementById("list-view").hidden = true;
  document.getElementById("recording-view").hidden = false;
  if (refreshing && settledRecording === key) return;
  const [r, downloads] = await Promise.all([api(`/api/recordings/${encodeURIComponent(key)}`), api("/api/jobs/in-flight")]);
  settledRecording = r.status === "stored" && r.chunks.every(c => c.state === "Stored") ? key : null;
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
    if (kept && kept.dataset.state === c.state && c.state !== "Leased") return showAcsLeft(kept, c);
    const box = el("div", { className: "chunk" },
      el("div", {}, `Chunk ${c.index} · ${c.state} · ${c.media ? bytes(c.media.length) : "not stored"} · `, el("code", {}, c.documentId)));
    box.dataset.documentId = c.documentId;
    box.dataset.state = c.state;
    if (c.media) {
      const audio = el("audio", { controls: true, preload: "metadata", src: `/api/recordings/${encodeURIComponent(r.key)}/chunks/${c.index}/media` });
      box.append(audio);
      box.append(el("div", {}, "SHA-256 ", el("code", {}, c.media.sha256)));
      globalThis.CallVaultWaveform?.attach(box, audio, { key: r.key, index: c.index });
    }
    const download = downloads.find(d => d.documentId === c.documentId);
    if (download) {
      box.append(el("progress", { max: download.totalBytes || 1, value: download.totalBytes ? download.bytesReceived : 0 }),
        ` ${bytes(download.bytesReceived)}${download.totalBytes ? ` of ${bytes(download.totalBytes)}` : ""} downloaded`);
    }
    if (c.lastError) box.append(el("div", { className: "status-failed" }, c.lastError));
    return showAcsLeft(box, c);
  }));
}

// A chunk not stored yet: how long ACS still keeps it (24 hours from its event), as the service's clock counts it.
function showAcsLeft(box, c) {
  let line = box.querySelector(".acs-left");
  if (c.state === "Stored" || c.acsSecondsLeft === null || c.acsSecondsLeft === undefined) {
    line?.remove();
    return box;
  }

  if (!line) box.append(line = el("div", { className: "acs-left" }));
  const left = c.acsSecondsLeft;
  line.classList.toggle("urgent", left < 3 * 3600);
  line.dataset.secondsLeft = String(left);
  line.textContent = left > 0
    ? `ACS deletes it in ${Math.floor(left / 3600)} h ${Math.floor(left % 3600 / 60)} min (at ${time(c.acsExpiresAt)}): download it before then.`
    : `ACS's retention ended at ${time(c.acsExpiresAt)}: the chunk is probably gone from ACS.`;
  return box;
}

async function render(refreshing = false) {
  const match = location.hash.match(/^#\/recordings\/(.+)$/);
  try {
    if (match) await showRecording(decodeURIComponent(match[1]), refreshing); else await showList();
  } catch (error) {
    if (error instanceof SignInNeeded) showSignIn(); else document.getElementById("health").textContent = error.message;
  }
}

let refreshTimer = null;

function showSignIn() {
  clearInterval(refreshTimer);
  refreshTimer = null;
  settledRecording = null;
  for (const id of ["list-view", "recording-view", "caller"]) document.getElementById(id).hidden = true;
  for (const table of document.querySelectorAll("main tbody")) table.replaceChildren();
  document.getElementById("chunks").replaceChildren();
  document.getElementById("sign-in-view").hidden = false;
  document.querySelector("#sign-in input[name=key]").focus();
}

// Who the service says the caller is: a key's name and role, or local (no keys, this machine only).
async function start() {
  let caller;
  try {
    caller = await api("/api/auth/me");
  } catch (error) {
    if (error instanceof SignInNeeded) showSignIn(); else document.getElementById("health").textContent = error.message;
    refreshHealth();
    return;
  }
  document.getElementById("sign-in-view").hidden = true;
  document.getElementById("caller-name").textContent = `${caller.name} (${caller.role})`;
  document.getElementById("caller").hidden = false;
  showFilters(listParameters());
  refreshHealth();
  globalThis.CallVaultCharts?.refresh();
  await render();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => { refreshHealth(); render(true); }, 2000);
}

async function signIn(event) {
  event.preventDefault();
  const input = document.querySelector("#sign-in input[name=key]");
  const message = document.getElementById("sign-in-error");
  message.textContent = "";
  const response = await fetch("/api/auth/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CallVault-Request": "1" },
    body: JSON.stringify({ key: input.value }),
    credentials: "same-origin",
  });
  input.value = "";
  if (response.status === 204) {
    await start();
  } else {
    message.textContent = response.status === 401 ? "That key is not accepted."
      : response.status === 429 ? "Too many attempts: wait a minute and try again."
      : `Sign-in failed: ${response.status} ${response.statusText}`;
  }
}

async function signOut() {
  try {
    await api("/api/auth/sign-out", { method: "POST" });
  } finally {
    await start();
  }
}

window.addEventListener("hashchange", () => { if (refreshTimer === null) return; settledRecording = null; showFilters(listParameters()); render(); });
document.getElementById("filters").addEventListener("submit", applyFilters);
document.getElementById("filters").addEventListener("reset", () => { location.hash = "#/"; });
document.getElementById("previous-page").addEventListener("click", () => goToPage(Math.max(0, (Number(listParameters().get("skip")) || 0) - pageSize)));
document.getElementById("next-page").addEventListener("click", () => goToPage((Number(listParameters().get("skip")) || 0) + pageSize));
document.getElementById("sign-in").addEventListener("submit", signIn);
document.getElementById("sign-out").addEventListener("click", signOut);
start();
