/**
 * A training run as `train` and `demo` make it: read the recipe from the
 * options, open the embedder, scan the photos, train under a progress bar,
 * save the classifier (unless a stop request came), write the report when
 * asked, and print the summary (or one JSON object).
 * @module
 */
import type { Dataset, Embedder, TrainResult } from "../mod.ts";
import { RocksError, throwIfAborted } from "../lib/util/errors.ts";
import { definedOnly, described, type Io, num, oneOf, usage, valued, type Values } from "./command.ts";
import {
  augment,
  backend,
  batch,
  cache,
  epochs,
  groups,
  json,
  l2normalize,
  lr,
  maxPixels,
  noCache,
  out,
  precision,
  preset,
  progress,
  quiet,
  recipeValues,
  report,
  samples,
  seed,
  viewSize,
  workers,
} from "./options.ts";
import { loadModelFor, openEmbedderFor } from "./embedder.ts";
import { reportOptions, scoreAndReport } from "./eval_run.ts";
import { backendLine, metricsText, progressLine, skippedText } from "./format.ts";
import { type Screen, screen } from "./screen.ts";

/** The options a training run reads: `rocks train`'s, in the order its help lists them (`demo` takes a few). */
export const TRAIN_OPTIONS = [
  out,
  preset,
  epochs,
  batch,
  lr,
  augment,
  viewSize,
  l2normalize,
  valued(
    "test-fraction",
    "F",
    "fraction held out for testing, 0 ≤ F < 1 (default 0.2;\n0 trains on every photo and reports no test metrics)",
  ),
  valued("split", "random|group", "random by photo, or whole photo series on one side (default random)"),
  groups,
  described(seed, { help: "seed of split, crops, weights, dropout (default 1)" }),
  valued("print-every", "N", "progress line every N steps (default 5)"),
  maxPixels,
  workers,
  cache,
  noCache,
  valued("resume", "MODEL_DIR", "continue training that model's head (same classes)"),
  backend,
  precision,
  described(report, {
    help: "then score the test photos and write an HTML report there\n(see rocks report --help)",
  }),
  samples,
  described(json, { help: "print one JSON object on stdout (progress goes to stderr)" }),
  quiet,
  described(progress, {
    help:
      "draw the progress bar on stderr even when it is not a terminal\nor with --json (stdout stays clean)",
  }),
] as const;

/** Their values. */
export type TrainValues = Values<typeof TRAIN_OPTIONS>;

/** What a run needs besides the options. */
export interface TrainSetup {
  /** One sub-folder per class. */
  dataDir: string;
  /** The recipe's preset; undefined continues the resumed model's (the library's rule). */
  preset: string | undefined;
  /** Runs after the summary, while the classifier and the embedder are open (the demo's predictions). */
  then?: (run: TrainedRun) => Promise<void>;
}

/** A finished run, for {@linkcode TrainSetup.then}. */
export interface TrainedRun {
  /** The training result (its classifier is disposed after `then`). */
  result: TrainResult;
  /** The photos trained and tested on. */
  dataset: Dataset;
  /** The run's embedder. */
  embedder: Embedder;
  /** Prints a line where the run's lines go (stderr under --json). */
  say: (text: string) => void;
  /** The --seed given, if any. */
  seed: number | undefined;
}

/**
 * Trains on `setup.dataDir` with the recipe the options give, and saves the
 * classifier to --out.
 * @param values The options.
 * @param io Where to write; its `signal` stops training at the next step, and nothing is saved then.
 * @param setup The photos, the preset, and what runs after.
 * @returns The exit code.
 */
export async function trainAndSave(values: TrainValues, io: Io, setup: TrainSetup): Promise<number> {
  const rocks = await import("../mod.ts");
  const { dataDir } = setup;
  const json = values.json === true;
  const scr = screen(io, values);
  const say = json ? scr.err : scr.out;
  const outDir = values.out ?? "rock-model";
  // An unknown preset is a usage error before any work starts.
  if (setup.preset !== undefined) rocks.presetOptions(setup.preset);
  const recipe = definedOnly({
    preset: setup.preset,
    ...recipeValues(values),
    testFraction: num(values, "test-fraction", { min: 0, below: 1 }),
    split: oneOf(values, "split", ["random", "group"] as const),
    printEvery: num(values, "print-every", { integer: true, min: 1 }),
  });
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  if (recipe.lr !== undefined && !(recipe.lr > 0)) usage(`--lr must be above 0, got ${recipe.lr}`);
  const reportOpts = reportOptions(values, values.report);
  const started = performance.now();
  const embedder = await openEmbedderFor(values, scr, undefined, values.resume);
  // What the run opens is closed when it ends, however it ends, the last opened first.
  using opened = new DisposableStack();
  opened.defer(() => {
    scr.finish();
    embedder.close();
  });
  say(backendLine(embedder));
  const resumeFrom = values.resume ? await loadModelFor(embedder, values, values.resume) : undefined;
  if (resumeFrom) opened.defer(() => resumeFrom.dispose());
  const dataset = await rocks.scanDataset(dataDir, values.groups ? { groupsFile: values.groups } : {});
  const counts = dataset.classes.map((c, i) => `${c} ${dataset.samples.filter((s) => s.label === i).length}`);
  say(
    `Data: ${dataDir}: ${dataset.samples.length} photos in ${dataset.classes.length} classes (${
      counts.join(", ")
    })`,
  );
  // A stop request ends training between steps; nothing is saved then.
  const stopped = (e: unknown) => {
    if (!(e instanceof RocksError) || e.kind !== "interrupted") return e;
    const kept = embedder.cache
      ? `; the embeddings computed so far are in the cache ${embedder.cache.dir}`
      : "";
    return new RocksError("interrupted", `${e.message}: ${outDir} was left as it was${kept}`, outDir);
  };
  // The bar counts photo views: the test photos once, the training photos once per epoch.
  scr.start("training", "views");
  const result = await rocks.trainFolder(embedder, dataset, {
    ...recipe,
    ...(resumeFrom ? { resumeFrom } : {}),
    onLine: (l) => say(progressLine(l)),
    onProgress: (done, planned) => scr.update(done, planned),
    onSkip: (s) => scr.err(`Skipping ${s.file}: ${s.reason}`),
    onWarning: (m) => scr.err(`warning: ${m}`),
    ...(io.signal ? { signal: io.signal } : {}),
  }).catch((e) => {
    throw stopped(e);
  });
  opened.defer(() => result.classifier.dispose());
  scr.finish();
  // A stop request that came after the last step: still nothing is saved.
  try {
    throwIfAborted(io.signal, "Training");
  } catch (e) {
    throw stopped(e);
  }
  await rocks.saveClassifier(outDir, result.classifier);
  const report = values.report === undefined ? undefined : await writeRunReport(
    values.report,
    outDir,
    { root: dataDir, classes: result.classifier.meta.classes, samples: result.split.test, skipped: [] },
    embedder,
    scr,
    { ...reportOpts, ...(maxPixels !== undefined ? { maxPixels } : {}) },
  );
  const seconds = (performance.now() - started) / 1000;
  if (json) io.out(JSON.stringify(runJson(result, embedder, outDir, seconds, report?.path ?? null)));
  else {
    const t = result.classifier.meta.training;
    if (result.test) say(`\nTest photos: ${t.testCount} (split ${t.split})\n${metricsText(result.test)}`);
    else say(`\nNo test photos (--test-fraction 0): trained on all ${t.trainCount}`);
    const sk = skippedText(result.skipped);
    if (sk) say(`\n${sk}`);
    say(`\nSaved the classifier to ${outDir} (${seconds.toFixed(1)} s)`);
    if (report) say(`Wrote the report to ${report.path} (${report.count} test photos)`);
  }
  await setup.then?.({ result, dataset, embedder, say, seed: recipe.seed });
  return 0;
}

/** `train --json`'s object. */
function runJson(
  result: TrainResult,
  embedder: Embedder,
  modelDir: string,
  seconds: number,
  report: string | null,
) {
  const t = result.classifier.meta.training;
  return {
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
    modelDir,
    backend: embedder.backend.name,
    precision: embedder.trunk.precision ?? "fp32",
    workers: embedder.workers,
    seconds,
    views: result.embedded,
    trunkRuns: embedder.cache ? embedder.cache.stats.misses : result.embedded,
    cacheHits: embedder.cache?.stats.hits ?? 0,
    skipped: result.skipped,
    duplicates: result.duplicates,
    report,
  };
}

/**
 * Scores the saved classifier (read back from `modelDir`) on the run's test
 * photos and writes the report.
 */
async function writeRunReport(
  path: string,
  modelDir: string,
  test: Dataset,
  embedder: Embedder,
  scr: Screen,
  options: import("../mod.ts").ReportOptions,
): Promise<{ path: string; count: number }> {
  const classifier = await loadModelFor(embedder, {}, modelDir);
  try {
    const evaluation = await scoreAndReport(embedder, classifier, test, scr, "scoring test photos", {
      path,
      options,
      scope: "test",
      dataDir: test.root,
      modelDir,
    });
    return { path, count: evaluation.count };
  } finally {
    classifier.dispose();
  }
}
