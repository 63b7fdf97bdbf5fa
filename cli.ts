/**
 * `rocks`: the command line over `mod.ts`. It parses arguments, calls the
 * library, prints, and turns the library's {@linkcode RocksError} into an exit
 * code (0 success, 1 failure, 2 usage error). Heavy modules load lazily, so
 * `--help` and `--version` answer at once.
 * @module
 */
import { parseArgs } from "node:util";
import { RocksError, throwIfAborted } from "./lib/errors.ts";
import { ProgressBar } from "./lib/progress_bar.ts";
import { VERSION } from "./lib/version.ts";
import { DEFAULT_PRESET, presetOptions, savedPreset } from "./lib/presets.ts";

/** Top-level help. */
export const HELP = `rocks ${VERSION}: tell lunar basalt from highland rock (or any photo classes)
with a frozen ImageNet ResNet50 and a small trained head.

Usage: rocks <command> [options]

Commands:
  train <data-dir>                      train on one sub-folder per class, save the classifier
  eval <model-dir> <data-dir>           accuracy, per-class precision/recall, confusion matrix
  report <model-dir> <data-dir>         an HTML report: captioned photos, confusion matrix, curves
  predict <model-dir> <photo|folder>... class and probabilities of each photo
  eval-recipe <data-dir>                grouped k-fold cross-validation of a training recipe
  info [model-dir]                      versions, backend, weights; a model's facts
  demo [--data DIR]                     the course end to end: train, test, predict 5 photos

Options for every command: --help, --version, --backend auto|webgpu|wasm|cpu
Progress bars (on stderr) show on a terminal; --quiet hides them, --progress forces them.
Exit codes: 0 success, 1 failure (nothing useful could be done), 2 usage error,
130 / 143 stopped by Ctrl-C / SIGTERM (train keeps the previous model and the cache).
Run "rocks <command> --help" for a command's options.`;

/** Help of each command. */
export const COMMAND_HELP: Record<string, string> = {
  train: `Usage: rocks train <data-dir> [options]

Trains the course's head (Linear 2048→512, ReLU, Dropout 0.2, Linear 512→C,
LogSoftmax; NLL loss, Adam) on frozen ResNet50 embeddings of the photos in
<data-dir>/<class>/... and saves it.

Recipe: --preset rocks (the default) or --preset course (the notebook's run
exactly); the recipe options below override the preset's values.
  preset   epochs batch  lr     augment  view  l2normalize
  course   5      16     0.003  crop     224   no
  rocks    60     16     0.001  none     448   yes   (grouped CV 0.932 vs 0.892; bench/ACCURACY.md)

Options:
  --out DIR              model folder to write (default ./rock-model)
  --preset NAME          rocks (default) or course
  --epochs N             passes over the training photos
  --batch N              photos per Adam step
  --lr X                 Adam learning rate
  --augment crop|none    a fresh RandomResizedCrop each epoch, or the centre view
  --view-size N          side of the square the network sees, 32 to 1024
  --l2normalize          scale each embedding to unit length before the head
  --test-fraction F      fraction held out for testing, 0 ≤ F < 1 (default 0.2;
                         0 trains on every photo and reports no test metrics)
  --split random|group   random by photo, or whole photo series on one side (default random)
  --groups FILE          file,group CSV overriding the series rule (default <data-dir>/groups.csv)
  --seed N               seed of split, crops, weights, dropout (default 1)
  --print-every N        progress line every N steps (default 5)
  --max-pixels N         skip photos larger than N pixels (default 100000000)
  --workers N            embedding workers, one trunk each (default: one per core)
  --cache DIR            embedding cache folder (default $XDG_CACHE_HOME/rocks or ~/.cache/rocks)
  --no-cache             embed without the cache
  --resume MODEL_DIR     continue training that model's head (same classes)
  --backend NAME         auto|webgpu|wasm|cpu (default auto)
  --report FILE          then score the test photos and write an HTML report there
                         (see rocks report --help); --samples N photos in its grid (default 5)
  --json                 print one JSON object on stdout (progress goes to stderr)
  --quiet                no progress bar
  --progress             draw the progress bar on stderr even when it is not a terminal
                         or with --json (stdout stays clean)`,
  "eval-recipe": `Usage: rocks eval-recipe <data-dir> [options]

Grouped, class-stratified k-fold cross-validation of a training recipe: the
photos are dealt to folds by photo series (see --split group in rocks train),
each fold is scored by a head trained on the other folds. Reports the mean ±
standard deviation of the fold accuracies, each class's recall, and the photo
series the recipe gets most wrong. This is the number to compare recipes by.

Options:
  --preset NAME     rocks (default) or course; the options below override it
  --epochs N, --batch N, --lr X, --augment crop|none, --view-size N, --l2normalize
                    the recipe (as in rocks train)
  --folds K         folds (default 5)
  --repeats N       repeat with other group shuffles (default 1)
  --seed N          seed of the first repeat and of training (default 1)
  --groups FILE     file,group CSV overriding the series rule
  --workers N, --cache DIR, --no-cache, --max-pixels N, --backend NAME   as in rocks train
  --json            print one JSON object: accuracy {mean, std}, recall, folds, worstGroups, confusion`,
  eval: `Usage: rocks eval <model-dir> <data-dir> [options]

Scores a saved classifier on a labelled folder (one sub-folder per class).

Options:
  --backend NAME   auto|webgpu|wasm|cpu (default auto)
  --json           print one JSON object: accuracy, count, classes, perClass, confusion, skipped
  --report FILE    also write an HTML report there (see rocks report --help)
  --samples N      photos in the report's grid (default 5)
  --seed N         seed of the grid's choice (default the model's training seed)
  --quiet          no progress bar
  --progress       draw the progress bar on stderr even when it is not a terminal`,
  report: `Usage: rocks report <model-dir> <data-dir> [options]

Scores a saved classifier on every photo of a labelled folder and writes one
self-contained HTML file (no network, photos embedded): the course's grid of
random photos captioned Class:True / Class:False with the probability, the
confusion matrix with per-class precision / recall / support and accuracy,
the training curves from the model's progress lines, the mistakes (most
confident first) and the run's facts. Pass photos the model was not trained
on (rocks train --report uses the run's own test photos).

Options:
  --out FILE       the HTML file to write (default ./rocks-report.html)
  --samples N      photos in the grid (default 5)
  --seed N         seed of the grid's choice (default the model's training seed)
  --backend NAME   auto|webgpu|wasm|cpu (default auto)
  --quiet          no progress bar
  --progress       draw the progress bar on stderr even when it is not a terminal`,
  predict: `Usage: rocks predict <model-dir> <photo|folder>... [options]

Predicts the class of each photo (folders are searched for .jpg, .jpeg, .png).

Options:
  --json           print a JSON array of { file, class, probabilities } ({ file, error } when unreadable)
  --csv            print CSV: file,class,<one column per class>,error
  --backend NAME   auto|webgpu|wasm|cpu (default auto)
  --quiet          no progress bar
  --progress       draw the progress bar on stderr even when it is not a terminal`,
  info: `Usage: rocks info [model-dir] [options]

Shows versions, the backend "auto" picks and why, where the ResNet50 weights
are and whether their checksums verify. With a model folder: its classes,
trunk, preprocessing, training options and scores.

Options:
  --backend NAME   auto|webgpu|wasm|cpu (default auto)
  --json           print one JSON object`,
  demo: `Usage: rocks demo [--data DIR] [options]

Runs the course end to end on the Learn photos: trains with the course's
defaults (printing its progress lines), reports the test accuracy, saves the
classifier to --out, and predicts 5 random test photos, printed as
Class:True/False.

Options:
  --data DIR       the Learn photos (default ../shared/data/space-rocks)
  --out DIR        model folder to write (default ./rock-model)
  --seed N         seed (default 1)
  --backend NAME   auto|webgpu|wasm|cpu (default auto)
  --report FILE    also write an HTML report of the test photos there
  --quiet          no progress bar
  --progress       draw the progress bar on stderr even when it is not a terminal`,
};

/** Where the course's photos come from, for when they are missing. */
const DATA_HINT =
  `The course's photos are the Data.zip of the Microsoft Learn module "Classify space rocks" ` +
  `(one folder per class: Basalt, Highland). Unzip it and pass its folder with --data DIR.`;

/** Where the CLI writes. */
export interface Io {
  /** Writes a line to stdout. */
  out: (text: string) => void;
  /** Writes a line to stderr. */
  err: (text: string) => void;
  /** Writes raw text to stderr (the progress bar: `\r`, no newline). */
  write: (text: string) => void;
  /** Whether stderr is a terminal. */
  isTty: boolean;
  /** The terminal's width, when known. */
  columns?: number;
  /** A stop request (Ctrl-C, SIGTERM), aborted with the signal's name; `train` and `demo` watch it. */
  signal?: AbortSignal;
  /**
   * Told, once the command is known, whether it watches `signal` (stops
   * cleanly at the next step); a host should end other commands at once.
   */
  watchesSignal?: (yes: boolean) => void;
}

/** Exit code of a run stopped by a signal: 128 + its number (SIGINT 2, SIGTERM 15). */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Options that cannot be given together. */
const CONFLICTS: [string, string][] = [
  ["json", "csv"],
  ["cache", "no-cache"],
  ["progress", "quiet"],
];

/** Most embedding workers: each holds its own ResNet50 (about 200 MB). */
const MAX_WORKERS = 64;

const optionSpecs = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  json: { type: "boolean" },
  csv: { type: "boolean" },
  backend: { type: "string" },
  out: { type: "string" },
  data: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  "test-fraction": { type: "string" },
  split: { type: "string" },
  groups: { type: "string" },
  seed: { type: "string" },
  augment: { type: "string" },
  "print-every": { type: "string" },
  "max-pixels": { type: "string" },
  workers: { type: "string" },
  cache: { type: "string" },
  "no-cache": { type: "boolean" },
  resume: { type: "string" },
  report: { type: "string" },
  samples: { type: "string" },
  progress: { type: "boolean" },
  quiet: { type: "boolean" },
  preset: { type: "string" },
  "view-size": { type: "string" },
  l2normalize: { type: "boolean" },
  folds: { type: "string" },
  repeats: { type: "string" },
} as const;

/** Which options each command takes (besides --help and --version). */
const ALLOWED: Record<string, string[]> = {
  train: [
    "out",
    "epochs",
    "batch",
    "lr",
    "test-fraction",
    "split",
    "groups",
    "seed",
    "augment",
    "print-every",
    "max-pixels",
    "backend",
    "json",
    "workers",
    "cache",
    "no-cache",
    "resume",
    "report",
    "samples",
    "progress",
    "quiet",
    "preset",
    "view-size",
    "l2normalize",
  ],
  "eval-recipe": [
    "preset",
    "epochs",
    "batch",
    "lr",
    "augment",
    "view-size",
    "l2normalize",
    "folds",
    "repeats",
    "seed",
    "groups",
    "backend",
    "workers",
    "cache",
    "no-cache",
    "max-pixels",
    "json",
    "progress",
    "quiet",
  ],
  eval: [
    "backend",
    "json",
    "workers",
    "cache",
    "no-cache",
    "max-pixels",
    "report",
    "samples",
    "seed",
    "progress",
    "quiet",
  ],
  report: [
    "out",
    "samples",
    "seed",
    "backend",
    "workers",
    "cache",
    "no-cache",
    "max-pixels",
    "progress",
    "quiet",
  ],
  predict: ["backend", "json", "csv", "workers", "cache", "no-cache", "max-pixels", "progress", "quiet"],
  info: ["backend", "json"],
  demo: [
    "data",
    "out",
    "seed",
    "backend",
    "workers",
    "cache",
    "no-cache",
    "report",
    "samples",
    "progress",
    "quiet",
  ],
};

type Values = {
  [K in keyof typeof optionSpecs]?: (typeof optionSpecs)[K]["type"] extends "boolean" ? boolean : string;
};

function usage(message: string): never {
  throw new RocksError("usage", message);
}

function num(
  values: Values,
  name: keyof Values,
  opts: { integer?: boolean; min?: number; max?: number; below?: number },
) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) usage(`--${name} must be a number, got "${raw}"`);
  if (opts.integer && !Number.isInteger(n)) usage(`--${name} must be a whole number, got "${raw}"`);
  if (opts.min !== undefined && n < opts.min) usage(`--${name} must be at least ${opts.min}, got ${n}`);
  if (opts.below !== undefined && n >= opts.below) usage(`--${name} must be below ${opts.below}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) usage(`--${name} must be at most ${opts.max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(values: Values, name: keyof Values, choices: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(String(raw))) {
    usage(`Unknown --${name} "${raw}": expected ${choices.map((c) => `"${c}"`).join(" or ")}`);
  }
  return raw as T;
}

const fmt3 = (x: number | null | undefined) => (x === null || x === undefined ? "n/a" : x.toFixed(3));

/** The course's progress line. */
export function progressLine(l: import("./lib/classifier.ts").ProgressLine): string {
  const head = `Epoch ${l.epoch}/${l.epochs}.. Train loss: ${l.trainLoss.toFixed(3)}..`;
  if (l.testLoss === null) return head;
  return `${head} Test loss: ${fmt3(l.testLoss)}.. Test accuracy: ${fmt3(l.testAccuracy)}`;
}

function metricsText(m: import("./lib/metrics.ts").Metrics): string {
  const width = Math.max(9, ...m.classes.map((c) => c.length));
  const lines = [`Accuracy: ${fmt3(m.accuracy)} on ${m.count} photos`, ""];
  lines.push(`${"class".padEnd(width)}  precision  recall  support`);
  for (const c of m.classes) {
    const s = m.perClass[c]!;
    lines.push(
      `${c.padEnd(width)}  ${fmt3(s.precision).padStart(9)}  ${fmt3(s.recall).padStart(6)}  ${
        String(s.support).padStart(7)
      }`,
    );
  }
  lines.push("", `Confusion matrix (rows: true class, columns: predicted)`);
  lines.push(`${"".padEnd(width)}  ${m.classes.map((c) => c.padStart(Math.max(6, c.length))).join("  ")}`);
  m.confusion.forEach((row, i) => {
    lines.push(
      `${m.classes[i]!.padEnd(width)}  ${
        row.map((v, j) => String(v).padStart(Math.max(6, m.classes[j]!.length))).join("  ")
      }`,
    );
  });
  return lines.join("\n");
}

function skippedText(skipped: { file: string; reason: string }[]): string {
  if (skipped.length === 0) return "";
  return [
    `Skipped ${skipped.length} file${skipped.length > 1 ? "s" : ""}:`,
    ...skipped.map((s) => `  ${s.file}: ${s.reason}`),
  ]
    .join("\n");
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Lines on stdout and stderr, printed above the progress bar when one is drawn. */
interface Screen {
  /** A line on stdout. */
  out: (text: string) => void;
  /** A line on stderr. */
  err: (text: string) => void;
  /** Starts a bar (ending any previous one); it is drawn only where bars are wanted. */
  start: (label: string, unit?: string) => void;
  /** Moves the bar on. */
  update: (done: number, total: number) => void;
  /** Leaves the bar's final state on its own line. */
  finish: () => void;
}

/**
 * The bar shows on a terminal unless --quiet, --json or --csv; --progress
 * forces it (still on stderr, so stdout stays clean).
 */
function screen(io: Io, values: Values): Screen {
  if (values.progress && values.quiet) usage(`--progress and --quiet cannot be used together`);
  const wanted = values.progress === true ||
    (io.isTty && !values.quiet && !values.json && !values.csv);
  let bar: ProgressBar | undefined;
  const above = (print: () => void) => (bar ? bar.above(print) : print());
  return {
    out: (t) => above(() => io.out(t)),
    err: (t) => above(() => io.err(t)),
    start(label, unit) {
      bar?.finish();
      bar = wanted
        ? new ProgressBar({
          write: io.write,
          label,
          ...(unit ? { unit } : {}),
          ...(io.columns ? { columns: io.columns } : {}),
        })
        : undefined;
    },
    update: (done, total) => bar?.update(done, total),
    finish() {
      bar?.finish();
      bar = undefined;
    },
  };
}

/** Opens the embedder the options describe: a worker pool (or this thread) behind the cache. */
async function openEmbedderFor(values: Values, io: Pick<Io, "err">, photos?: number) {
  const rocks = await import("./mod.ts");
  if (values.cache !== undefined && values["no-cache"]) {
    usage(`--cache and --no-cache cannot be used together`);
  }
  const requested = num(values, "workers", { integer: true, min: 0, max: MAX_WORKERS }) ??
    navigator.hardwareConcurrency ?? 1;
  // No more workers than photos: predicting one photo needs one trunk.
  const workers = photos === undefined ? requested : Math.min(requested, Math.max(1, photos));
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  return await rocks.openEmbedder({
    backend: rocks.parseBackendName(values.backend ?? "auto"),
    workers,
    cache: values["no-cache"] ? false : values.cache ?? rocks.defaultCacheDir(),
    ...(maxPixels !== undefined ? { maxPixels } : {}),
    onWarning: (m: string) => io.err(`warning: ${m}`),
  });
}

function backendLine(
  e: { backend: { name: string; simd: boolean; reason: string }; workers: number },
): string {
  const where = e.workers ? `${e.workers} worker${e.workers > 1 ? "s" : ""}` : "this thread";
  return `Backend: ${e.backend.name}${e.backend.simd ? " (SIMD)" : ""}, ${where}: ${e.backend.reason}`;
}

function defaultDemoData(): string {
  const here = new URL("../shared/data/space-rocks", import.meta.url);
  return here.protocol === "file:" ? decodeURIComponent(here.pathname) : "../shared/data/space-rocks";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The report's options from the command line, checked. */
function reportOptions(values: Values, report: string | undefined) {
  const samples = num(values, "samples", { integer: true, min: 0 });
  if (report === undefined && samples !== undefined) usage(`--samples needs --report FILE`);
  if (report === "") usage(`${values.report === undefined ? "--out" : "--report"} needs a file name`);
  return { ...(samples !== undefined ? { samples } : {}) };
}

async function runTrain(positionals: string[], values: Values, io: Io, demo = false): Promise<number> {
  const rocks = await import("./mod.ts");
  let dataDir: string;
  if (demo) {
    dataDir = values.data ?? defaultDemoData();
    if (!(await exists(dataDir))) {
      throw new RocksError("input", `The demo's photos are not at ${dataDir}. ${DATA_HINT}`, dataDir);
    }
  } else {
    if (positionals.length !== 1) {
      usage(`train takes one data folder, got ${positionals.length}: see rocks train --help`);
    }
    dataDir = positionals[0]!;
  }
  const json = values.json === true;
  const scr = screen(io, values);
  const say = json ? scr.err : scr.out;
  const outDir = values.out ?? "rock-model";
  const opts = {
    // --resume continues the saved model's recipe unless another preset is named.
    ...presetOptions(
      demo
        ? "course"
        : values.preset ?? (values.resume ? await savedPreset(values.resume) : undefined) ?? DEFAULT_PRESET,
    ),
    viewSize: num(values, "view-size", { integer: true, min: 32, max: 1024 }),
    l2normalize: values.l2normalize,
    epochs: num(values, "epochs", { integer: true, min: 1 }),
    batchSize: num(values, "batch", { integer: true, min: 1 }),
    lr: num(values, "lr", {}),
    testFraction: num(values, "test-fraction", { min: 0, below: 1 }),
    split: oneOf(values, "split", ["random", "group"] as const),
    seed: num(values, "seed", { integer: true }),
    augment: oneOf(values, "augment", ["crop", "none"] as const),
    printEvery: num(values, "print-every", { integer: true, min: 1 }),
    groupsFile: values.groups,
  };
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  if (opts.lr !== undefined && !(opts.lr > 0)) usage(`--lr must be above 0, got ${opts.lr}`);
  const reportOpts = reportOptions(values, values.report);
  const recipe = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const started = performance.now();
  const resumeDir = values.resume;
  const embedder = await openEmbedderFor(values, scr);
  try {
    say(backendLine(embedder));
    const resumeFrom = resumeDir
      ? await rocks.loadClassifier(resumeDir, { trunkSha256: embedder.trunk.sha256 })
      : undefined;
    const dataset = await rocks.scanDataset(dataDir, opts.groupsFile ? { groupsFile: opts.groupsFile } : {});
    const counts = dataset.classes.map((c, i) =>
      `${c} ${dataset.samples.filter((s) => s.label === i).length}`
    );
    say(
      `Data: ${dataDir}: ${dataset.samples.length} photos in ${dataset.classes.length} classes (${
        counts.join(", ")
      })`,
    );
    // The bar counts photo views: the test photos once, the training photos once per epoch.
    const { countingEmbedder, plannedViews } = await import("./lib/train_progress.ts");
    const planned = plannedViews(dataset, recipe);
    scr.start("training", "views");
    scr.update(0, planned);
    // A stop request ends training between steps; nothing is saved then.
    const stopped = (e: unknown) => {
      if (!(e instanceof RocksError) || e.kind !== "interrupted") return e;
      const kept = embedder.cache
        ? `; the embeddings computed so far are in the cache ${embedder.cache.dir}`
        : "";
      return new RocksError("interrupted", `${e.message}: ${outDir} was left as it was${kept}`, outDir);
    };
    const result = await rocks.trainFolder(
      countingEmbedder(embedder, (done) => scr.update(done, planned)),
      dataDir,
      { ...recipe, ...(resumeFrom ? { resumeFrom } : {}) },
      {
        onLine: (l) => say(progressLine(l)),
        onSkip: (s) => scr.err(`Skipping ${s.file}: ${s.reason}`),
        onWarning: (m) => scr.err(`warning: ${m}`),
        ...(io.signal ? { signal: io.signal } : {}),
      },
    ).catch((e) => {
      throw stopped(e);
    });
    // Photos found unreadable are not retried in later epochs: the plan is done.
    scr.update(planned, planned);
    scr.finish();
    const t = result.classifier.meta.training;
    try {
      throwIfAborted(io.signal, "Training");
    } catch (e) {
      result.classifier.dispose();
      throw stopped(e);
    }
    await rocks.saveClassifier(outDir, result.classifier);
    let report: { path: string; count: number } | undefined;
    if (values.report !== undefined) {
      report = await writeRunReport(values.report, outDir, dataDir, result.split.test, embedder, scr, {
        ...reportOpts,
        ...(maxPixels !== undefined ? { maxPixels } : {}),
      });
    }
    const seconds = (performance.now() - started) / 1000;
    if (json) {
      io.out(JSON.stringify({
        classes: result.classifier.meta.classes,
        trainCount: t.trainCount,
        testCount: t.testCount,
        epochs: t.epochs,
        testAccuracy: result.test?.accuracy ?? null,
        testLoss: result.testLoss,
        perClass: result.test?.perClass ?? null,
        confusion: result.test?.confusion ?? null,
        history: result.classifier.meta.history,
        split: t.split,
        seed: t.seed,
        preset: t.preset ?? null,
        viewSize: result.classifier.meta.preprocessing.size,
        modelDir: outDir,
        backend: embedder.backend.name,
        workers: embedder.workers,
        seconds,
        views: result.embedded,
        trunkRuns: embedder.cache ? embedder.cache.stats.misses : result.embedded,
        cacheHits: embedder.cache?.stats.hits ?? 0,
        skipped: result.skipped,
        duplicates: result.duplicates,
        report: report?.path ?? null,
      }));
    } else {
      if (result.test) say(`\nTest photos: ${t.testCount} (split ${t.split})\n${metricsText(result.test)}`);
      else say(`\nNo test photos (--test-fraction 0): trained on all ${t.trainCount}`);
      const sk = skippedText(result.skipped);
      if (sk) say(`\n${sk}`);
      say(`\nSaved the classifier to ${outDir} (${seconds.toFixed(1)} s)`);
      if (report) say(`Wrote the report to ${report.path} (${report.count} test photos)`);
    }
    if (demo) {
      const rng = (await import("./lib/rng.ts")).createRng((opts.seed ?? 1) + 7);
      const picks = rng.shuffle([...(result.split.test.length ? result.split.test : result.split.train)])
        .slice(0, 5);
      const preds = await rocks.predict(embedder, result.classifier, picks.map((p) => p.path));
      say(`\n5 random test photos, as the course shows them (predicted class:correct?):`);
      preds.forEach((p, i) => {
        const truth = dataset.classes[picks[i]!.label]!;
        if ("error" in p) say(`  ${picks[i]!.name}: ${p.error}`);
        else {
          say(
            `  ${p.class}:${p.class === truth ? "True" : "False"}  ${picks[i]!.name}  (p=${
              p.probabilities[p.class]!.toFixed(3)
            })`,
          );
        }
      });
    }
    result.classifier.dispose();
    resumeFrom?.dispose();
    return 0;
  } finally {
    scr.finish();
    embedder.close();
  }
}

/**
 * Scores the saved classifier (read back from `modelDir`) on a training run's
 * test photos and writes the report.
 */
async function writeRunReport(
  path: string,
  modelDir: string,
  dataDir: string,
  test: import("./lib/dataset.ts").Sample[],
  embedder: import("./mod.ts").Embedder,
  scr: Screen,
  options: import("./lib/report.ts").ReportOptions,
): Promise<{ path: string; count: number }> {
  const rocks = await import("./mod.ts");
  const { evaluateSamples } = await import("./lib/evaluate_samples.ts");
  const { readModelId, writeReport } = await import("./lib/report.ts");
  const classifier = await rocks.loadClassifier(modelDir, { trunkSha256: embedder.trunk.sha256 });
  try {
    scr.start("scoring test photos");
    const evaluation = await evaluateSamples(
      classifier,
      embedder.embed,
      test,
      classifier.meta.classes,
      (d, t) => scr.update(d, t),
    );
    scr.finish();
    const modelId = await readModelId(modelDir);
    await writeReport(path, {
      evaluation,
      meta: classifier.meta,
      dataDir,
      scope: "test",
      modelDir,
      ...(modelId ? { modelId } : {}),
    }, options);
    return { path, count: evaluation.count };
  } finally {
    classifier.dispose();
  }
}

async function runEval(positionals: string[], values: Values, io: Io, asReport = false): Promise<number> {
  if (positionals.length !== 2) {
    usage(
      `${asReport ? "report" : "eval"} takes a model folder and a data folder: see rocks ${
        asReport ? "report" : "eval"
      } --help`,
    );
  }
  const reportPath = asReport ? values.out ?? "rocks-report.html" : values.report;
  const reportOpts = reportOptions(values, reportPath);
  const seed = num(values, "seed", { integer: true });
  if (!asReport && seed !== undefined && reportPath === undefined) usage(`--seed needs --report FILE`);
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  const [modelDir, dataDir] = [positionals[0]!, positionals[1]!];
  const rocks = await import("./mod.ts");
  const scr = screen(io, values);
  const embedder = await openEmbedderFor(values, scr);
  try {
    const classifier = await rocks.loadClassifier(modelDir, { trunkSha256: embedder.trunk.sha256 });
    scr.start("scoring");
    const ev = await rocks.evaluate(embedder, classifier, dataDir, (d, t) => scr.update(d, t));
    scr.finish();
    if (ev.duplicates?.length) {
      const { duplicateWarning } = await import("./lib/duplicates.ts");
      for (const d of ev.duplicates) io.err(`warning: ${duplicateWarning(d)}`);
    }
    if (reportPath !== undefined) {
      const { readModelId, writeReport } = await import("./lib/report.ts");
      const modelId = await readModelId(modelDir);
      await writeReport(reportPath, {
        evaluation: ev,
        meta: classifier.meta,
        dataDir,
        scope: "folder",
        modelDir,
        ...(modelId ? { modelId } : {}),
      }, {
        ...reportOpts,
        ...(seed !== undefined ? { seed } : {}),
        ...(maxPixels !== undefined ? { maxPixels } : {}),
      });
    }
    classifier.dispose();
    if (asReport) {
      io.out(`Wrote the report to ${reportPath}: accuracy ${fmt3(ev.accuracy)} on ${ev.count} photos`);
      const sk = skippedText(ev.skipped);
      if (sk) io.out(`\n${sk}`);
    } else if (values.json) {
      const { predictions: _p, ...rest } = ev;
      io.out(JSON.stringify(reportPath === undefined ? rest : { ...rest, report: reportPath }));
    } else {
      io.out(metricsText(ev));
      const sk = skippedText(ev.skipped);
      if (sk) io.out(`\n${sk}`);
      if (reportPath !== undefined) io.out(`\nWrote the report to ${reportPath}`);
    }
    return ev.count > 0 ? 0 : 1;
  } finally {
    scr.finish();
    embedder.close();
  }
}

async function runPredict(positionals: string[], values: Values, io: Io): Promise<number> {
  if (positionals.length < 2) {
    usage(`predict takes a model folder and at least one photo or folder: see rocks predict --help`);
  }
  if (values.json && values.csv) usage(`--json and --csv cannot be used together`);
  const rocks = await import("./mod.ts");
  const files = await rocks.expandInputs(positionals.slice(1));
  const scr = screen(io, values);
  const embedder = await openEmbedderFor(values, scr, files.length);
  try {
    const classifier = await rocks.loadClassifier(positionals[0]!, { trunkSha256: embedder.trunk.sha256 });
    const classes = classifier.meta.classes;
    scr.start("predicting");
    const preds = await rocks.predict(embedder, classifier, files, (d, t) => scr.update(d, t));
    scr.finish();
    classifier.dispose();
    if (values.json) io.out(JSON.stringify(preds, null, 1));
    else if (values.csv) {
      io.out(["file", "class", ...classes, "error"].map(csvCell).join(","));
      for (const p of preds) {
        const cells = "error" in p
          ? [p.file, "", ...classes.map(() => ""), p.error]
          : [p.file, p.class, ...classes.map((c) => p.probabilities[c]!.toFixed(6)), ""];
        io.out(cells.map(csvCell).join(","));
      }
    } else {
      const width = Math.max(4, ...preds.map((p) => p.file.length));
      io.out(`${"file".padEnd(width)}  class  ${classes.join("  ")}`);
      for (const p of preds) {
        if ("error" in p) io.out(`${p.file.padEnd(width)}  error: ${p.error}`);
        else {io.out(`${p.file.padEnd(width)}  ${p.class}  ${
            classes.map((c) => p.probabilities[c]!.toFixed(3)).join("  ")
          }`);}
      }
      const failed = preds.filter((p) => "error" in p).length;
      if (failed) io.err(`${failed} of ${preds.length} photos could not be read`);
    }
    return preds.some((p) => !("error" in p)) ? 0 : 1;
  } finally {
    scr.finish();
    embedder.close();
  }
}

async function runEvalRecipe(positionals: string[], values: Values, io: Io): Promise<number> {
  if (positionals.length !== 1) usage(`eval-recipe takes one data folder: see rocks eval-recipe --help`);
  const rocks = await import("./mod.ts");
  const recipe = {
    ...presetOptions(values.preset ?? DEFAULT_PRESET),
    ...Object.fromEntries(
      Object.entries({
        epochs: num(values, "epochs", { integer: true, min: 1 }),
        batchSize: num(values, "batch", { integer: true, min: 1 }),
        lr: num(values, "lr", {}),
        augment: oneOf(values, "augment", ["crop", "none"] as const),
        viewSize: num(values, "view-size", { integer: true, min: 32, max: 1024 }),
        l2normalize: values.l2normalize,
        seed: num(values, "seed", { integer: true }),
      }).filter(([, v]) => v !== undefined),
    ),
  };
  const folds = num(values, "folds", { integer: true, min: 2 }) ?? 5;
  const repeats = num(values, "repeats", { integer: true, min: 1 }) ?? 1;
  const scr = screen(io, values);
  const say = values.json ? scr.err : scr.out;
  const dataset = await rocks.scanDataset(
    positionals[0]!,
    values.groups ? { groupsFile: values.groups } : {},
  );
  const embedder = await openEmbedderFor(values, scr);
  try {
    say(backendLine(embedder));
    const cv = await rocks.crossValidate(dataset, embedder.embed, embedder.trunk, recipe, {
      folds,
      repeats,
      seed: recipe.seed ?? 1,
      onFold: (f) =>
        say(
          `Repeat ${f.repeat + 1}, fold ${f.fold + 1}/${folds}: accuracy ${
            fmt3(f.accuracy)
          } on ${f.testCount} photos`,
        ),
    });
    if (values.json) io.out(JSON.stringify({ recipe, k: folds, repeats, ...cv }));
    else {
      io.out(`\nRecipe: ${JSON.stringify(recipe)}`);
      io.out(`Grouped ${folds}-fold cross-validation${repeats > 1 ? `, ${repeats} repeats` : ""}:`);
      io.out(`  accuracy ${fmt3(cv.accuracy.mean)} ± ${fmt3(cv.accuracy.std)}`);
      for (const c of cv.classes) io.out(`  ${c} recall ${fmt3(cv.recall[c])}`);
      io.out(`Photo series most often wrong:`);
      for (const g of cv.worstGroups.slice(0, 5)) {
        io.out(`  ${g.group} (${g.class}): ${g.correct}/${g.photos} right`);
      }
    }
    return 0;
  } finally {
    embedder.close();
  }
}

async function runInfo(positionals: string[], values: Values, io: Io): Promise<number> {
  if (positionals.length > 1) usage(`info takes at most one model folder`);
  const rocks = await import("./mod.ts");
  const info = await rocks.gatherInfo(rocks.parseBackendName(values.backend ?? "auto"), positionals[0]);
  if (values.json) io.out(JSON.stringify(info, null, 1));
  else {
    const { backend, weights } = info;
    io.out(Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(", "));
    io.out(`Backend: ${backend.name}${backend.simd ? " (SIMD)" : ""}: ${backend.reason}`);
    io.out(`Backends here:`);
    for (const b of info.backends) io.out(`  ${b.name.padEnd(6)} ${b.available ? "yes" : "no "}  ${b.note}`);
    const a = info.adapter;
    if (a.available) {
      io.out(
        `WebGPU adapter: vendor ${a.vendor || "?"}, architecture ${a.architecture || "?"}, ${
          a.description || "?"
        }`,
      );
    }
    io.out(`tfjs flags: ${Object.entries(info.flags).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    io.out(
      `Weights: ${weights.package} at ${weights.location}${
        weights.embedded ? " (embedded in this executable)" : ""
      }`,
    );
    io.out(
      weights.verified
        ? `  ${weights.files} files, sha256 verified (set ${weights.sha256!.slice(0, 16)}…)`
        : `  NOT verified: ${weights.error}`,
    );
    io.out(`Embedding cache: ${info.cacheDir ?? "none (no HOME or XDG_CACHE_HOME)"}`);
    if (info.model) {
      const m = info.model;
      io.out(`\nModel ${m.dir}: format ${m.formatVersion}, classes ${m.classes.join(", ")}`);
      io.out(
        `  trunk ${m.trunk.id}; preprocessing ${m.preprocessing.mode} (${m.preprocessing.view}` +
          `${m.preprocessing.l2normalize ? ", unit-length embeddings" : ""})`,
      );
      io.out(`  preset ${m.training.preset ?? "course"}`);
      const t = m.training;
      io.out(
        `  trained on ${t.data}: ${t.trainCount} photos, ${t.epochs} epochs, batch ${t.batchSize}, lr ${t.lr}, ` +
          `split ${t.split} ${t.testFraction}, seed ${t.seed}, augment ${t.augment}, ${t.backend}, ${
            t.seconds.toFixed(1)
          } s`,
      );
      io.out(`  test: ${m.test ? `accuracy ${fmt3(m.test.accuracy)} on ${m.test.count} photos` : "none"}`);
    }
  }
  return info.weights.verified ? 0 : 1;
}

/**
 * Runs the CLI.
 * @param args The arguments (without the program name).
 * @param io Where to write.
 * @returns The exit code.
 */
export async function main(args: string[], io: Io): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args, options: optionSpecs, allowPositionals: true, strict: true });
    } catch (e) {
      usage(`${e instanceof Error ? e.message : String(e)} (see rocks --help)`);
    }
    const values = parsed.values as Values;
    const [command, ...positionals] = parsed.positionals;
    if (values.version) {
      io.out(`rocks ${VERSION}`);
      return 0;
    }
    if (!command) {
      io.out(HELP);
      return values.help ? 0 : 2;
    }
    if (!(command in COMMAND_HELP)) {
      usage(`Unknown command "${command}": expected train, eval, eval-recipe, report, predict, info or demo`);
    }
    if (values.help) {
      io.out(COMMAND_HELP[command]!);
      return 0;
    }
    const allowed = new Set([...ALLOWED[command]!, "help", "version"]);
    for (const [key, value] of Object.entries(values)) {
      if (!allowed.has(key)) {
        usage(`Option --${key} does not apply to ${command}: see rocks ${command} --help`);
      }
      if (value === "") usage(`--${key} needs a value, got an empty string`);
    }
    for (const [a, b] of CONFLICTS) {
      if (values[a as keyof Values] !== undefined && values[b as keyof Values] !== undefined) {
        usage(`--${a} and --${b} cannot be used together`);
      }
    }
    io.watchesSignal?.(command === "train" || command === "demo");
    switch (command) {
      case "train":
        return await runTrain(positionals, values, io);
      case "demo":
        if (positionals.length) usage(`demo takes no positional arguments; use --data DIR`);
        return await runTrain([], values, io, true);
      case "eval":
        return await runEval(positionals, values, io);
      case "report":
        return await runEval(positionals, values, io, true);
      case "eval-recipe":
        return await runEvalRecipe(positionals, values, io);
      case "predict":
        return await runPredict(positionals, values, io);
      default:
        return await runInfo(positionals, values, io);
    }
  } catch (e) {
    if (e instanceof RocksError) {
      io.err(`error: ${e.message}`);
      if (e.kind === "interrupted") return SIGNAL_EXIT[String(io.signal?.reason)] ?? 130;
      return e.kind === "usage" ? 2 : 1;
    }
    throw e;
  }
}

if (import.meta.main) {
  const enc = new TextEncoder();
  const isTty = Deno.stderr.isTerminal();
  let columns: number | undefined;
  try {
    columns = isTty ? Deno.consoleSize().columns : undefined;
  } catch {
    columns = undefined; // no size to be had: the bar keeps its default width
  }
  // A reader that went away (`rocks predict … | head -1`) must not stop the run.
  const put = (stream: typeof Deno.stdout, text: string) => {
    try {
      stream.writeSync(enc.encode(text));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    }
  };
  // Ctrl-C or SIGTERM: train stops at its next step (previous model kept, cache
  // complete); a second signal, or any other command, ends at once.
  const stop = new AbortController();
  let graceful = false;
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(name, () => {
      if (!graceful || stop.signal.aborted) Deno.exit(SIGNAL_EXIT[name]);
      stop.abort(name);
      put(Deno.stderr, `\n${name}: stopping after the current step (again to quit at once)\n`);
    });
  }
  const code = await main(Deno.args, {
    out: (t) => put(Deno.stdout, `${t}\n`),
    err: (t) => put(Deno.stderr, `${t}\n`),
    write: (t) => put(Deno.stderr, t),
    isTty,
    ...(columns ? { columns } : {}),
    signal: stop.signal,
    watchesSignal: (yes) => (graceful = yes),
  });
  Deno.exit(code);
}
