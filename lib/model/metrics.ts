/**
 * Scores of a classifier on labelled photos: accuracy, per-class precision /
 * recall / support, and the confusion matrix (rows = true class, columns =
 * predicted class).
 * @module
 */

/** Precision, recall and support of one class. */
export interface ClassScore {
  /** Of the photos predicted as this class, the fraction that are (null when none were). */
  precision: number | null;
  /** Of the photos of this class, the fraction predicted as it (null when there are none). */
  recall: number | null;
  /** Photos of this class. */
  support: number;
}

/** Every score of one evaluation. */
export interface Metrics {
  /** Fraction predicted correctly (null when there are no photos). */
  accuracy: number | null;
  /** Photos scored. */
  count: number;
  /** Class names, in label order. */
  classes: string[];
  /** Scores by class name. */
  perClass: Record<string, ClassScore>;
  /** `confusion[true][predicted]` counts. */
  confusion: number[][];
}

/**
 * Scores predictions against labels.
 * @param classes Class names, in label order.
 * @param truth True label of each photo.
 * @param predicted Predicted label of each photo.
 * @returns The scores.
 * @example
 * ```ts
 * import { computeMetrics } from "./mod.ts";
 * const m = computeMetrics(["Basalt", "Highland"], [0, 0, 1], [0, 1, 1]);
 * if (m.accuracy !== 2 / 3 || m.confusion[0]![1] !== 1) throw new Error("wrong scores");
 * ```
 */
export function computeMetrics(classes: string[], truth: number[], predicted: number[]): Metrics {
  if (truth.length !== predicted.length) {
    throw new Error(`computeMetrics: ${truth.length} labels but ${predicted.length} predictions`);
  }
  const c = classes.length;
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  let correct = 0;
  truth.forEach((t, i) => {
    const p = predicted[i]!;
    confusion[t]![p]! += 1;
    if (t === p) correct++;
  });
  const perClass: Record<string, ClassScore> = {};
  classes.forEach((name, k) => {
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[k]!, 0);
    const hit = confusion[k]![k]!;
    perClass[name] = {
      precision: predictedAs ? hit / predictedAs : null,
      recall: support ? hit / support : null,
      support,
    };
  });
  return {
    accuracy: truth.length ? correct / truth.length : null,
    count: truth.length,
    classes,
    perClass,
    confusion,
  };
}
