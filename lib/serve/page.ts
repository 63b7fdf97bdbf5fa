/**
 * The page `rocks serve` shows at `/`: pick or drop photos, see each one's
 * class and a bar per class probability, captioned as the course captions
 * them (`Basalt`, `p = 0.973`). One self-contained HTML document: its style
 * and script are inline and allowed by a Content-Security-Policy nonce
 * (`default-src 'none'`), it fetches only this server's own API
 * (`connect-src 'self'`), shows the photos from `blob:` URLs, and loads no
 * font, script or picture from anywhere else, so it works offline.
 *
 * Keyboard and screen readers: the photo picker is the browser's own file
 * input (focusable, with a label); results are announced through an
 * `aria-live` region; every bar also says its class and percentage in words,
 * and the predicted class is marked with words and a ✓, never by colour
 * alone.
 * @module
 */

/**
 * The Content-Security-Policy the page is served with.
 * @param nonce The nonce of its inline style and script (base64).
 * @returns The header's value.
 * @example
 * ```ts
 * import { pageCsp } from "./page.ts";
 * if (!pageCsp("abc").startsWith("default-src 'none'")) throw new Error("nothing allowed by default");
 * ```
 */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --accent: #0550ae; --bar: #3b6ea8; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main, header, footer { max-width: 1000px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
.lede, .note, footer { color: var(--muted); }
#model { margin: 0 0 12px; }
#drop { border: 2px dashed var(--line); border-radius: 8px; padding: 16px; margin: 12px 0; }
#drop.over { border-color: var(--accent); border-style: solid; background: #f0f6ff; }
label { font-weight: 600; display: block; margin-bottom: 6px; }
input[type=file], input[type=password] { font: inherit; }
input:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#auth { margin: 12px 0; }
#results { list-style: none; padding: 0; margin: 16px 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 16px; }
.result { border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
.result.error { border: 2px dashed var(--bad); }
figure { margin: 0; }
figure img { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 4px; background: #f6f8fa; }
figcaption { margin-top: 6px; overflow-wrap: anywhere; }
.caption { font-weight: 700; font-size: 1.15rem; }
.file { display: block; color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.8rem; }
.why { color: var(--bad); }
.bars { margin: 8px 0 0; padding: 0; }
.bars div { display: grid; grid-template-columns: minmax(5em, auto) 1fr 4.5em; gap: 6px; align-items: center; font-size: 0.9rem; }
.bars dt { overflow-wrap: anywhere; } .bars dt.top { font-weight: 700; }
.bars dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.track { height: 12px; border: 1px solid var(--ink); border-radius: 3px; background: #fff; overflow: hidden; }
.fill { height: 100%; width: 0; background: var(--bar); }
.top .fill, .fill.top { background: var(--ink); }
footer { font-size: 0.85rem; padding-bottom: 32px; }
`;

/**
 * The script: reads the model's facts, sends each photo chosen or dropped
 * to `/predict` (two at a time, waiting and retrying on 503), and shows the
 * answers. It builds the page with `textContent` only (a file name is never
 * read as HTML).
 */
const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const results = $("results"), status = $("status"), modelLine = $("model"), auth = $("auth"), tokenInput = $("token");
let classes = [];
const headers = () => (tokenInput.value ? { authorization: "Bearer " + tokenInput.value } : {});
const el = (tag, props, ...kids) => {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const k of kids) e.append(k);
  return e;
};
const pct = (p) => (100 * p).toFixed(1) + " %";

async function loadModel() {
  try {
    const r = await fetch("model", { headers: headers() });
    if (r.status === 401) {
      auth.hidden = false;
      modelLine.textContent = "This server needs an access token: type it below.";
      return;
    }
    const m = await r.json();
    if (!r.ok) throw new Error(m.error || r.statusText);
    classes = m.classes;
    const acc = m.metrics && m.metrics.accuracy !== null
      ? "test accuracy " + m.metrics.accuracy.toFixed(3) + " on " + m.metrics.count + " photos"
      : "no test accuracy (trained without held-out photos)";
    modelLine.textContent = "Model" + (m.name ? " " + m.name : "") + ": classes " + m.classes.join(", ") +
      "; " + acc + "; " + m.viewSize + " px views; runs on " + m.backend + ".";
    modelLine.dataset.classes = m.classes.join(",");
  } catch (e) {
    modelLine.textContent = "Could not read the model's facts: " + e.message;
  }
}

function card(file) {
  const img = el("img", { src: URL.createObjectURL(file), alt: "Photo " + file.name });
  const caption = el("span", { className: "caption", textContent: "Classifying…" });
  const p = el("span", { className: "p" });
  const li = el("li", { className: "result" },
    el("figure", {}, img, el("figcaption", {}, caption, " ", p, el("span", { className: "file", textContent: file.name }))));
  li.dataset.state = "pending";
  results.append(li);
  return { li, caption, p };
}

function show(view, entry) {
  const { li, caption, p } = view;
  if ("error" in entry) {
    li.dataset.state = "error";
    li.classList.add("error");
    caption.textContent = "Error: not classified";
    p.replaceWith(el("span", { className: "why", textContent: " " + entry.error }));
    return;
  }
  const prob = entry.probabilities[entry.class];
  li.dataset.state = "done";
  li.dataset.class = entry.class;
  li.dataset.probability = String(prob);
  caption.textContent = entry.class;
  p.textContent = "p = " + prob.toFixed(3);
  const bars = el("dl", { className: "bars" });
  bars.setAttribute("aria-label", "Probability of each class");
  for (const c of Object.keys(entry.probabilities)) {
    const q = entry.probabilities[c], top = c === entry.class;
    const fill = el("div", { className: "fill" + (top ? " top" : "") });
    fill.style.width = (100 * q).toFixed(1) + "%";
    const track = el("span", { className: "track" }, fill);
    track.setAttribute("aria-hidden", "true");
    bars.append(el("div", {}, el("dt", { className: top ? "top" : "", textContent: c + (top ? " ✓" : "") }), track,
      el("dd", { textContent: pct(q) })));
  }
  li.append(bars);
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

async function classify(file, view) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const form = new FormData();
    form.append("file", file, file.name);
    let r;
    try {
      r = await fetch("predict", { method: "POST", body: form, headers: headers() });
    } catch (e) {
      return show(view, { file: file.name, error: "the server could not be reached (" + e.message + ")" });
    }
    if (r.status === 503) {
      status.textContent = "The server is busy: waiting to send " + file.name + "…";
      await sleep(Math.min(30, Number(r.headers.get("retry-after")) || 2));
      continue;
    }
    const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (r.status === 401) {
      auth.hidden = false;
      tokenInput.focus();
    }
    if (Array.isArray(body)) return show(view, body[0]);
    const entry = body.predictions && body.predictions[0];
    return show(view, entry || { file: file.name, error: body.error || r.status + " " + r.statusText });
  }
  show(view, { file: file.name, error: "the server stayed busy; try again later" });
}

async function handle(files) {
  const photos = [...files];
  if (photos.length === 0) return;
  status.textContent = "Classifying " + photos.length + " photo" + (photos.length === 1 ? "" : "s") + "…";
  const queue = photos.map((f) => [f, card(f)]);
  let done = 0;
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      await classify(next[0], next[1]);
      done++;
    }
  };
  await Promise.all([worker(), worker()]);
  status.textContent = "Done: " + done + " photo" + (done === 1 ? "" : "s") + " classified (newest last).";
}

$("files").addEventListener("change", (e) => {
  handle(e.target.files);
  e.target.value = "";
});
const drop = $("drop");
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
document.addEventListener("dragleave", (e) => {
  if (e.target === document.documentElement || e.target === drop) drop.classList.remove("over");
});
document.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  handle(e.dataTransfer.files);
});
tokenInput.addEventListener("change", loadModel);
loadModel();
`;

/**
 * The page's HTML.
 * @param nonce The nonce of its inline style and script; {@linkcode pageCsp} with the same nonce must be sent with it.
 * @returns The whole document.
 * @example
 * ```ts
 * import { pageHtml } from "./page.ts";
 * const html = pageHtml("abc");
 * if (!html.includes('<input id="files" type="file"')) throw new Error("a real file input");
 * ```
 */
export function pageHtml(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>rocks: classify photos</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
<h1>rocks: classify photos</h1>
<p id="model" aria-live="polite">Reading the model's facts…</p>
</header>
<main>
<section id="drop" aria-labelledby="pick">
<label id="pick" for="files">Choose photos (JPEG or PNG, one or many)</label>
<input id="files" type="file" accept="image/jpeg,image/png,.jpg,.jpeg,.png" multiple>
<p class="note">…or drop photos anywhere on this page. They are sent to this server only.</p>
</section>
<div id="auth" hidden>
<label for="token">Access token (this server was started with --token)</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
</div>
<p id="status" role="status" aria-live="polite"></p>
<h2 class="note">Results, newest last: the predicted class, its probability p, and a bar per class</h2>
<ol id="results" aria-live="polite" aria-relevant="additions text"></ol>
</main>
<footer>rocks serve: a frozen ImageNet ResNet50 and a trained head. The page works offline; nothing is loaded from elsewhere.</footer>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
