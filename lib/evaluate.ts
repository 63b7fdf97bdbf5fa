/**
 * Scoring a classifier on a labelled folder (one sub-folder per class).
 * @module
 */
import type { Classifier } from "./classifier.ts";
import { scanDataset, type Skipped } from "./dataset.ts";
import type { Duplicate } from "./duplicates.ts";
import { RocksError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import { evaluateSamples } from "./evaluate_samples.ts";
import type { EmbedFn } from "./train.ts";

/** One scored photo. */
export interface Scored {
  /** The photo, relative to the data folder. */
  file: string;
  /** Its true class. */
  truth: string;
  /** The predicted class. */
  predicted: string;
  /** Probability of each class. */
  probabilities: Record<string, number>;
}

/** Scores on a labelled folder. */
export interface Evaluation extends Metrics {
  /** Mean NLL of the true classes. */
  loss: number | null;
  /** Every scored photo. */
  predictions: Scored[];
  /** Photos not scored, and why. */
  skipped: Skipped[];
  /** Photos whose bytes are under more than one class folder (folder scoring only). */
  duplicates?: Duplicate[];
}

/**
 * Evaluates a classifier on a labelled folder. The folder's class names must
 * be among the classifier's (a subset is fine: e.g. a folder of Basalt only).
 *
 * Requires --allow-read.
 * @param classifier The trained classifier.
 * @param embed Turns photo views into embeddings.
 * @param dataDir The labelled folder.
 * @param onProgress Called after each photo.
 * @throws {RocksError} When the folder has a class the classifier does not know.
 */
export async function evaluateFolder(
  classifier: Classifier,
  embed: EmbedFn,
  dataDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Evaluation> {
  // An empty class folder is left out (listed as skipped): the others can still be scored.
  const dataset = await scanDataset(dataDir, { minClasses: 1, emptyClasses: "skip" });
  const classes = classifier.meta.classes;
  const unknown = dataset.classes.filter((c) => !classes.includes(c));
  if (unknown.length) {
    throw new RocksError(
      "input",
      `${dataDir} has class folder${unknown.length > 1 ? "s" : ""} ${
        unknown.join(", ")
      } that the model does not know: ` +
        `it was trained on ${classes.join(", ")}`,
      dataDir,
    );
  }
  const scores = await evaluateSamples(classifier, embed, dataset.samples, dataset.classes, onProgress);
  return {
    ...scores,
    skipped: [...dataset.skipped, ...scores.skipped],
    duplicates: dataset.duplicates ?? [],
  };
}
