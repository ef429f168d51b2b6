// The coach's page. It keeps no time of its own: every clock and the cursor come from the
// server's state, which follows the audio clock of the computer that plays.
"use strict";

const $ = (id) => document.getElementById(id);
const OWN = ""; // the Routine list's value for "the routine in the editor"
const SVG = "http://www.w3.org/2000/svg";
const ENDED = { finished: "Session complete", stopped: "Stopped", failed: "Playback failed" };

let shown = null; // the last checked session: its steps place the cursor
let state = { status: "idle" };
let making = false; // the progress bar shows speech made while a session plays
let exportJob = null;
let redraw = null;

function clock(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "–:––";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function spec() {
  const data = { safety: $("safety").checked, ticks: $("ticks").checked };
  if ($("routine").value === OWN) data.text = $("text").value;
  else data.routine = $("routine").value;
  const minutes = $("minutes").value.trim();
  if (minutes) data.minutes = Number(minutes);
  const rate = $("rate").value.trim();
  if (rate) data.rate = Number(rate);
  if ($("voice").value) data.voice = $("voice").value;
  return data;
}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = { error: text.trim() || `${response.status} ${response.statusText}` };
  }
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.data = data;
    throw error;
  }
  return data;
}

function say(lines, kind) {
  const box = $("messages");
  box.replaceChildren();
  if (!lines.length) return;
  const list = document.createElement("ul");
  for (const [text, cls] of lines) {
    const item = document.createElement("li");
    item.className = cls || kind;
    item.textContent = text;
    list.append(item);
  }
  box.append(list);
}

function failed(error) {
  const data = error.data || {};
  const lines = (data.problems || []).map((p) => [`${p.line}: ${p.message}`, "error"]);
  if (!lines.length || (data.error && data.error !== "the routine has problems")) {
    lines.push([data.error || error.message, "error"]);
  }
  say(lines, "error");
}

async function check() {
  if ($("routine").value === OWN && !$("text").value.trim()) {
    say([["Paste or open a routine file first.", "error"]]);
    return;
  }
  $("check").disabled = true;
  try {
    const made = await call("POST", "/api/session", spec());
    shown = made;
    $("summary").textContent =
      `${made.title}: ${clock(made.duration)}, ${made.steps.length} parts`;
    $("picture").innerHTML = made.picture;
    say([
      [`ok: ${made.title}, ${clock(made.duration)}`, "ok"],
      ...made.warnings.map((w) => [w.replace(/^[^:]*:(?=\d+:)/, ""), "warning"]),
      ...made.notes.map((n) => [`note: ${n}`, "note"]),
    ]);
    cursor(state);
  } catch (error) {
    failed(error);
  } finally {
    $("check").disabled = false;
  }
}

function later() {
  clearTimeout(redraw);
  redraw = setTimeout(() => {
    if ($("routine").value !== OWN || $("text").value.trim()) check();
  }, 300);
}

function render(next) {
  state = next;
  const status = next.status;
  const live = status === "playing" || status === "paused" || status === "starting";
  // Emptied, not hidden: the status region's text is exactly what it says.
  $("paused").textContent =
    status === "paused" ? "Paused" : live && next.held ? "Waiting for speech" : "";
  // Speech still being made while it plays: the same bar as before a session starts.
  if (live && next.making) {
    progress("progress-box", "progress", ...next.making);
    making = true;
  } else if (making) {
    $("progress-box").hidden = true;
    making = false;
  }
  $("step-title").textContent = live
    ? next.step_title || "Starting"
    : ENDED[status] || "Choose a routine, then Play";
  $("step-what").textContent = live
    ? [next.technique, next.area].filter(Boolean).join(" · ")
    : "";
  $("step-left").textContent = live ? clock(next.step_left) : "–:––";
  $("session-left").textContent = live ? clock(next.session_left) : "–:––";
  $("next-title").textContent = live && next.next_title ? `Next: ${next.next_title}` : "";
  const caught = live && next.caught_up > 0.05;
  $("caught-up").hidden = !caught;
  $("caught-up").textContent = caught
    ? `Caught up ${next.caught_up.toFixed(1)} s after a stall`
    : "";
  const pause = $("pause");
  pause.textContent = status === "paused" ? "Resume" : "Pause";
  pause.dataset.action = status === "paused" ? "resume" : "pause";
  for (const button of document.querySelectorAll("[data-action]")) button.disabled = !live;
  // A stray tap on Play mid-massage would start again from the top: Stop first.
  $("play").disabled = live;
  cursor(next);
}

function cursor(now) {
  const svg = $("picture").querySelector("svg");
  if (!svg) return;
  let line = svg.querySelector(".coach-cursor");
  const step = shown && shown.steps.find((s) => s.index === now.step);
  const live = now.status === "playing" || now.status === "paused";
  // A step is a group holding one rect per row it covers, in order.
  const shapes = step ? [...svg.querySelectorAll(`[data-step="${now.step}"] > rect`)] : [];
  if (!live || !shapes.length || typeof now.position !== "number") {
    if (line) line.remove();
    return;
  }
  const boxes = shapes.map((e) => e.getBBox()).sort((a, b) => a.y - b.y || a.x - b.x);
  const length = Math.max(step.end - step.start, 1e-9);
  const share = Math.min(1, Math.max(0, (now.position - step.start) / length));
  let along = share * boxes.reduce((sum, b) => sum + b.width, 0);
  let box = boxes[0];
  for (box of boxes) {
    if (along <= box.width) break;
    along -= box.width;
  }
  if (!line) {
    line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "coach-cursor");
    svg.append(line);
  }
  const x = box.x + Math.min(along, box.width);
  line.setAttribute("x1", x);
  line.setAttribute("x2", x);
  line.setAttribute("y1", box.y - 4);
  line.setAttribute("y2", box.y + box.height + 4);
}

function progress(box, bar, done, total) {
  $(box).hidden = done >= total;
  $(bar).max = total;
  $(bar).value = done;
}

function exported(event) {
  if (event.job !== exportJob) return;
  if (event.error) {
    exportJob = null;
    $("export-box").hidden = true;
    $("export").disabled = false;
    say([[event.error, "error"]]);
  } else if (event.finished) {
    exportJob = null;
    $("export-box").hidden = true;
    $("export").disabled = false;
    const links = $("downloads");
    links.replaceChildren();
    const audio = link(`/api/download/${event.job}/audio`, `Download ${event.audio}`);
    links.append(audio);
    if (event.transcript) {
      links.append(" ", link(`/api/download/${event.job}/transcript`, "Transcript (.vtt)"));
    }
    audio.click();
  } else {
    progress("export-box", "export-progress", event.done, event.total + 1);
  }
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.download = "";
  a.textContent = text;
  return a;
}

async function start() {
  const options = await call("GET", "/api/options");
  const routine = $("routine");
  for (const r of options.routines) routine.add(new Option(r.title ? `${r.name}: ${r.title}` : r.name, r.name));
  routine.add(new Option("The routine in the editor below", OWN));
  if (options.routines.some((r) => r.name === "classic-back")) routine.value = "classic-back";
  for (const v of options.voices) $("voice").add(new Option(`${v.name} (${v.engine})`, v.name));
  for (const f of options.formats) $("format").add(new Option(f.toUpperCase(), f));
  $("format").value = "mp3";
  $("minutes").max = options.max_minutes;
  [$("rate").min, $("rate").max] = options.rate;
  render(options.state);

  const events = new EventSource("/api/events");
  events.addEventListener("state", (e) => render(JSON.parse(e.data)));
  events.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    progress("progress-box", "progress", p.done, p.total);
  });
  events.addEventListener("export", (e) => exported(JSON.parse(e.data)));

  $("choose").addEventListener("submit", (e) => {
    e.preventDefault();
    check();
  });
  for (const id of ["routine", "minutes", "voice", "rate", "safety", "ticks"]) {
    $(id).addEventListener("change", later);
  }
  $("text").addEventListener("input", () => {
    routine.value = OWN;
  });
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    if (!file) return;
    if (file.size > options.max_bytes) {
      say([[`${file.name} is over ${options.max_bytes / 1e6} MB, the limit for a routine file`, "error"]]);
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      $("text").value = reader.result;
      routine.value = OWN;
      check();
    };
    reader.readAsText(file);
  });
  $("play").addEventListener("click", async () => {
    $("play").disabled = true; // until it plays: a cold routine is synthesized first
    try {
      // The event stream shows what happens; the answer's own state may already be older.
      await call("POST", "/api/play", spec());
    } catch (error) {
      failed(error);
      render(state);
    }
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", async () => {
      try {
        await call("POST", `/api/control/${button.dataset.action}`);
      } catch (error) {
        failed(error);
      }
    });
  }
  $("export").addEventListener("click", async () => {
    $("export").disabled = true;
    $("downloads").replaceChildren();
    try {
      exportJob = (await call("POST", "/api/export", { ...spec(), format: $("format").value })).job;
      progress("export-box", "export-progress", 0, 1);
    } catch (error) {
      $("export").disabled = false;
      failed(error);
    }
  });
  check();
}

start().catch((error) => say([[`The coach did not answer: ${error.message}`, "error"]]));
