/**
 * Grouped, class-stratified k-fold cross-validation of a training recipe:
 * the honest number for photos where many views show one rock.
 *
 * Folds are made of whole photo series (`data/folds.ts`), stratified by
 * class, so no rock is ever on both sides. Each fold trains the recipe on
 * the other folds and scores the fold; repeats reshuffle the groups with
 * other seeds. The embedding cache makes every fold after the first cheap.
 * @module
 */
import { groupedFolds } from "../data/folds.ts";
import type { Dataset, Skipped } from "../data/sample.ts";
import { scanDataset } from "../data/scan.ts";
import type { Embedder } from "../embed/embedder.ts";
import { computeMetrics } from "../model/metrics.ts";
import { RocksError } from "../util/errors.ts";
import type { TrainOptions } from "./options.ts";
import { trainClassifier, type TrainEvents } from "./train.ts";

/** Options for {@linkcode crossValidate}. */
export interface CrossValidateOptions {
  /** The training recipe to judge (its split options are ignored). @default the course's */
  recipe?: TrainOptions;
  /** Folds. @default 5 */
  folds?: number;
  /** Repeats with other group shuffles. @default 1 */
  repeats?: number;
  /** Seed of the first repeat (repeat r uses seed + r). @default 1 */
  seed?: number;
  /** Called after each fold. */
  onFold?: (fold: FoldResult) => void;
  /** Training progress of each fold. */
  events?: Pick<TrainEvents, "onLine" | "onSkip" | "signal">;
}

/** One fold's outcome. */
export interface FoldResult {
  /** 0-based repeat. */
  repeat: number;
  /** 0-based fold. */
  fold: number;
  /** Photos trained on. */
  trainCount: number;
  /** Photos scored. */
  testCount: number;
  /** Accuracy on the fold. */
  accuracy: number;
  /** Groups in the fold. */
  groups: string[];
}

/** The cross-validated scores of a recipe. */
export interface CrossValidation {
  /** Class names. */
  classes: string[];
  /** Mean and standard deviation of the fold accuracies (population std over all folds of all repeats). */
  accuracy: { mean: number; std: number };
  /** Recall of each class over all scored photos. */
  recall: Record<string, number | null>;
  /** Every fold. */
  folds: FoldResult[];
  /** Groups by accuracy, worst first (photos scored, correct). */
  worstGroups: { group: string; class: string; photos: number; correct: number; accuracy: number }[];
  /** Confusion matrix over all scored photos (rows: true class). */
  confusion: number[][];
  /** Photos skipped. */
  skipped: Skipped[];
}

/**
 * Cross-validates a recipe on a labelled folder (or a dataset already
 * scanned) with grouped, stratified folds. Every fold asserts that no group
 * is on both sides before training.
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (with a cache, folds after the first embed nothing new).
 * @param data A folder with one sub-folder per class, or a {@linkcode Dataset}.
 * @param options The recipe, folds, repeats, seed.
 * @returns Mean ± standard deviation of the fold accuracies, recall per class, the worst photo series.
 * @throws {RocksError} When there are fewer photo groups than folds, or options are out of range.
 * @example
 * ```ts
 * import { crossValidate, openEmbedder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * // 64 px views keep this example quick; the presets train at 224 or 448 px.
 * const cv = await crossValidate(embedder, "../shared/data/space-rocks", {
 *   recipe: { preset: "course", epochs: 1, augment: "none", viewSize: 64 },
 *   folds: 2,
 * });
 * if (cv.folds.length !== 2 || !(cv.accuracy.mean > 0)) throw new Error("two folds scored");
 * embedder.close();
 * ```
 */
export async function crossValidate(
  embedder: Pick<Embedder, "embed" | "trunk"> & Partial<Pick<Embedder, "backend">>,
  data: string | Dataset,
  options: CrossValidateOptions = {},
): Promise<CrossValidation> {
  const dataset = typeof data === "string" ? await scanDataset(data) : data;
  const recipe = { ...(embedder.backend ? { backend: embedder.backend.name } : {}), ...options.recipe };
  const k = options.folds ?? 5;
  const repeats = options.repeats ?? 1;
  const seed0 = options.seed ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RocksError("usage", `Repeats must be a whole number ≥ 1, got ${repeats}`);
  }
  const folds: FoldResult[] = [];
  const truth: number[] = [];
  const predicted: number[] = [];
  const perGroup = new Map<string, { label: number; photos: number; correct: number }>();
  const skipped = new Map<string, Skipped>();
  for (let repeat = 0; repeat < repeats; repeat++) {
    const parts = groupedFolds(dataset.samples, k, seed0 + repeat);
    for (const [f, test] of parts.entries()) {
      const testSet = new Set(test);
      const train = dataset.samples.filter((s) => !testSet.has(s));
      const testGroups = new Set(test.map((s) => s.group));
      if (train.some((s) => testGroups.has(s.group))) {
        throw new Error(`crossValidate: a group is on both sides of fold ${f}`);
      }
      const result = await trainClassifier(
        dataset,
        embedder,
        { ...recipe, presplit: { train, test } },
        options.events ?? {},
      );
      for (const s of result.skipped) skipped.set(s.file, s);
      const probs = result.test;
      result.classifier.dispose();
      if (!probs) continue;
      const scored = result.scored;
      for (const { sample, predicted: p } of scored) {
        truth.push(sample.label);
        predicted.push(p);
        const g = perGroup.get(sample.group) ?? { label: sample.label, photos: 0, correct: 0 };
        g.photos++;
        if (p === sample.label) g.correct++;
        perGroup.set(sample.group, g);
      }
      const fold: FoldResult = {
        repeat,
        fold: f,
        trainCount: result.split.train.length,
        testCount: scored.length,
        accuracy: probs.accuracy ?? 0,
        groups: [...testGroups].sort(),
      };
      folds.push(fold);
      options.onFold?.(fold);
    }
  }
  const accs = folds.map((f) => f.accuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length);
  const m = computeMetrics(dataset.classes, truth, predicted);
  const recall = Object.fromEntries(dataset.classes.map((c) => [c, m.perClass[c]!.recall]));
  const worstGroups = [...perGroup.entries()]
    .map(([group, g]) => ({
      group,
      class: dataset.classes[g.label]!,
      photos: g.photos,
      correct: g.correct,
      accuracy: g.correct / g.photos,
    }))
    .sort((a, b) => a.accuracy - b.accuracy || b.photos - a.photos || (a.group < b.group ? -1 : 1));
  return {
    classes: dataset.classes,
    accuracy: { mean, std },
    recall,
    folds,
    worstGroups,
    confusion: m.confusion,
    skipped: [...skipped.values()],
  };
}
