/**
 * The training loop, top to bottom, as the course runs it:
 *
 * 1. split the photos into train / test (seeded);
 * 2. embed the test photos once (centre view: the trunk is frozen);
 * 3. initialise the head and Adam;
 * 4. for each epoch, in a seeded shuffled order, batch by batch: embed a fresh
 *    RandomResizedCrop of each photo, take one Adam step on the NLL loss;
 *    every `printEvery` steps, score the test photos and report a line;
 * 5. score the test photos once more and return the classifier.
 *
 * The same seed on the same backend gives the same split, crops, initial
 * weights, dropout masks and therefore the same model.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import {
  type Classifier,
  type ClassifierMeta,
  FORMAT_VERSION,
  headParamsOf,
  l2normalizeRows,
  makeClassifier,
  preprocessingFacts,
  type ProgressLine,
} from "./classifier.ts";
import type { Dataset, Sample, Skipped, SplitMode } from "./dataset.ts";
import { type Split, splitSamples } from "./dataset.ts";
import { cutJobs, type EmbedJob, type EmbedResult, sizedView } from "./embed.ts";
import { VIEW_SIZE } from "./view.ts";
import { presetOptions } from "./presets.ts";
import { RocksError, throwIfAborted, usageCheck } from "./errors.ts";
import {
  adamStep,
  DEFAULT_ADAM,
  disposeHead,
  dropoutMask,
  headConfig,
  headGradients,
  headLogProbs,
  initAdam,
  initHead,
  nllLoss,
} from "./head.ts";
import { computeMetrics, type Metrics } from "./metrics.ts";
import { createRng, hashSeed } from "./rng.ts";

/** Turns photo views into embeddings, in order (see `embedFiles`). */
export type EmbedFn = (
  jobs: EmbedJob[],
  onProgress?: (done: number, total: number) => void,
) => Promise<EmbedResult[]>;

/** Training settings. Every default is the course's. */
export interface TrainOptions {
  /** Passes over the training photos. @default 5 */
  epochs?: number;
  /** Photos per Adam step. @default 16 */
  batchSize?: number;
  /** Adam's learning rate. @default 0.003 */
  lr?: number;
  /** Fraction of photos held out for testing, 0 ≤ f < 1. @default 0.2 */
  testFraction?: number;
  /** `random` (by photo) or `group` (whole photo series). @default "random" */
  split?: SplitMode;
  /** Seed of split, crops, initial weights and dropout. @default 1 */
  seed?: number;
  /** `crop`: a fresh RandomResizedCrop(224) per photo per epoch; `none`: the centre view. @default "crop" */
  augment?: "crop" | "none";
  /** Report a progress line every this many steps. @default 5 */
  printEvery?: number;
  /** Name of the backend, saved with the model. @default "wasm" */
  backend?: string;
  /** Side of the square the trunk sees, in pixels; ResNet50 is fully convolutional. @default 224 */
  viewSize?: number;
  /** Scale each embedding to unit length before the head (saved with the model). @default false */
  l2normalize?: boolean;
  /** Name of the preset these options came from, saved with the model. @default "custom" */
  preset?: string;
  /** Continue from this classifier's head (same classes) instead of new weights; Adam starts afresh. */
  resumeFrom?: Classifier;
  /** Train and test on exactly these photos instead of splitting (cross-validation uses it). */
  presplit?: Split;
}

/** Training options that have no default. */
export type UnsetTrainOptions = "resumeFrom" | "presplit";
/** Training options with every default filled in. */
export type ResolvedTrainOptions =
  & Required<Omit<TrainOptions, UnsetTrainOptions>>
  & Pick<TrainOptions, UnsetTrainOptions>;

/** What training reports while it runs. */
export interface TrainEvents {
  /** The course's progress line, every `printEvery` steps. */
  onLine?: (line: ProgressLine) => void;
  /** Embedding progress of the current phase (`test` or `epoch N`). */
  onEmbed?: (phase: string, done: number, total: number) => void;
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

/** The outcome of {@linkcode trainClassifier}. */
export interface TrainResult {
  /** The trained classifier (owns its weights). */
  classifier: Classifier;
  /** Scores on the test photos (null when the test fraction is 0). */
  test: Metrics | null;
  /** Mean NLL on the test photos. */
  testLoss: number | null;
  /** Photos not used, with the reason. */
  skipped: Skipped[];
  /** Photos embedded by the trunk. */
  embedded: number;
  /** Which photos were trained and tested on. */
  split: Split;
  /** Each test photo that could be read, with the class index the final head predicts for it. */
  scored: { sample: Sample; predicted: number }[];
}

function checkOptions(o: ResolvedTrainOptions): void {
  usageCheck(
    Number.isInteger(o.viewSize) && o.viewSize >= 32 && o.viewSize <= 1024,
    `View size must be a whole number from 32 to 1024, got ${o.viewSize}`,
  );
  usageCheck(
    Number.isInteger(o.epochs) && o.epochs >= 1,
    `Epochs must be a whole number ≥ 1, got ${o.epochs}`,
  );
  usageCheck(
    Number.isInteger(o.batchSize) && o.batchSize >= 1,
    `Batch size must be a whole number ≥ 1, got ${o.batchSize}`,
  );
  usageCheck(o.lr > 0 && Number.isFinite(o.lr), `Learning rate must be a number > 0, got ${o.lr}`);
  usageCheck(
    o.testFraction >= 0 && o.testFraction < 1,
    `Test fraction must be at least 0 and below 1, got ${o.testFraction}`,
  );
  usageCheck(
    o.split === "random" || o.split === "group",
    `Unknown split "${o.split}": expected "random" or "group"`,
  );
  usageCheck(
    o.augment === "crop" || o.augment === "none",
    `Unknown augment "${o.augment}": expected "crop" or "none"`,
  );
  usageCheck(Number.isInteger(o.seed), `Seed must be a whole number, got ${o.seed}`);
  usageCheck(
    Number.isInteger(o.printEvery) && o.printEvery >= 1,
    `Print interval must be a whole number ≥ 1, got ${o.printEvery}`,
  );
}

/**
 * Fills in training options: the named `preset`'s values when one is given
 * (`"course"`, `"rocks"`; `"custom"` names none), else the course's recipe,
 * then every option given explicitly on top.
 */
export function resolveTrainOptions(
  options: TrainOptions = {},
): ResolvedTrainOptions {
  const named = options.preset && options.preset !== "custom" ? presetOptions(options.preset) : {};
  const o: ResolvedTrainOptions = {
    epochs: 5,
    batchSize: 16,
    lr: DEFAULT_ADAM.lr,
    testFraction: 0.2,
    split: "random",
    seed: 1,
    augment: "crop",
    printEvery: 5,
    backend: "wasm",
    viewSize: VIEW_SIZE,
    l2normalize: false,
    preset: "custom",
    ...named,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  checkOptions(o);
  return o;
}

/** Photos per embedding call outside the training steps (test photos, fixed views). */
const EMBED_CHUNK = 16;

/**
 * Random crops embedded ahead of the steps that use them, at most this many
 * at a time (8 KiB each), whole epochs at a time.
 */
const PREFETCH_VIEWS = 4096;

/** Stacks embeddings into a `[N, 2048]` tensor, unit-length rows when asked. Caller owns it. */
function stack(rows: Float32Array[], l2normalize = false): tf.Tensor2D {
  if (l2normalize) rows = l2normalizeRows(rows);
  const width = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * width);
  rows.forEach((r, i) => flat.set(r, i * width));
  return tf.tensor2d(flat, [rows.length, width]);
}

/**
 * Trains the course's head on a dataset's photos.
 * @param dataset From `scanDataset()`.
 * @param embed Turns photo views into embeddings (trunk, pool or cache).
 * @param trunk Identity of the trunk behind `embed`.
 * @param options The recipe; defaults are the course's.
 * @param events Progress callbacks.
 * @returns The classifier and its test scores.
 */
export async function trainClassifier(
  dataset: Dataset,
  embed: EmbedFn,
  trunk: { id: string; sha256: string },
  options: TrainOptions = {},
  events: TrainEvents = {},
): Promise<TrainResult> {
  const o = resolveTrainOptions(options);
  const started = performance.now();
  const rng = createRng(o.seed);
  const skipped: Skipped[] = [];
  let embedded = 0;
  const skip = (s: Sample, reason: string) => {
    const entry = { file: s.name, reason };
    skipped.push(entry);
    events.onSkip?.(entry);
  };
  // Embeds in calls of about EMBED_CHUNK views (see cutJobs), two in flight (the pool's queue never runs dry between
  // calls), so a stop request waits for two calls at most.
  const embedJobs = async (jobs: EmbedJob[], phase: string): Promise<EmbedResult[]> => {
    const runs = cutJobs(jobs, EMBED_CHUNK);
    const calls: Promise<EmbedResult[]>[] = [];
    const done: number[] = [];
    const call = async (k: number) => {
      if (events.signal?.aborted) {
        await Promise.allSettled(calls); // nothing keeps running after the stop
        throwIfAborted(events.signal, "Training");
      }
      done[k] = 0;
      calls[k] = embed(runs[k]!, (n) => {
        done[k] = n;
        events.onEmbed?.(phase, done.reduce((a, b) => a + b, 0), jobs.length);
      });
      calls[k]!.catch(() => {}); // a failure surfaces when its turn is awaited, not as an unhandled rejection
    };
    const count = runs.length;
    const results: EmbedResult[] = [];
    if (count > 0) await call(0);
    for (let k = 0; k < count; k++) {
      if (k + 1 < count) await call(k + 1);
      results.push(...await calls[k]!);
    }
    return results;
  };
  // Keeps the samples that embedded; reports the others as skipped.
  const keepEmbedded = (samples: Sample[], results: EmbedResult[]) => {
    const good: { sample: Sample; embedding: Float32Array }[] = [];
    results.forEach((r, i) => {
      if ("embedding" in r) good.push({ sample: samples[i]!, embedding: r.embedding });
      else skip(samples[i]!, r.error);
    });
    embedded += good.length;
    return good;
  };
  const embedSamples = async (samples: Sample[], views: EmbedJob["view"][], phase: string) =>
    keepEmbedded(samples, await embedJobs(samples.map((s, i) => ({ path: s.path, view: views[i]! })), phase));

  // 1. Split.
  const split = o.presplit ?? splitSamples(dataset.samples, o.testFraction, o.split, o.seed);
  if (split.train.length === 0) throw new RocksError("input", `No photos to train on in ${dataset.root}`);

  // 2. Test embeddings, once.
  const centre = sizedView("centre", o.viewSize);
  const test = await embedSamples(split.test, split.test.map(() => centre), "test");
  const testX = test.length ? stack(test.map((t) => t.embedding), o.l2normalize) : undefined;
  const testY = test.map((t) => t.sample.label);
  // Reads back with data(), not dataSync(): WebGPU cannot read back synchronously under Deno.
  const scoreTest = async (p: ReturnType<typeof initHead>) => {
    if (!testX) return { loss: null, accuracy: null, predicted: [] as number[] };
    const [argmax, lossT] = tf.tidy(() => {
      const logp = headLogProbs(p, testX);
      return [tf.argMax(logp, 1), nllLoss(logp, testY)];
    });
    const predicted = Array.from(await argmax.data() as Int32Array);
    const loss = (await lossT.data())[0]!;
    tf.dispose([argmax, lossT]);
    const accuracy = predicted.filter((k, i) => k === testY[i]).length / testY.length;
    return { loss, accuracy, predicted };
  };

  // 3. Head and optimiser.
  const config = headConfig(dataset.classes.length);
  const fresh = initHead(config, rng.fork(2));
  let params = fresh;
  if (o.resumeFrom) {
    const old = o.resumeFrom.meta.classes;
    if (old.join("\n") !== dataset.classes.join("\n")) {
      disposeHead(fresh);
      throw new RocksError(
        "input",
        `Cannot resume: the model's classes are ${old.join(", ")} but ${dataset.root} has ${
          dataset.classes.join(", ")
        }`,
      );
    }
    const pre = o.resumeFrom.meta.preprocessing;
    if ((pre.size ?? VIEW_SIZE) !== o.viewSize || Boolean(pre.l2normalize) !== o.l2normalize) {
      disposeHead(fresh);
      throw new RocksError(
        "input",
        `Cannot resume: the model was trained on ${pre.size ?? VIEW_SIZE} px views` +
          `${
            pre.l2normalize ? " with unit-length embeddings" : ""
          }, but the recipe asks for ${o.viewSize} px` +
          `${o.l2normalize ? " with unit-length embeddings" : ""}`,
      );
    }
    const p = headParamsOf(o.resumeFrom);
    params = { w1: tf.clone(p.w1), b1: tf.clone(p.b1), w2: tf.clone(p.w2), b2: tf.clone(p.b2) };
    disposeHead(fresh);
  }
  const adam = initAdam(params);
  const orderRng = rng.fork(3);
  const dropRng = rng.fork(5);
  const history: ProgressLine[] = [];

  try {
    // Without augmentation every epoch sees the same views: embed them once.
    let fixed: Map<Sample, Float32Array> | undefined;
    if (o.augment === "none") {
      const good = await embedSamples(split.train, split.train.map(() => centre), "train");
      fixed = new Map(good.map((g) => [g.sample, g.embedding]));
    }
    let pool = fixed ? split.train.filter((s) => fixed.has(s)) : [...split.train];

    // A crop depends only on (seed, epoch, photo), not on the order the photos come in: reproducible,
    // cacheable, and embeddable ahead. Several epochs' crops go to the embedder in one call, photo by
    // photo, so the pool stays busy across steps and decodes each photo once for all its crops.
    const cropView = (epoch: number, s: Sample) =>
      sizedView(`crop:${hashSeed(o.seed, "crop", epoch, s.name)}`, o.viewSize);
    const crops = new Map<number, Map<Sample, EmbedResult>>();
    const cropsOf = async (epoch: number): Promise<Map<Sample, EmbedResult>> => {
      crops.delete(epoch - 1);
      if (!crops.has(epoch)) {
        const span = Math.max(1, Math.floor(PREFETCH_VIEWS / pool.length));
        const epochs = Array.from({ length: Math.min(span, o.epochs - epoch + 1) }, (_, i) => epoch + i);
        const wanted = pool.flatMap((s) => epochs.map((e) => ({ s, e })));
        const phase = epochs.length > 1 ? `epochs ${epoch}–${epochs.at(-1)}` : `epoch ${epoch}`;
        const results = await embedJobs(
          wanted.map(({ s, e }) => ({ path: s.path, view: cropView(e, s) })),
          phase,
        );
        for (const e of epochs) crops.set(e, new Map());
        wanted.forEach(({ s, e }, i) => crops.get(e)!.set(s, results[i]!));
      }
      return crops.get(epoch)!;
    };

    // 4. Epochs of Adam steps on the NLL loss.
    let step = 0;
    let running = 0;
    let sinceLine = 0;
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const order = orderRng.shuffle([...pool]);
      const bad = new Set<Sample>();
      for (let start = 0; start < order.length; start += o.batchSize) {
        // Let a stop request (a signal handler, a timer) run: with the crops embedded ahead, the steps
        // themselves may never wait on anything else.
        await new Promise((resolve) => setTimeout(resolve, 0));
        throwIfAborted(events.signal, "Training");
        const batch = order.slice(start, start + o.batchSize);
        const rows = fixed
          ? batch.map((s) => ({ sample: s, embedding: fixed.get(s)! }))
          : keepEmbedded(batch, await cropsOf(epoch).then((got) => batch.map((s) => got.get(s)!)));
        for (const s of batch) if (!rows.some((r) => r.sample === s)) bad.add(s);
        if (rows.length === 0) continue;
        const x = stack(rows.map((r) => r.embedding), o.l2normalize); // [B, 2048]
        const mask = dropoutMask(rows.length, config.hiddenSize, config.dropout, dropRng);
        const { loss: lossT, grads } = headGradients(params, x, rows.map((r) => r.sample.label), mask);
        tf.dispose([x, mask]);
        // adamStep replaces the parameter tensors, so it runs outside any tidy scope.
        adamStep(params, grads, adam, { ...DEFAULT_ADAM, lr: o.lr });
        const loss = (await lossT.data())[0]!;
        tf.dispose([lossT, grads.w1, grads.b1, grads.w2, grads.b2]);
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
          const score = await scoreTest(params);
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
    throwIfAborted(events.signal, "Training");

    // 5. Final scores.
    const final = await scoreTest(params);
    const metrics = testX ? computeMetrics(dataset.classes, testY, final.predicted) : null;
    const meta: ClassifierMeta = {
      formatVersion: FORMAT_VERSION,
      classes: dataset.classes,
      trunk: { id: trunk.id, sha256: trunk.sha256, embeddingSize: config.inputSize },
      preprocessing: preprocessingFacts(o.viewSize, o.l2normalize),
      head: config,
      training: {
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
        trainCount: pool.length,
        testCount: test.length,
        seconds: (performance.now() - started) / 1000,
      },
      test: metrics,
      testLoss: final.loss,
      history,
      created: new Date().toISOString(),
    };
    return {
      classifier: makeClassifier(meta, params),
      test: metrics,
      testLoss: final.loss,
      skipped,
      embedded,
      split: { train: pool, test: test.map((t) => t.sample) },
      scored: test.map((t, i) => ({ sample: t.sample, predicted: final.predicted[i]! })),
    };
  } catch (e) {
    disposeHead(params);
    throw e;
  } finally {
    disposeHead(adam.m);
    disposeHead(adam.v);
    testX?.dispose();
  }
}
