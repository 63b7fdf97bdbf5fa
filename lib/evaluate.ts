/**
 * Scoring a classifier on a labelled folder (one sub-folder per class).
 * @module
 */
import { type Classifier, evalView } from "./classifier.ts";
import { scanDataset, type Skipped } from "./dataset.ts";
import type { Duplicate } from "./duplicates.ts";
import { RocksError } from "./errors.ts";
import { computeMetrics, type Metrics } from "./metrics.ts";
import { argMax } from "./predict.ts";
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
  const results = await embed(
    dataset.samples.map((s) => ({ path: s.path, view: evalView(classifier.meta) })),
    onProgress,
  );
  const skipped = [...dataset.skipped];
  const ok = dataset.samples.flatMap((s, i) => {
    const r = results[i]!;
    if ("embedding" in r) return [{ sample: s, embedding: r.embedding }];
    skipped.push({ file: s.name, reason: r.error });
    return [];
  });
  const probs = await classifier.probabilities(ok.map((o) => o.embedding));
  const truth = ok.map((o) => classes.indexOf(dataset.classes[o.sample.label]!));
  const predicted = probs.map((p) => argMax(p));
  const loss = ok.length
    ? -truth.reduce((s, t, i) => s + Math.log(Math.max(probs[i]![t]!, 1e-45)), 0) / ok.length
    : null;
  const predictions = ok.map((o, i) => ({
    file: o.sample.name,
    truth: classes[truth[i]!]!,
    predicted: classes[predicted[i]!]!,
    probabilities: Object.fromEntries(classes.map((c, j) => [c, probs[i]![j]!])),
  }));
  return {
    ...computeMetrics(classes, truth, predicted),
    loss,
    predictions,
    skipped,
    duplicates: dataset.duplicates ?? [],
  };
}
