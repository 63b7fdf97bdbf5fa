/**
 * The HTML report: one self-contained file (photos as PNG `data:` URIs,
 * charts as inline SVG, a Content-Security-Policy that forbids any fetch)
 * holding
 *
 * 1. the course's grid: N random photos (seeded), each captioned
 *    `Class:True` / `Class:False` (predicted class : whether it is right);
 * 2. the confusion matrix (rows = true class), per-class precision / recall /
 *    support and the accuracy, as tables with headers;
 * 3. the training curves from the progress lines: train loss, test loss and
 *    test accuracy, one point per line, with the same numbers as a table;
 * 4. the mistakes, most confident first, with every class's probability;
 * 5. the run's facts: data, counts, split, seed, backend, epochs, time, model.
 *
 * Right and wrong are told by words (True / False, ✓ / ✗) and border style,
 * not by colour alone.
 * @module
 */
import type { ClassifierMeta } from "../model/classifier.ts";
import { readModelId } from "../model/model_file.ts";
import type { Evaluation, Scored } from "../score/evaluate.ts";
import { RocksError } from "../util/errors.ts";
import { createRng } from "../util/rng.ts";
import { VERSION } from "../util/version.ts";
import { escapeXml as esc, lineChart } from "./svg_chart.ts";
import { type Thumbnail, thumbnail } from "./thumbnail.ts";

/** What a report is made of. */
export interface ReportInput {
  /** Scores and every photo's probabilities (from `evaluate()` or `evaluateSamples()`). */
  evaluation: Evaluation;
  /** The classifier's facts: recipe, counts, progress lines. */
  meta: ClassifierMeta;
  /** The folder that the evaluation's `file` names are relative to. */
  dataDir: string;
  /** What was scored: `test`, the training run's held-out photos; `folder`, every photo in `dataDir`. */
  scope: "test" | "folder";
  /** The model folder, when there is one. */
  modelDir?: string;
  /** The model's identity. @default the sha256 of `modelDir`'s `weights.bin`, as its `rocks.json` records it */
  modelId?: string;
}

/** Options for {@linkcode renderReport}. */
export interface ReportOptions {
  /** Photos in the course's grid. @default 5 */
  samples?: number;
  /** Seed of the grid's random choice. @default the model's training seed */
  seed?: number;
  /** Side of the thumbnails in pixels. @default 160 */
  thumbnailSize?: number;
  /** Most mistakes shown with their photo (the rest are counted). @default 20 */
  maxMistakes?: number;
  /** Photos larger than this are not pictured. @default 100000000 */
  maxPixels?: number;
  /** When the report was made (shown in it). @default now */
  created?: Date;
  /** Called after each thumbnail is made. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The course's grid: `n` photos drawn at random (seeded) from the scored ones.
 * @param predictions Every scored photo.
 * @param n How many to draw (fewer when there are fewer).
 * @param seed Seed of the draw.
 * @returns The chosen photos, in the drawn order.
 *
 * @example
 * ```ts
 * import { pickGridPhotos } from "./report.ts";
 * const scored = ["a", "b", "c"].map((file) => ({ file, truth: "x", predicted: "x", probabilities: { x: 1 } }));
 * if (pickGridPhotos(scored, 5, 1).length !== 3) throw new Error("wrong");
 * ```
 */
export function pickGridPhotos(predictions: Scored[], n: number, seed: number): Scored[] {
  return createRng(seed).shuffle([...predictions]).slice(0, Math.max(0, n));
}

/**
 * The misclassified photos, most confident mistakes first (highest
 * probability given to the wrong class; ties by file name).
 * @param predictions Every scored photo.
 * @returns The wrong ones, sorted.
 *
 * @example
 * ```ts
 * import { rankMistakes } from "./report.ts";
 * const wrong = rankMistakes([
 *   { file: "a", truth: "x", predicted: "y", probabilities: { x: 0.4, y: 0.6 } },
 *   { file: "b", truth: "x", predicted: "x", probabilities: { x: 0.9, y: 0.1 } },
 *   { file: "c", truth: "y", predicted: "x", probabilities: { x: 0.95, y: 0.05 } },
 * ]);
 * if (wrong.map((s) => s.file).join() !== "c,a") throw new Error("wrong");
 * ```
 */
export function rankMistakes(predictions: Scored[]): Scored[] {
  return predictions
    .filter((p) => p.predicted !== p.truth)
    .sort((a, b) =>
      b.probabilities[b.predicted]! - a.probabilities[a.predicted]! || (a.file < b.file ? -1 : 1)
    );
}

const f3 = (x: number | null | undefined) => (x === null || x === undefined ? "n/a" : x.toFixed(3));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const verdict = (s: Scored) => `${s.predicted}:${s.predicted === s.truth ? "True" : "False"}`;

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --right: #1a7f37; --wrong: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.lede { color: var(--muted); margin: 0 0 8px; } .big { font-size: 1.15rem; }
.note { color: var(--muted); font-size: 0.9rem; }
.grid { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(176px, 1fr)); gap: 14px; }
figure { margin: 0; }
.grid figure { padding: 6px; border: 3px solid var(--right); border-radius: 6px; background: #fafbfc; }
.grid figure.wrong { border: 3px dashed var(--wrong); }
.grid figure img { display: block; width: 100%; height: auto; image-rendering: auto; border-radius: 3px; }
figcaption { font-size: 0.85rem; margin-top: 4px; overflow-wrap: anywhere; }
.verdict { font-weight: 700; font-size: 1rem; } .wrong .verdict { color: var(--wrong); } .right .verdict { color: var(--right); }
.file { color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.78rem; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th { background: #f6f8fa; } th[scope=row], .facts td, .facts th { text-align: left; }
#confusion td.hit { font-weight: 700; background: #eef6ee; } #confusion td.miss-cell:not(.zero) { background: #fdf0ee; }
.tables { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; }
svg .grid { stroke: #eaeef2; } svg .axis, svg .tickmark { stroke: #57606a; } svg .tick { fill: #57606a; } svg text { fill: #1f2328; }
.mistakes img { width: 96px; height: 96px; display: block; }
.missing { width: 100%; aspect-ratio: 1; display: flex; align-items: center; justify-content: center; text-align: center;
  background: #f6f8fa; color: var(--muted); font-size: 0.8rem; padding: 8px; }
details { margin: 8px 0; } summary { cursor: pointer; color: #0550ae; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85rem; }
`;

/** A thumbnail, or a placeholder that says why there is none. */
function picture(t: Thumbnail | { error: string }, alt: string, size: number): string {
  if ("uri" in t) return `<img src="${t.uri}" width="${size}" height="${size}" alt="${esc(alt)}">`;
  return `<div class="missing" role="img" aria-label="${esc(`${alt}: not pictured`)}">Photo not pictured: ${
    esc(t.error)
  }</div>`;
}

function gridSection(
  picks: Scored[],
  total: number,
  thumbs: Map<string, Thumbnail | { error: string }>,
  size: number,
  seed: number,
  scope: ReportInput["scope"],
): string {
  const what = scope === "test" ? "test photos" : "photos";
  if (picks.length === 0) {
    return `<section id="grid" aria-labelledby="grid-h"><h2 id="grid-h">Random ${what}</h2><p>No ${what} were scored.</p></section>`;
  }
  const items = picks.map((s) => {
    const right = s.predicted === s.truth;
    const alt = `Photo ${s.file}, true class ${s.truth}, predicted ${s.predicted} (${
      right ? "right" : "wrong"
    })`;
    return `<li><figure class="${right ? "right" : "wrong"}">${picture(thumbs.get(s.file)!, alt, size)}` +
      `<figcaption><span class="verdict">${esc(verdict(s))}</span> ${right ? "✓" : "✗"} ` +
      `<span class="p">p = ${f3(s.probabilities[s.predicted])}</span><br><span class="file">${
        esc(s.file)
      }</span></figcaption></figure></li>`;
  });
  return `<section id="grid" aria-labelledby="grid-h">
<h2 id="grid-h">${picks.length} random ${what} of ${total}, as the course shows them</h2>
<p class="note">Caption: <strong>predicted class:whether it is right</strong> (True / False, as the course prints it),
then p, the probability the model gave the predicted class. Drawn with seed ${seed}; a solid border is right, a dashed one wrong.
The pictures are the centre view the network sees.</p>
<ul class="grid">
${items.join("\n")}
</ul></section>`;
}

function scoresSection(ev: Evaluation, scope: ReportInput["scope"]): string {
  const c = ev.classes;
  const right = ev.confusion.reduce((s, row, i) => s + row[i]!, 0);
  const head = `<tr><th scope="col">true class ↓ / predicted →</th>${
    c.map((k) => `<th scope="col">${esc(k)}</th>`).join("")
  }<th scope="col">total</th></tr>`;
  const rows = ev.confusion.map((row, i) =>
    `<tr><th scope="row">${esc(c[i]!)}</th>${
      row.map((v, j) =>
        `<td class="${i === j ? "hit" : `miss-cell${v === 0 ? " zero" : ""}`}" title="${
          esc(c[i]!)
        } predicted as ${esc(c[j]!)}">${v}</td>`
      ).join("")
    }<th scope="row" class="sum">${row.reduce((a, b) => a + b, 0)}</th></tr>`
  );
  const perClass = c.map((k) => {
    const s = ev.perClass[k]!;
    return `<tr><th scope="row">${esc(k)}</th><td>${f3(s.precision)}</td><td>${
      f3(s.recall)
    }</td><td>${s.support}</td></tr>`;
  });
  return `<section id="scores" aria-labelledby="scores-h">
<h2 id="scores-h">Scores</h2>
<p class="big">Accuracy <strong id="accuracy">${f3(ev.accuracy)}</strong>: ${right} of ${
    plural(ev.count, scope === "test" ? "test photo" : "photo")
  } right${ev.loss === null ? "" : `; mean NLL loss ${f3(ev.loss)}`}.</p>
<div class="tables">
<table id="confusion"><caption>Confusion matrix (rows: true class; columns: predicted class; the diagonal, in bold, is right)</caption>
<thead>${head}</thead>
<tbody>
${rows.join("\n")}
</tbody></table>
<table id="per-class"><caption>Per class</caption>
<thead><tr><th scope="col">class</th><th scope="col">precision</th><th scope="col">recall</th><th scope="col">support</th></tr></thead>
<tbody>
${perClass.join("\n")}
</tbody></table>
</div>
<p class="note">Precision: of the photos predicted as the class, the fraction that are. Recall: of the photos of the class, the
fraction predicted as it. Support: photos of the class. n/a: undefined (no photo to divide by).</p>
</section>`;
}

function curvesSection(meta: ClassifierMeta): string {
  const h = meta.history;
  if (h.length === 0) {
    return `<section id="curves" aria-labelledby="curves-h"><h2 id="curves-h">Training curves</h2>
<p>No progress lines were recorded: training took fewer optimiser steps than the print interval.</p></section>`;
  }
  const at = (l: (typeof h)[number]) => `step ${l.step} (epoch ${l.epoch}/${l.epochs})`;
  const trainLoss = h.map((l) => ({
    x: l.step,
    y: l.trainLoss,
    label: `${at(l)}: train loss ${f3(l.trainLoss)}`,
  }));
  const tested = h.filter((l) => l.testLoss !== null);
  const testLoss = tested.map((l) => ({
    x: l.step,
    y: l.testLoss!,
    label: `${at(l)}: test loss ${f3(l.testLoss)}`,
  }));
  const testAcc = tested.map((l) => ({
    x: l.step,
    y: l.testAccuracy!,
    label: `${at(l)}: test accuracy ${f3(l.testAccuracy)}`,
  }));
  const loss = lineChart([
    { name: "train loss", id: "train-loss", points: trainLoss, color: "#0550ae" },
    ...(tested.length
      ? [{ name: "test loss", id: "test-loss", points: testLoss, color: "#bc4c00", dashed: true }]
      : []),
  ], {
    title: "Loss by optimiser step",
    description:
      `Mean NLL loss at each of the ${h.length} progress lines: train loss (solid line, filled dots)` +
      (tested.length ? ` and test loss (dashed line, hollow dots).` : `.`),
    xLabel: "optimiser step",
    yLabel: "NLL loss",
    integerX: true,
  });
  const acc = tested.length
    ? lineChart([{ name: "test accuracy", id: "test-accuracy", points: testAcc, color: "#1a7f37" }], {
      title: "Test accuracy by optimiser step",
      description: `Accuracy on the test photos at each of the ${tested.length} progress lines, from 0 to 1.`,
      xLabel: "optimiser step",
      yLabel: "test accuracy",
      integerX: true,
      yMin: 0,
      yMax: 1,
    })
    : `<p>No test photos: no test loss or accuracy.</p>`;
  const every = h.length > 1 ? h[1]!.step - h[0]!.step : h[0]!.step;
  const rows = h.map((l) =>
    `<tr><td>${l.epoch}/${l.epochs}</td><td>${l.step}</td><td>${f3(l.trainLoss)}</td><td>${
      f3(l.testLoss)
    }</td><td>${f3(l.testAccuracy)}</td></tr>`
  );
  return `<section id="curves" aria-labelledby="curves-h">
<h2 id="curves-h">Training curves (${plural(h.length, "progress line")})</h2>
<p class="note">One point per progress line the course prints (${
    every === 1 ? "every step" : `every ${every} steps`
  }): train loss is the mean over the steps since the previous line; test loss and accuracy are over all test photos.</p>
<figure class="plain">${loss}</figure>
<figure class="plain">${acc}</figure>
<details><summary>The progress lines as a table</summary>
<table id="history"><caption>Progress lines</caption>
<thead><tr><th scope="col">epoch</th><th scope="col">step</th><th scope="col">train loss</th><th scope="col">test loss</th><th scope="col">test accuracy</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table></details>
</section>`;
}

function mistakesSection(
  ev: Evaluation,
  wrong: Scored[],
  shown: number,
  thumbs: Map<string, Thumbnail | { error: string }>,
): string {
  if (wrong.length === 0) {
    return `<section id="mistakes" aria-labelledby="mistakes-h"><h2 id="mistakes-h">Mistakes</h2>
<p>None: every one of the ${plural(ev.count, "photo")} was classified right.</p></section>`;
  }
  const rows = wrong.slice(0, shown).map((s, i) => {
    const alt = `Photo ${s.file}, true class ${s.truth}, predicted ${s.predicted}`;
    return `<tr><td>${i + 1}</td><td>${picture(thumbs.get(s.file)!, alt, 96)}</td>` +
      `<th scope="row"><span class="verdict">${esc(verdict(s))}</span> ✗<br><span class="file">${
        esc(s.file)
      }</span></th><td>${esc(s.truth)}</td>${
        ev.classes.map((c) => `<td>${f3(s.probabilities[c])}</td>`).join("")
      }</tr>`;
  });
  const more = wrong.length > shown ? `<p class="note">And ${wrong.length - shown} more not listed.</p>` : "";
  return `<section id="mistakes" aria-labelledby="mistakes-h">
<h2 id="mistakes-h">Mistakes, most confident first (${wrong.length} of ${ev.count})</h2>
<table class="mistakes"><caption>Misclassified photos and the probability given to each class</caption>
<thead><tr><th scope="col">#</th><th scope="col">photo</th><th scope="col">predicted:right? / file</th><th scope="col">true class</th>${
    ev.classes.map((c) => `<th scope="col">p(${esc(c)})</th>`).join("")
  }</tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>${more}</section>`;
}

function factsSection(input: ReportInput, created: Date): string {
  const t = input.meta.training;
  const ev = input.evaluation;
  const facts: [string, string][] = [
    ["Trained on", t.data],
    ["Photos", `${t.trainCount} trained on, ${t.testCount} held out for testing`],
    ["Split", `${t.split}, test fraction ${t.testFraction}`],
    ["Seed", String(t.seed)],
    ["Recipe", `${plural(t.epochs, "epoch")}, batch ${t.batchSize}, lr ${t.lr}, augment ${t.augment}`],
    ["Backend", t.backend],
    ["Training time", `${t.seconds.toFixed(1)} s`],
    ["Classes", input.meta.classes.join(", ")],
    ["Model", input.modelDir ?? "(not saved)"],
    ...(input.modelId ? [["Model id", `weights sha256 ${input.modelId}`] as [string, string]] : []),
    ["Model made", input.meta.created],
    ["Trunk", `${input.meta.trunk.id} (sha256 ${input.meta.trunk.sha256.slice(0, 16)}…)`],
    [
      "Scored on",
      input.scope === "test"
        ? `the ${plural(ev.count, "test photo")} of ${input.dataDir} (the training run's held-out side)`
        : `every photo in ${input.dataDir} (${ev.count})`,
    ],
    ["Skipped", ev.skipped.length ? ev.skipped.map((s) => `${s.file}: ${s.reason}`).join("; ") : "none"],
    ["Report made", `${created.toISOString()} by rocks ${VERSION}`],
  ];
  return `<section id="facts-section" aria-labelledby="facts-h">
<h2 id="facts-h">The run</h2>
<table class="facts" id="facts"><caption>Facts of the training run and of this report</caption>
<tbody>
${facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("\n")}
</tbody></table></section>`;
}

/**
 * Renders the report as one self-contained HTML document.
 *
 * Requires --allow-read (the photos, for their thumbnails; the model folder, for its id).
 * @param input The evaluation, the model's facts, where the photos are.
 * @param options Grid size and seed, thumbnail size.
 * @returns The HTML text.
 * @example
 * ```ts
 * import { evaluate, openEmbedder, renderReport, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const data = "../shared/data/space-rocks";
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, data, { preset: "course", epochs: 1, viewSize: 64 });
 * const evaluation = await evaluate(embedder, classifier, data);
 * const html = await renderReport({ evaluation, meta: classifier.meta, dataDir: data, scope: "folder" });
 * if (!html.includes(":True") && !html.includes(":False")) throw new Error("the course's captions");
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export async function renderReport(input: ReportInput, options: ReportOptions = {}): Promise<string> {
  if (input.modelId === undefined && input.modelDir !== undefined) {
    const modelId = await readModelId(input.modelDir);
    if (modelId) input = { ...input, modelId };
  }
  const ev = input.evaluation;
  const seed = options.seed ?? input.meta.training.seed;
  const size = options.thumbnailSize ?? 160;
  const created = options.created ?? new Date();
  const picks = pickGridPhotos(ev.predictions, options.samples ?? 5, seed);
  const wrong = rankMistakes(ev.predictions);
  const shownWrong = Math.min(wrong.length, options.maxMistakes ?? 20);

  // Thumbnails of every pictured photo, once each.
  const files = [...new Set([...picks, ...wrong.slice(0, shownWrong)].map((s) => s.file))];
  const thumbs = new Map<string, Thumbnail | { error: string }>();
  for (const [i, file] of files.entries()) {
    try {
      thumbs.set(file, await thumbnail(`${input.dataDir}/${file}`, size, options.maxPixels));
    } catch (e) {
      if (!(e instanceof RocksError)) throw e;
      thumbs.set(file, { error: e.message });
    }
    options.onProgress?.(i + 1, files.length);
  }

  const classes = input.meta.classes;
  const title = `rocks report: ${classes.join(" vs ")}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="generator" content="rocks ${esc(VERSION)}">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
<p class="lede">A frozen ImageNet ResNet50 and a small trained head, as in Microsoft Learn's "Classify space rocks".
Model ${esc(input.modelDir ?? "(not saved)")}, ${plural(input.meta.training.epochs, "epoch")}, accuracy ${
    f3(ev.accuracy)
  } on ${plural(ev.count, input.scope === "test" ? "test photo" : "photo")}.</p>
</header>
${gridSection(picks, ev.count, thumbs, size, seed, input.scope)}
${scoresSection(ev, input.scope)}
${curvesSection(input.meta)}
${mistakesSection(ev, wrong, shownWrong, thumbs)}
${factsSection(input, created)}
<footer>Made by rocks ${esc(VERSION)} on ${
    esc(created.toISOString())
  }. Self-contained: the photos are embedded, the charts are drawn in the page, nothing is fetched.</footer>
</main>
</body>
</html>
`;
}

/**
 * Renders the report and writes it to a file.
 *
 * Requires --allow-read (photos, model folder) and --allow-write (`path`).
 * @param path The HTML file to write.
 * @param input The evaluation, the model's facts, where the photos are.
 * @param options Grid size and seed, thumbnail size.
 * @returns The number of bytes written.
 * @throws {RocksError} When the file cannot be written.
 * @example
 * ```ts
 * import { evaluate, openEmbedder, saveClassifier, trainFolder, writeReport } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const data = "../shared/data/space-rocks";
 * const dir = await Deno.makeTempDir();
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier, split } = await trainFolder(embedder, data, { preset: "course", epochs: 1, viewSize: 64 });
 * await saveClassifier(`${dir}/model`, classifier);
 * const test = { root: data, classes: classifier.meta.classes, samples: split.test, skipped: [] };
 * const evaluation = await evaluate(embedder, classifier, test);
 * const bytes = await writeReport(`${dir}/report.html`, {
 *   evaluation,
 *   meta: classifier.meta,
 *   dataDir: data,
 *   scope: "test",
 *   modelDir: `${dir}/model`,
 * }, { samples: 5 });
 * if (bytes < 10_000) throw new Error("a report with five photos in it");
 * classifier.dispose();
 * embedder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReport(
  path: string,
  input: ReportInput,
  options: ReportOptions = {},
): Promise<number> {
  const bytes = new TextEncoder().encode(await renderReport(input, options));
  try {
    await Deno.writeFile(path, bytes);
  } catch (e) {
    if (
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied ||
      e instanceof Deno.errors.IsADirectory
    ) {
      throw new RocksError("input", `Cannot write the report to ${path}: ${e.message}`, path);
    }
    throw e;
  }
  return bytes.length;
}
