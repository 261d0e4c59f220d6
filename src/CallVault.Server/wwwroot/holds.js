// CallVault dashboard, legal hold on a recording's page: whether it is held (reason, by whom, since when), and for an
// operator a button to put it on hold with a reason or to clear the hold. Kept apart from app.js (and inside one
// function, so that its names never meet app.js's); it follows the page's address and polls every two seconds.
(() => {
  "use strict";

  async function call(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (options.method && options.method !== "GET") headers["X-CallVault-Request"] = "1";
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), credentials: "same-origin" });
    if (!response.ok) {
      let detail = "";
      try { detail = (await response.json()).detail || ""; } catch { /* not a problem document */ }
      const error = new Error(`${response.status} ${response.statusText}${detail ? `: ${detail}` : ""}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter(c => c !== null && c !== undefined).map(c => typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  };

  let canOperate = true;
  let shown = null; // "key|reason|setAt" of what is on screen, so that typing a reason is not wiped by a refresh

  async function refreshRole() {
    try {
      canOperate = (await call("/api/auth/me")).role === "operator";
    } catch (error) {
      canOperate = error.status !== 401 && error.status !== 403;
    }
  }

  function message(text, failed) {
    const box = document.getElementById("hold-message");
    if (box) { box.textContent = text; box.className = failed ? "status-failed" : ""; }
  }

  async function change(key, method, body, button) {
    button.disabled = true;
    try {
      await call(`/api/recordings/${encodeURIComponent(key)}/hold`, { method, body });
      shown = null;
      await refresh();
      message(method === "PUT" ? "Legal hold set." : "Legal hold cleared.", false);
    } catch (error) {
      button.disabled = false;
      message(error.message, true);
    }
  }

  function render(key, hold) {
    const box = document.getElementById("hold");
    const status = hold
      ? el("p", { className: "hold-active" }, "Under legal hold: ", el("strong", {}, hold.reason), ` (set by ${hold.setBy}, since ${new Date(hold.setAt).toLocaleString()}). Nothing deletes it until the hold is cleared.`)
      : el("p", {}, "No legal hold.");
    const controls = [];
    if (canOperate && hold) {
      const clear = el("button", { type: "button", id: "hold-clear" }, "Clear hold");
      clear.addEventListener("click", () => change(key, "DELETE", undefined, clear));
      controls.push(clear);
    } else if (canOperate) {
      const reason = el("input", { type: "text", id: "hold-reason", maxLength: 500, placeholder: "Reason (required)" });
      const set = el("button", { type: "button", id: "hold-set" }, "Put on hold");
      set.addEventListener("click", () => {
        if (!reason.value.trim()) { message("A reason is required.", true); return; }
        change(key, "PUT", { reason: reason.value.trim() }, set);
      });
      controls.push(reason, set);
    }
    box.replaceChildren(el("h3", {}, "Legal hold"), status, ...controls, el("div", { id: "hold-message" }));
  }

  async function refresh() {
    const match = location.hash.match(/^#\/recordings\/(.+)$/);
    const box = document.getElementById("hold");
    if (!match || !box) { shown = null; return; }
    const key = decodeURIComponent(match[1]);
    try {
      // The hold alone, not the recording: reading the recording is an audited access, a poll is not one. One
      // recording's hold, not the list, which is paged and would miss a hold past its first page.
      const { hold } = await call(`/api/recordings/${encodeURIComponent(key)}/hold`);
      const state = `${key}|${hold ? hold.reason + "|" + hold.setAt : ""}`;
      if (state !== shown) { shown = state; render(key, hold); }
    } catch (error) {
      if (error.status !== 401) message(error.message, true);
    }
  }

  refreshRole().then(refresh);
  window.addEventListener("hashchange", () => { shown = null; refresh(); });
  setInterval(refresh, 2000);
})();
