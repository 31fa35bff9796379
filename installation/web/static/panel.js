// The panel: every button posts an Action; the page follows the show's status (server-sent events).
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const q = token ? "?token=" + encodeURIComponent(token) : "";
const $ = (id) => document.getElementById(id);
let current = null;

async function post(kind, value) {
  const body = value === undefined ? { kind } : { kind, value };
  const r = await fetch("api/action", {
    method: "POST", headers: { "Content-Type": "application/json", "X-Dreamwall-Token": token || "local" },
    body: JSON.stringify(body),
  });
  $("error").textContent = r.ok ? "" : (await r.text()).trim();
}

function camera(c) {
  if (!c) return "–";
  const controls = Object.entries(c.controls || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  return `${c.name} ${c.mode}` + (controls ? ` · ${controls}` : "") + (c.locked ? " (locked)" : "");
}

function tempo(t) {
  if (!t) return "– (seconds)";
  const peers = t.peers == null ? "" : ` (${t.peers} peer${t.peers === 1 ? "" : "s"})`;
  return `${t.bpm.toFixed(1)} BPM · ${t.beat_in_bar}/${t.beats_per_bar} · ${t.source}${peers}` +
    (t.playing ? "" : " · stopped");
}

function health(s) {
  const fps = s.fps || {};
  return [
    ["preset", s.preset], ["mode", s.worker && s.worker.mode], ["source", s.source && s.source.state],
    ["camera", camera(s.camera)],
    ["device", `${s.device} ${s.backend}${s.precision ? " " + s.precision : ""}`],
    ["dream fps", fps.dream], ["display fps", fps.display], ["latency", s.latency_ms == null ? "–" : s.latency_ms + " ms"],
    ["midi", s.midi], ["osc", s.osc ? `port ${s.osc.port}` : "off"], ["tempo", tempo(s.tempo)],
    ["uptime", Math.round(s.uptime_s) + " s"],
    ["memory", s.memory_mb == null ? "–" : s.memory_mb + " MB"], ["errors", s.errors],
    ["last error", s.last_error || "–"], ["notices", (s.notices || []).join(" · ") || "–"],
  ];
}

function show(data) {
  const s = data.status;
  if (!s) return;
  current = s;
  $("preset").textContent = s.preset;
  const mode = s.asleep ? "asleep" : s.blackout ? "blackout" : (s.worker && s.worker.mode) || "?";
  $("mode").textContent = mode;
  $("mode").className = "badge" + (mode === "camera" || mode === "attract" ? "" : " alert");
  if (document.activeElement !== $("intensity")) $("intensity").value = s.intensity;
  $("intensity-out").textContent = s.intensity.toFixed(2);
  if (s.feedback != null && document.activeElement !== $("feedback")) $("feedback").value = s.feedback;
  $("freeze").classList.toggle("on", s.frozen);
  $("blackout").classList.toggle("on", !!s.blackout);
  $("record").classList.toggle("on", !!s.recording);
  $("recording").textContent = s.recording || "";
  $("health").replaceChildren(...health(s).flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v == null ? "–" : String(v);
    return [dt, dd];
  }));
  presets(data.presets, s.preset, data.thumbs || {});
  $("log").textContent = (data.log || []).join("\n");
}

function presets(names, active, thumbs) {
  const grid = $("presets");
  if (grid.dataset.names !== names.join("\n")) {
    grid.dataset.names = names.join("\n");
    grid.replaceChildren(...names.map((name) => {
      const b = document.createElement("button");
      const img = document.createElement("img"); img.alt = ""; img.hidden = true;
      const label = document.createElement("span"); label.textContent = name;
      b.append(img, label); b.dataset.preset = name;
      b.addEventListener("click", () => post("select", name));
      return b;
    }));
  }
  for (const b of grid.children) {
    const name = b.dataset.preset, img = b.querySelector("img"), version = String(thumbs[name] || "");
    b.classList.toggle("on", name === active);
    if (version && img.dataset.version !== version) {
      img.dataset.version = version; img.hidden = false;
      img.src = "api/thumb/" + encodeURIComponent(name) + (q ? q + "&" : "?") + "v=" + version;
    }
  }
}

document.querySelectorAll("button[data-action]").forEach((b) =>
  b.addEventListener("click", () => post(b.dataset.action)));
document.querySelectorAll("input[data-action]").forEach((i) =>
  i.addEventListener("change", () => post(i.dataset.action, Number(i.value))));
$("shot-link").href = "api/screenshot" + q;
$("preview").src = "api/preview.mjpg" + q;
const events = new EventSource("api/events" + q);
events.onmessage = (e) => show(JSON.parse(e.data));
events.onerror = () => { $("mode").textContent = "reconnecting…"; $("mode").className = "badge alert"; };
