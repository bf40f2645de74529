"""The dashboard page: one self-contained HTML document (the board may be offline: no CDN, no
external font, script or style).

The live view reads ``/stream.mjpg`` with ``fetch`` and splits the parts by their
``Content-Length`` (:mod:`~firmware_py.dashboard.mjpeg`), decodes each with
``createImageBitmap`` and draws it on a canvas. A plain ``<img>`` would play the stream too,
but browsers fire ``load`` only for its first part, so the page could neither count frames nor
tell a frozen stream from a live one. Detections, stats and info arrive as Server-Sent Events
(``EventSource``, which reconnects by itself); the page first reads ``/api/state`` so the
charts start with the server's history. Charts are drawn on ``<canvas>`` with a few lines of
script: power against the budget, inference and camera FPS, tiles per frame; every other
numeric (or text) stats key is listed in a table. The header shows ``board``, ``bundle``,
``model``, ``mode`` and the run's ``run_id`` from :meth:`Dashboard.set_info` or from stats
that carry those keys, and the MQTT link (``mqtt_state``, with ``spool_depth`` while messages
wait on disk) from the stats.
A ``?token=`` in the page's address is passed on to every request. Counters are mirrored
into ``data-*`` attributes of ``<body>`` (``frames``, ``detection-events``, ``stats-events``)
for tests and scripts.
"""

from __future__ import annotations

import json

CHARTS = {  # canvas id -> (title, stats keys)
    "chart-power": ("Power (W)", ("power_w", "budget_w")),
    "chart-fps": ("Frames per second", ("inference_fps", "camera_fps")),
    "chart-tiles": ("Tiles per frame", ("tiles_per_frame",)),
}

_STYLE = """
:root { color-scheme: dark; --bg: #111418; --panel: #1b2027; --text: #dde3ea; --dim: #8a96a3; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
       font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: 18px; align-items: baseline;
         padding: 10px 16px; background: var(--panel); }
header h1 { font-size: 18px; margin: 0; }
header .k { color: var(--dim); margin-right: 4px; }
#status { margin-left: auto; }
#status.ok { color: #6fdc8c; } #status.bad { color: #ff8389; }
main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(300px, 1fr); gap: 12px;
       padding: 12px; }
section { background: var(--panel); border-radius: 6px; padding: 10px; min-width: 0; }
h2 { font-size: 13px; margin: 0 0 6px; color: var(--dim); font-weight: 600; }
#video { width: 100%; background: #000; display: block; }
.counters { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; margin-top: 8px; }
.counter { background: var(--bg); border-radius: 4px; padding: 4px 8px; }
.counter b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }
.counter span { color: var(--dim); font-size: 12px; }
.charts canvas { width: 100%; height: 130px; display: block; margin-bottom: 8px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
td { padding: 1px 4px; border-bottom: 1px solid #262c35; }
td:last-child { text-align: right; }
#detections td:first-child { color: var(--dim); }
"""

_BODY = """
<header>
  <h1>Specks</h1>
  <div><span class="k">board</span><span id="info-board">-</span></div>
  <div><span class="k">bundle</span><span id="info-bundle">-</span></div>
  <div><span class="k">model</span><span id="info-model">-</span></div>
  <div><span class="k">mode</span><span id="info-mode">-</span></div>
  <div><span class="k">run</span><span id="info-run_id">-</span></div>
  <div><span class="k">mqtt</span><span id="info-mqtt">-</span></div>
  <div id="status" class="bad">connecting</div>
</header>
<main>
  <section>
    <canvas id="video" width="640" height="360"></canvas>
    <div class="counters">
      <div class="counter"><b id="frames">0</b><span>frames shown</span></div>
      <div class="counter"><b id="view-fps">0</b><span>view fps</span></div>
      <div class="counter"><b id="frame-id">-</b><span>frame id</span></div>
      <div class="counter"><b id="tiles">-</b><span>tiles run / total</span></div>
      <div class="counter"><b id="n-detections">-</b><span>detections</span></div>
      <div class="counter"><b id="n-carried">-</b><span>carried forward</span></div>
      <div class="counter"><b id="detection-events">0</b><span>detection events</span></div>
      <div class="counter"><b id="stats-events">0</b><span>stats events</span></div>
    </div>
  </section>
  <div>
    <section class="charts">CHARTS</section>
    <section><h2>Stats</h2><table id="stats"></table></section>
    <section><h2>Detections</h2><table id="detections"></table></section>
  </div>
</main>
"""

_SCRIPT = """
"use strict";
const CHARTS = CHART_SPEC;
const COLORS = ["#4fc3f7", "#ffb74d", "#81c784", "#e57373"];
const token = new URLSearchParams(location.search).get("token");
const query = token ? "?token=" + encodeURIComponent(token) : "";
const $ = (id) => document.getElementById(id);
const statsHistory = [];
let historyLength = 300;
const count = { frames: 0, "detection-events": 0, "stats-events": 0 };

function bump(name) {
  count[name] += 1;
  $(name).textContent = count[name];
  document.body.dataset[name.replace(/-(.)/g, (_, c) => c.toUpperCase())] = count[name];
}

function fmt(v) {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else if (["number", "string", "boolean"].includes(typeof v)) out[key] = v;
  }
  return out;
}

function setStatus(ok, text) {
  const s = $("status");
  s.className = ok ? "ok" : "bad";
  s.textContent = text;
}

function showInfo(info) {
  for (const k of ["board", "bundle", "model", "mode", "run_id"]) {
    if (typeof info[k] === "string") $("info-" + k).textContent = info[k];
  }
  if (typeof info.mqtt_state === "string") {
    const waiting = info.spool_depth ? " (" + info.spool_depth + " spooled)" : "";
    $("info-mqtt").textContent = info.mqtt_state + waiting;
  }
}

function showStats(stats) {
  const rows = Object.entries(flatten(stats, "", {})).filter(([k]) => k !== "kind");
  $("stats").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    for (const text of [k, fmt(v)]) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    return tr;
  }));
}

function addStats(stats) {
  statsHistory.push(stats);
  while (statsHistory.length > historyLength) statsHistory.shift();
}

function drawChart(id, title, keys) {
  const canvas = $(id), ctx = canvas.getContext("2d");
  const w = (canvas.width = canvas.clientWidth || 400);
  const h = (canvas.height = canvas.clientHeight || 130);
  const top = 18, bottom = h - 4, left = 4, right = w - 4;
  const values = keys.map((k) => statsHistory.map((s) => (typeof s[k] === "number" ? s[k] : null)));
  const finite = values.flat().filter((v) => v !== null && isFinite(v));
  const ymax = finite.length ? Math.max(...finite, 0) * 1.15 || 1 : 1;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#262c35"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = bottom - (bottom - top) * i / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
  }
  ctx.font = "12px system-ui, sans-serif"; ctx.fillStyle = "#8a96a3";
  ctx.fillText(title, left, 12);
  ctx.fillText(fmt(ymax), left, top + 12);
  let legendX = right;
  keys.forEach((k, i) => {
    const series = values[i], last = series.filter((v) => v !== null).pop();
    const label = k + " " + (last === undefined ? "-" : fmt(last));
    legendX -= ctx.measureText(label).width + 14;
    ctx.fillStyle = COLORS[i]; ctx.fillText(label, legendX, 12);
    ctx.strokeStyle = COLORS[i]; ctx.lineWidth = 1.5; ctx.beginPath();
    let pen = false;
    series.forEach((v, j) => {
      if (v === null) { pen = false; return; }
      const x = right - (right - left) * (series.length - 1 - j) / Math.max(1, historyLength - 1);
      const y = bottom - (bottom - top) * v / ymax;
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  });
}

function drawCharts() {
  for (const [id, [title, keys]] of Object.entries(CHARTS)) drawChart(id, title, keys);
}

function showDetections(d) {
  $("frame-id").textContent = d.frame_id;
  $("tiles").textContent = d.tiles_run + " / " + d.tiles_total;
  $("n-detections").textContent = d.labels.length;
  $("n-carried").textContent = [].concat(d.interpolated).filter(Boolean).length;
  const order = d.scores.map((s, i) => i).sort((a, b) => d.scores[b] - d.scores[a]).slice(0, 12);
  $("detections").replaceChildren(...order.map((i) => {
    const tr = document.createElement("tr");
    const box = d.boxes[i].map((v) => Math.round(v)).join(", ");
    for (const text of [d.labels[i], "[" + box + "]", d.scores[i].toFixed(2)]) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    return tr;
  }));
}

async function loadState() {
  try {
    const state = await (await fetch("/api/state" + query, { cache: "no-store" })).json();
    historyLength = state.history_length;
    showInfo(state.info);
    state.history.forEach(addStats);
    if (state.stats) { showStats(state.stats); showInfo(state.stats); }
    if (state.detections) showDetections(state.detections);
    drawCharts();
  } catch (e) { setStatus(false, "no state: " + e); }
}

function listen() {
  const events = new EventSource("/events" + query);
  events.onopen = () => setStatus(true, "live");
  events.onerror = () => setStatus(false, "reconnecting");
  events.addEventListener("info", (e) => showInfo(JSON.parse(e.data)));
  events.addEventListener("detections", (e) => {
    bump("detection-events"); showDetections(JSON.parse(e.data));
  });
  events.addEventListener("stats", (e) => {
    const stats = JSON.parse(e.data);
    bump("stats-events"); addStats(stats); showStats(stats); showInfo(stats); drawCharts();
  });
}

const HEAD_END = [13, 10, 13, 10];
function headEnd(buf) {
  for (let i = 0, n = Math.min(buf.length, 4096) - 3; i < n; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function concat(a, b) {
  if (!a.length) return b;
  const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c;
}

const shownAt = [];
function viewFps() {  // frames drawn over the last two seconds; falls to 0 if the view freezes
  const now = performance.now();
  while (shownAt.length && now - shownAt[0] > 2000) shownAt.shift();
  $("view-fps").textContent = (shownAt.length / 2).toFixed(1);
}
setInterval(viewFps, 1000);

let decoding = false, pending = null;
function show(jpeg) {
  if (decoding) { pending = jpeg; return; }
  decoding = true;
  createImageBitmap(new Blob([jpeg], { type: "image/jpeg" })).then((bitmap) => {
    const canvas = $("video");
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width; canvas.height = bitmap.height;
    }
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    bump("frames");
    shownAt.push(performance.now());
    viewFps();
  }).catch(() => {}).finally(() => {
    decoding = false;
    if (pending) { const next = pending; pending = null; show(next); }
  });
}

async function watch() {
  for (;;) {
    try {
      const response = await fetch("/stream.mjpg" + query, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const reader = response.body.getReader();
      let buf = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = concat(buf, value);
        for (;;) {
          const end = headEnd(buf);
          if (end < 0) break;
          const head = new TextDecoder().decode(buf.subarray(0, end));
          const match = /content-length:\\s*(\\d+)/i.exec(head);
          if (!match) throw new Error("a part without Content-Length");
          const start = end + HEAD_END.length, stop = start + Number(match[1]);
          if (buf.length < stop) break;
          show(buf.slice(start, stop));
          buf = buf.subarray(stop);
        }
      }
    } catch (e) { setStatus(false, "video: " + e.message); }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

loadState().then(() => { listen(); watch(); });
"""


def _chart_html() -> str:
    return "".join(f'<canvas id="{canvas_id}"></canvas>' for canvas_id in CHARTS)




def page_html() -> bytes:
    """The page, UTF-8."""
    body = _BODY.replace("CHARTS", _chart_html())
    script = _SCRIPT.replace("CHART_SPEC", json.dumps(CHARTS))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="icon" href="data:,">\n'
            f"<title>Specks dashboard</title>\n<style>{_STYLE}</style></head>\n"
            f"<body>{body}<script>{script}</script></body></html>\n").encode()
