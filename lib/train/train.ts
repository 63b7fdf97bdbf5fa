/**
 * Training the course's head on frozen embeddings, top to bottom:
 *
 * 1. split the photos into train / test (seeded, stratified);
 * 2. embed what the recipe needs (`feed.ts`): the test photos' centre views
 *    once, the training photos' centre views once or a fresh crop per epoch;
 * 3. make the head (PyTorch's initialisation, or a saved model's weights) and
 *    Adam;
 * 4. for each epoch, in a seeded shuffled order, batch by batch: one Adam step
 *    on the NLL loss; every `printEvery` steps, score the test photos and
 *    report the course's progress line;
 * 5. score the test photos once more and return the classifier.
 *
 * The same seed on the same backend gives the same split, crops, initial
 * weights, dropout masks and therefore the same model.
 * @module
 */
import { setImmediate } from "node:timers";
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { Dataset, Duplicate, Sample, Skipped } from "../data/sample.ts";
import { duplicateWarning } from "../data/duplicates.ts";
import { VIEW_SIZE } from "../image/view.ts";
import { scanDataset, type ScanOptions } from "../data/scan.ts";
import { type Split, splitSamples } from "../data/split.ts";
import { countingEmbedder, type Embedder } from "../embed/embedder.ts";
import {
  type Classifier,
  type ClassifierMeta,
  FORMAT_VERSION,
  headParamsOf,
  l2normalizeRows,
  makeClassifier,
  preprocessingFacts,
  type ProgressLine,
} from "../model/classifier.ts";
import {
  disposeHead,
  type HeadConfig,
  headConfig,
  headLogProbs,
  type HeadParams,
  initHead,
} from "../model/head.ts";
import { computeMetrics, type Metrics } from "../model/metrics.ts";
import { RocksError, throwIfAborted } from "../util/errors.ts";
import { createRng, type Rng } from "../util/rng.ts";
import { type AdamState, adamStep, initAdam } from "./adam.ts";
import { createFeed, type Row } from "./feed.ts";
import { dropoutMask, headGradients, nllLoss } from "./gradients.ts";
import { type ResolvedTrainOptions, resolveTrainOptions, type TrainOptions } from "./options.ts";

/** What training reports while it runs. */
export interface TrainEvents {
  /** The course's progress line, every `printEvery` steps. */
  onLine?: (line: ProgressLine) => void;
  /**
   * Photo views embedded so far (from the trunk or the cache) out of those the run plans: each test photo
   * once, each training photo once per epoch (`augment: "crop"`) or once in all (`"none"`).
   */
  onProgress?: (done: number, planned: number) => void;
  /** A photo that was skipped, as soon as it is. */
  onSkip?: (skipped: Skipped) => void;
  /** Something worth knowing that does not stop the run (e.g. the same photo in two classes). */
  onWarning?: (message: string) => void;
  /**
   * Stops the run between steps (and between chunks of photos while
   * embedding) with an `interrupted` RocksError; nothing is saved.
   */
  signal?: AbortSignal;
}

/** The outcome of training. */
export interface TrainResult {
  /** The trained classifier (owns its weights: `dispose()` it). */
  classifier: Classifier;
  /** Scores on the test photos (null when the test fraction is 0). */
  test: Metrics | null;
  /** Mean NLL on the test photos. */
  testLoss: number | null;
  /** Files not used, with the reason (the folder scan's, then the photos that could not be read). */
  skipped: Skipped[];
  /** Photo views embedded (by the trunk or from the cache) and used. */
  embedded: number;
  /** Which photos were trained and tested on. */
  split: Split;
  /** Each test photo that could be read, with the class index the final head predicts for it. */
  scored: { sample: Sample; predicted: number }[];
  /** Photos whose bytes are under more than one class (each also reported through `onWarning`). */
  duplicates: Duplicate[];
}

/** Options for {@linkcode trainFolder}: the recipe, progress hooks, and how to scan a folder. */
export interface TrainFolderOptions extends TrainOptions, TrainEvents, Omit<ScanOptions, "emptyClasses"> {}

/**
 * Trains the course's head on a folder of class folders (or a dataset
 * already scanned): the scan's skipped files and duplicates are reported
 * through `onSkip` and `onWarning`, then training runs as this module's doc
 * describes.
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder}.
 * @param data A folder with one sub-folder per class, or a {@linkcode Dataset}.
 * @param options The recipe (without `preset`: the course's), progress hooks, scan options.
 * @returns The classifier, its test scores, the files skipped and the duplicates found.
 * @throws {RocksError} For options out of range, an unreadable folder, a class with no readable photo, or a stop request.
 * @example
 * ```ts
 * import { openEmbedder, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const lines: string[] = [];
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier, test } = await trainFolder(embedder, "../shared/data/space-rocks", {
 *   preset: "course",
 *   epochs: 1,
 *   viewSize: 64,
 *   onLine: (l) => lines.push(`Epoch ${l.epoch}/${l.epochs}.. Test accuracy: ${l.testAccuracy?.toFixed(3)}`),
 * });
 * if (classifier.meta.classes.join() !== "Basalt,Highland" || test?.count !== 31) throw new Error("31 test photos");
 * if (lines.length !== 1) throw new Error("8 steps, a line every 5"); // 123 photos in batches of 16
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export async function trainFolder(
  embedder: Pick<Embedder, "embed" | "trunk"> & Partial<Pick<Embedder, "backend">>,
  data: string | Dataset,
  options: TrainFolderOptions = {},
): Promise<TrainResult> {
  const { groupsFile, minClasses, onLine, onProgress, onSkip, onWarning, signal, ...recipe } = options;
  const dataset = typeof data === "string"
    ? await scanDataset(data, {
      ...(groupsFile !== undefined ? { groupsFile } : {}),
      ...(minClasses !== undefined ? { minClasses } : {}),
    })
    : data;
  for (const s of dataset.skipped) onSkip?.(s);
  const duplicates = dataset.duplicates ?? [];
  for (const d of duplicates) onWarning?.(duplicateWarning(d));
  const planned = onProgress ? plannedViews(dataset, recipe) : 0;
  onProgress?.(0, planned);
  const counted = onProgress ? countingEmbedder(embedder, (done) => onProgress(done, planned)) : embedder;
  const result = await trainClassifier(dataset, counted, {
    ...(embedder.backend ? { backend: embedder.backend.name } : {}),
    ...recipe,
  }, {
    ...(onLine ? { onLine } : {}),
    ...(onSkip ? { onSkip } : {}),
    ...(signal ? { signal } : {}),
  });
  // Photos found unreadable are not retried in later epochs: the plan is done.
  onProgress?.(planned, planned);
  return { ...result, skipped: [...dataset.skipped, ...result.skipped], duplicates };
}

/**
 * The views a training run embeds: each test photo once (centre view), and
 * each training photo once per epoch (`augment: "crop"`) or once in all
 * (`augment: "none"`). Photos that turn out unreadable are dropped after
 * their first try, so a run with bad photos embeds fewer.
 * @param dataset The scanned folder.
 * @param options The recipe, as given to training (defaults filled in the same way).
 * @returns The number of views.
 * @example
 * ```ts
 * import { plannedViews } from "./train.ts";
 * const samples = Array.from({ length: 10 }, (_, i) => ({ path: `${i}.png`, name: `${i}.png`, label: i % 2, group: `${i}` }));
 * const dataset = { root: ".", classes: ["a", "b"], samples, skipped: [] };
 * // 2 test photos (20 % of each class), 8 trained on for 5 epochs.
 * if (plannedViews(dataset, { epochs: 5 }) !== 2 + 8 * 5) throw new Error("wrong");
 * ```
 */
export function plannedViews(dataset: Dataset, options: TrainOptions = {}): number {
  const o = resolveTrainOptions(options);
  const split = o.presplit ?? splitSamples(dataset.samples, o.testFraction, o.split, o.seed);
  return split.test.length + split.train.length * (o.augment === "crop" ? o.epochs : 1);
}

/**
 * Trains the course's head on a dataset's photos (steps 1–5 of this module's doc).
 * @param dataset The photos (from `scanDataset()`).
 * @param embedder Embeds photo views; its trunk's identity is saved with the model.
 * @param options The recipe; defaults are the course's.
 * @param events Lines, skipped photos, stop request.
 * @returns The classifier and its test scores (`duplicates` is left empty: that is the scan's).
 */
export async function trainClassifier(
  dataset: Dataset,
  embedder: Pick<Embedder, "embed" | "trunk">,
  options: TrainOptions = {},
  events: Pick<TrainEvents, "onLine" | "onSkip" | "signal"> = {},
): Promise<TrainResult> {
  const o = resolveTrainOptions(options);
  const started = performance.now();
  const rng = createRng(o.seed);
  const [initRng, orderRng, dropRng] = [rng.fork(2), rng.fork(3), rng.fork(5)];
  const config = headConfig(dataset.classes.length);
  if (o.resumeFrom) checkResumable(o.resumeFrom, dataset, o);
  const feed = createFeed(embedder.embed, {
    seed: o.seed,
    viewSize: o.viewSize,
    epochs: o.epochs,
    ...(events.onSkip ? { onSkip: events.onSkip } : {}),
    ...(events.signal ? { signal: events.signal } : {}),
  });

  // 1. Split.
  const split = o.presplit ?? splitSamples(dataset.samples, o.testFraction, o.split, o.seed);
  if (split.train.length === 0) throw new RocksError("input", `No photos to train on in ${dataset.root}`);

  // 2. Embed: the test photos once; the training photos once now without augmentation, else per epoch below.
  const test = await feed.centre(split.test);
  const testSet = test.length
    ? { x: stack(test, o.l2normalize), y: test.map((t) => t.sample.label) }
    : undefined;
  const fixed = o.augment === "none"
    ? new Map((await feed.centre(split.train)).map((r) => [r.sample, r]))
    : undefined;
  let pool = fixed ? split.train.filter((s) => fixed.has(s)) : [...split.train];

  // 3. Head and optimiser.
  const params = o.resumeFrom ? cloneHead(headParamsOf(o.resumeFrom)) : initHead(config, initRng);
  const adam = initAdam(params);
  try {
    // 4. Epochs of Adam steps on the NLL loss.
    const history: ProgressLine[] = [];
    let step = 0;
    let running = 0;
    let sinceLine = 0;
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const order = orderRng.shuffle([...pool]);
      const bad = new Set<Sample>();
      for (let start = 0; start < order.length; start += o.batchSize) {
        // Let a stop request (a signal handler, a timer) run: with the crops embedded ahead, the steps
        // themselves may never wait on anything else. One turn of the event loop (setImmediate), not a
        // timer: a chain of setTimeout(0) waits about 2 ms a step (1 s of a 480-step training here).
        await new Promise((resolve) => setImmediate(resolve));
        throwIfAborted(events.signal, "Training");
        const batch = order.slice(start, start + o.batchSize);
        const rows = fixed ? batch.map((s) => fixed.get(s)!) : await feed.crops(epoch, batch, pool);
        for (const s of batch) if (!rows.some((r) => r.sample === s)) bad.add(s);
        if (rows.length === 0) continue;
        const loss = await adamOnBatch(params, adam, rows, {
          config,
          lr: o.lr,
          l2normalize: o.l2normalize,
          dropRng,
        });
        if (!Number.isFinite(loss)) {
          throw new RocksError(
            "runtime",
            `Training diverged at step ${
              step + 1
            }: expected a finite loss, found ${loss} (lower the learning rate, now ${o.lr})`,
          );
        }
        step++;
        running += loss;
        sinceLine++;
        if (step % o.printEvery === 0) {
          const score = await scoreTest(params, testSet);
          const line: ProgressLine = {
            epoch,
            epochs: o.epochs,
            step,
            trainLoss: running / sinceLine,
            testLoss: score.loss,
            testAccuracy: score.accuracy,
          };
          history.push(line);
          events.onLine?.(line);
          running = 0;
          sinceLine = 0;
        }
      }
      pool = pool.filter((s) => !bad.has(s));
      checkReadable(pool, dataset);
    }
    throwIfAborted(events.signal, "Training");

    // 5. Final scores.
    const final = await scoreTest(params, testSet);
    const metrics = testSet ? computeMetrics(dataset.classes, testSet.y, final.predicted) : null;
    const meta: ClassifierMeta = {
      formatVersion: FORMAT_VERSION,
      classes: dataset.classes,
      trunk: {
        id: embedder.trunk.id,
        sha256: embedder.trunk.sha256,
        embeddingSize: config.inputSize,
        precision: embedder.trunk.precision ?? "fp32",
      },
      preprocessing: preprocessingFacts(o.viewSize, o.l2normalize),
      head: config,
      training: trainingFacts(o, dataset, pool.length, test.length, (performance.now() - started) / 1000),
      test: metrics,
      testLoss: final.loss,
      history,
      created: new Date().toISOString(),
    };
    return {
      classifier: makeClassifier(meta, params),
      test: metrics,
      testLoss: final.loss,
      skipped: feed.skipped,
      embedded: feed.embedded,
      split: { train: pool, test: test.map((t) => t.sample) },
      scored: test.map((t, i) => ({ sample: t.sample, predicted: final.predicted[i]! })),
      duplicates: [],
    };
  } catch (e) {
    disposeHead(params);
    throw e;
  } finally {
    disposeHead(adam.m);
    disposeHead(adam.v);
    testSet?.x.dispose();
  }
}

/** Stacks embeddings into a `[N, 2048]` tensor, unit-length rows when asked. Caller owns it. */
function stack(rows: Row[], l2normalize: boolean): tf.Tensor2D {
  let embeddings = rows.map((r) => r.embedding);
  if (l2normalize) embeddings = l2normalizeRows(embeddings);
  const width = embeddings[0]?.length ?? 0;
  const flat = new Float32Array(embeddings.length * width);
  embeddings.forEach((r, i) => flat.set(r, i * width));
  return tf.tensor2d(flat, [embeddings.length, width]);
}

/**
 * One Adam step on a batch: forward with a fresh dropout mask, NLL, backward, update.
 * @returns The batch's loss.
 */
async function adamOnBatch(
  params: HeadParams,
  adam: AdamState,
  rows: Row[],
  o: { config: HeadConfig; lr: number; l2normalize: boolean; dropRng: Rng },
): Promise<number> {
  const x = stack(rows, o.l2normalize); // [B, 2048]
  const mask = dropoutMask(rows.length, o.config.hiddenSize, o.config.dropout, o.dropRng);
  const { loss, grads } = headGradients(params, x, rows.map((r) => r.sample.label), mask);
  tf.dispose([x, mask]);
  // adamStep replaces the parameter tensors, so it runs outside any tidy scope.
  adamStep(params, grads, adam, { lr: o.lr });
  // data(), not dataSync(): WebGPU cannot read back synchronously under Deno.
  const value = (await loss.data())[0]!;
  tf.dispose([loss, grads.w1, grads.b1, grads.w2, grads.b2]);
  return value;
}

/** The head's NLL, accuracy and predicted classes on the test photos (nulls without any). */
async function scoreTest(
  params: HeadParams,
  testSet: { x: tf.Tensor2D; y: number[] } | undefined,
): Promise<{ loss: number | null; accuracy: number | null; predicted: number[] }> {
  if (!testSet) return { loss: null, accuracy: null, predicted: [] };
  const [argmax, lossT] = tf.tidy(() => {
    const logp = headLogProbs(params, testSet.x);
    return [tf.argMax(logp, 1), nllLoss(logp, testSet.y)];
  });
  const predicted = Array.from(await argmax.data() as Int32Array);
  const loss = (await lossT.data())[0]!;
  tf.dispose([argmax, lossT]);
  const accuracy = predicted.filter((k, i) => k === testSet.y[i]).length / testSet.y.length;
  return { loss, accuracy, predicted };
}

/** A resumed head must know the same classes and see the same views. */
function checkResumable(model: Classifier, dataset: Dataset, o: ResolvedTrainOptions): void {
  const old = model.meta.classes;
  if (old.join("\n") !== dataset.classes.join("\n")) {
    throw new RocksError(
      "input",
      `Cannot resume: the model's classes are ${old.join(", ")} but ${dataset.root} has ${
        dataset.classes.join(", ")
      }`,
    );
  }
  const pre = model.meta.preprocessing;
  if ((pre.size ?? VIEW_SIZE) !== o.viewSize || Boolean(pre.l2normalize) !== o.l2normalize) {
    const unit = (yes: boolean | undefined) => (yes ? " with unit-length embeddings" : "");
    throw new RocksError(
      "input",
      `Cannot resume: the model was trained on ${pre.size ?? VIEW_SIZE} px views${unit(pre.l2normalize)}, ` +
        `but the recipe asks for ${o.viewSize} px${unit(o.l2normalize)}`,
    );
  }
}

/** A copy of a head's weights (the copy is the caller's). */
function cloneHead(p: HeadParams): HeadParams {
  return { w1: tf.clone(p.w1), b1: tf.clone(p.b1), w2: tf.clone(p.w2), b2: tf.clone(p.b2) };
}

/** After an epoch: every class must still have a readable photo to train on. */
function checkReadable(pool: Sample[], dataset: Dataset): void {
  if (pool.length === 0) throw new RocksError("input", `No photo in ${dataset.root} could be read`);
  const unread = dataset.classes.filter((_, i) => !pool.some((s) => s.label === i));
  if (unread.length) {
    throw new RocksError(
      "input",
      `Class ${unread.join(", ")} in ${dataset.root} has no readable photo to train on, ` +
        `expected at least one (see the skipped files)`,
      dataset.root,
    );
  }
}

/** How a classifier was trained, as saved with it. */
function trainingFacts(
  o: ResolvedTrainOptions,
  dataset: Dataset,
  trainCount: number,
  testCount: number,
  seconds: number,
): ClassifierMeta["training"] {
  return {
    preset: o.preset,
    data: dataset.root,
    epochs: o.epochs,
    batchSize: o.batchSize,
    lr: o.lr,
    testFraction: o.testFraction,
    split: o.split,
    seed: o.seed,
    augment: o.augment,
    backend: o.backend,
    trainCount,
    testCount,
    seconds,
  };
}
