/**
 * Grouped, class-stratified k-fold cross-validation of a training recipe:
 * the honest number for photos where many views show one rock.
 *
 * Folds are made of whole groups (photo series, see `seriesGroups`): the
 * groups of each class, in an order hashed from the seed, are dealt to the
 * folds one at a time, each to the fold that holds the fewest photos of that
 * class so far (largest groups first), so every fold gets a share of every
 * class and no group is ever on both sides. Each fold trains the recipe on
 * the other folds and scores the fold. Repeats reshuffle the groups with
 * other seeds.
 * @module
 */
import type { Dataset, Sample, Skipped } from "./dataset.ts";
import { RocksError } from "./errors.ts";
import { computeMetrics } from "./metrics.ts";
import { hashSeed } from "./rng.ts";
import { type EmbedFn, trainClassifier, type TrainEvents, type TrainOptions } from "./train.ts";

/**
 * Deals whole groups to `k` folds, stratified by class.
 * @param samples The photos (with `group` and `label`).
 * @param k Number of folds, ≥ 2.
 * @param seed Shuffles which groups go together.
 * @returns `k` lists of photos; every photo is in exactly one.
 */
export function groupedFolds(samples: Sample[], k: number, seed: number): Sample[][] {
  if (!Number.isInteger(k) || k < 2) {
    throw new RocksError("usage", `Folds must be a whole number ≥ 2, got ${k}`);
  }
  const byGroup = new Map<string, Sample[]>();
  for (const s of samples) byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s]);
  if (byGroup.size < k) {
    throw new RocksError(
      "input",
      `${k} folds need at least ${k} photo groups; the photos form ${byGroup.size}`,
    );
  }
  // A group belongs to the class most of its photos have.
  const majority = (g: Sample[]) => {
    const counts = new Map<number, number>();
    for (const s of g) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  };
  const folds: Sample[][] = Array.from({ length: k }, () => []);
  const labels = [...new Set(samples.map((s) => s.label))].sort((a, b) => a - b);
  for (const label of labels) {
    const groups = [...byGroup.entries()]
      .filter(([, g]) => majority(g) === label)
      .sort(([a, ga], [b, gb]) =>
        gb.length - ga.length || hashSeed(seed, a) - hashSeed(seed, b) || (a < b ? -1 : 1)
      );
    for (const [name, g] of groups) {
      // The fold with the fewest photos of this class; ties broken by the seed.
      const count = (f: Sample[]) => f.filter((s) => s.label === label).length;
      const target = folds
        .map((f, i) => ({ i, n: count(f), tie: hashSeed(seed, name, i) }))
        .sort((a, b) => a.n - b.n || a.tie - b.tie)[0]!.i;
      folds[target]!.push(...g);
    }
  }
  return folds;
}

/** Options for {@linkcode crossValidate}. */
export interface CrossValidateOptions {
  /** Folds. @default 5 */
  folds?: number;
  /** Repeats with other group shuffles. @default 1 */
  repeats?: number;
  /** Seed of the first repeat (repeat r uses seed + r). @default 1 */
  seed?: number;
  /** Called after each fold. */
  onFold?: (fold: FoldResult) => void;
  /** Training progress of each fold. */
  events?: TrainEvents;
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
 * Cross-validates a recipe on a dataset with grouped, stratified folds.
 * Every fold asserts that no group is on both sides before training.
 * @param dataset From `scanDataset()`.
 * @param embed Embeds photo views (a cache makes folds after the first cheap).
 * @param trunk Identity of the trunk behind `embed`.
 * @param recipe Training options (the split options are ignored).
 * @param options Folds, repeats, seed.
 */
export async function crossValidate(
  dataset: Dataset,
  embed: EmbedFn,
  trunk: { id: string; sha256: string },
  recipe: TrainOptions,
  options: CrossValidateOptions = {},
): Promise<CrossValidation> {
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
        embed,
        trunk,
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
