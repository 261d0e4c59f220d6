// CallVault dashboard, a chunk's waveform: one lane per audio channel, labelled with the participant on it (from the
// chunk's metadata), the pauses marked, and a cursor that follows the player; clicking a lane seeks there. The peaks
// come from the service (/api/recordings/{key}/chunks/{index}/waveform), computed from the stored file. app.js calls
// CallVaultWaveform.attach for each stored chunk it shows; nothing else here runs by itself.
(() => {
  "use strict";

  const laneColors = ["#2f6fdb", "#1f7a3a", "#a66b00", "#7a3fb8", "#0f8b8d", "#c62828"];
  const laneHeight = 64;

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const clock = seconds => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

  function drawLane(canvas, lane, color, pauses, duration) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, canvas.clientWidth);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(laneHeight * ratio);
    const context = canvas.getContext("2d");
    context.scale(ratio, ratio);
    context.clearRect(0, 0, width, laneHeight);
    // Pauses first, under the peaks: nothing was recorded then.
    context.fillStyle = "#f1e6c8";
    for (const pause of pauses) {
      const x = pause.offsetMs / duration * width;
      context.fillRect(x, 0, Math.max(2, pause.durationMs / duration * width), laneHeight);
    }

    context.strokeStyle = "#d9dde3";
    context.beginPath();
    context.moveTo(0, laneHeight / 2);
    context.lineTo(width, laneHeight / 2);
    context.stroke();
    const points = lane.min.length;
    if (points === 0) return;
    context.fillStyle = color;
    const middle = laneHeight / 2;
    const scale = laneHeight / 2 - 2;
    const step = width / points;
    for (let i = 0; i < points; i++) {
      const top = middle - lane.max[i] * scale;
      const bottom = middle - lane.min[i] * scale;
      context.fillRect(i * step, top, Math.max(1, step - 0.2), Math.max(1, bottom - top));
    }
  }

  function render(container, audio, waveform) {
    const duration = waveform.durationMs || 1;
    const lanes = el("div", "waveform-lanes");
    const overlay = el("div", "waveform-overlay");
    overlay.title = "Click to play from here";
    const played = el("div", "waveform-played");
    const cursor = el("div", "waveform-cursor");
    overlay.append(played, cursor);
    for (const pause of waveform.pauses) {
      const marker = el("div", "pause-marker");
      marker.style.left = `${Math.min(100, pause.offsetMs / duration * 100)}%`;
      marker.style.width = `${Math.max(0.3, Math.min(100, pause.durationMs / duration * 100))}%`;
      const length = pause.durationMs >= 10000 ? Math.round(pause.durationMs / 1000) : (pause.durationMs / 1000).toFixed(1);
      marker.title = `Paused at ${clock(pause.offsetMs / 1000)} for ${length} s`;
      marker.append(el("span", "pause-label", `paused ${length} s`));
      overlay.append(marker);
    }

    const canvases = waveform.lanes.map((lane, i) => {
      const row = el("div", "lane");
      row.dataset.channel = String(lane.channel);
      const who = lane.participants.length ? lane.participants.join(", ") : "no participant in the metadata";
      const label = el("div", "lane-label");
      label.append(el("span", "lane-channel", waveform.channels > 1 ? `channel ${lane.channel}` : "mixed"), el("span", "lane-participant", who));
      const canvas = el("canvas", "lane-canvas");
      canvas.height = laneHeight;
      row.append(label, canvas);
      lanes.append(row);
      return () => drawLane(canvas, lane, laneColors[i % laneColors.length], waveform.pauses, duration);
    });
    lanes.append(overlay);
    container.replaceChildren(lanes, el("div", "waveform-scale", `0:00 — ${clock(duration / 1000)} · ${waveform.channels} channel${waveform.channels === 1 ? "" : "s"} · ${waveform.sampleRate / 1000} kHz`
      + (waveform.pauses.length ? ` · ${waveform.pauses.length} pause${waveform.pauses.length === 1 ? "" : "s"}` : "")));
    const redraw = () => canvases.forEach(draw => draw());
    redraw();
    container.dataset.lanes = String(waveform.lanes.length);

    // The cursor follows the player: on every time update, and every frame while playing so that it moves smoothly.
    const seconds = () => Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration / 1000;
    const follow = () => {
      const fraction = Math.min(1, Math.max(0, audio.currentTime / seconds()));
      cursor.style.left = `${fraction * 100}%`;
      played.style.width = `${fraction * 100}%`;
      // What tests (and the curious) read: the time and fraction the cursor was last put at.
      container.dataset.cursorTime = audio.currentTime.toFixed(3);
      container.dataset.cursorFraction = fraction.toFixed(4);
    };
    let frame = null;
    const animate = () => { follow(); frame = audio.paused ? null : requestAnimationFrame(animate); };
    for (const type of ["timeupdate", "seeked", "loadedmetadata"]) audio.addEventListener(type, follow);
    audio.addEventListener("play", () => { if (frame === null) frame = requestAnimationFrame(animate); });
    overlay.addEventListener("click", event => {
      const box = overlay.getBoundingClientRect();
      audio.currentTime = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)) * seconds();
      follow();
    });
    let width = lanes.clientWidth;
    new ResizeObserver(() => { if (lanes.clientWidth !== width) { width = lanes.clientWidth; redraw(); } }).observe(lanes);
    follow();
  }

  async function attach(box, audio, chunk) {
    const container = el("div", "waveform");
    container.append(el("div", "waveform-message", "Drawing the waveform…"));
    box.insertBefore(container, audio);
    try {
      const response = await fetch(`/api/recordings/${encodeURIComponent(chunk.key)}/chunks/${chunk.index}/waveform?points=1200`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) {
        let detail = "";
        try { detail = (await response.json()).detail || ""; } catch { /* not a problem document */ }
        container.dataset.status = String(response.status);
        container.replaceChildren(el("div", "waveform-message", response.status === 415 ? `No waveform: ${detail}` : `Waveform unavailable (${response.status}): ${detail}`));
        return;
      }

      render(container, audio, await response.json());
      container.dataset.status = "200";
    } catch (error) {
      container.replaceChildren(el("div", "waveform-message", `Waveform unavailable: ${error.message}`));
    }
  }

  globalThis.CallVaultWaveform = { attach };
})();
