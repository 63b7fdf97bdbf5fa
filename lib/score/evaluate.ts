/**
 * Scoring a classifier on labelled photos (the centre view of each): a
 * folder of class folders, or photos already listed (the test side of a
 * training run, say). Gives the accuracy, per-class precision / recall /
 * support, the confusion matrix, the mean NLL and every photo's
 * probabilities, which the report pictures.
 * @module
 */
import { scanDataset } from "../data/scan.ts";
import type { Dataset, Duplicate, Skipped } from "../data/sample.ts";
import type { Embedder } from "../embed/embedder.ts";
import { type Classifier, evalView } from "../model/classifier.ts";
import { computeMetrics, type Metrics } from "../model/metrics.ts";
import { RocksError } from "../util/errors.ts";
import { argMax } from "./predict.ts";

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

/** Scores on labelled photos. */
export interface Evaluation extends Metrics {
  /** Mean NLL of the true classes. */
  loss: number | null;
  /** Every scored photo. */
  predictions: Scored[];
  /** Photos not scored, and why. */
  skipped: Skipped[];
  /** Photos whose bytes are under more than one class folder. */
  duplicates?: Duplicate[];
}

/** Options for {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Called after each photo with the count done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Scores a classifier on labelled photos. The photos' classes must be among
 * the classifier's (a subset is fine: a folder of Basalt only, say). Given a
 * folder, an empty class folder is left out and listed as skipped.
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (anything with its `embed`).
 * @param classifier A trained classifier.
 * @param data A folder with one sub-folder per class, or a {@linkcode Dataset} (e.g. a split's test photos).
 * @param options Progress.
 * @returns The scores and every photo's probabilities; `file` is each photo's name in the data folder.
 * @throws {RocksError} When a class is one the classifier does not know, or the folder cannot be read.
 * @example
 * ```ts
 * import { evaluate, openEmbedder, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const data = "../shared/data/space-rocks";
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, data, { preset: "course", epochs: 1, viewSize: 64 });
 * const scores = await evaluate(embedder, classifier, data);
 * if (scores.count !== 154 || scores.confusion.flat().reduce((a, b) => a + b) !== 154) throw new Error("154 photos");
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export async function evaluate(
  embedder: Pick<Embedder, "embed">,
  classifier: Classifier,
  data: string | Dataset,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const known = classifier.meta.classes;
  const dataset = typeof data === "string"
    ? await scanDataset(data, { minClasses: 1, emptyClasses: "skip" })
    : data;
  const unknown = dataset.classes.filter((c) => !known.includes(c));
  if (unknown.length) {
    const which = typeof data === "string"
      ? `${data} has class folder${unknown.length > 1 ? "s" : ""}`
      : `The photos have class${unknown.length > 1 ? "es" : ""}`;
    throw new RocksError(
      "input",
      `${which} ${unknown.join(", ")} that the model does not know: it was trained on ${known.join(", ")}`,
      typeof data === "string" ? data : undefined,
    );
  }
  const samples = dataset.samples;
  const results = await embedder.embed(
    samples.map((s) => ({ path: s.path, view: evalView(classifier.meta) })),
    options.onProgress,
  );
  const skipped: Skipped[] = [...dataset.skipped];
  const ok = samples.flatMap((s, i) => {
    const r = results[i]!;
    if ("embedding" in r) return [{ sample: s, embedding: r.embedding }];
    skipped.push({ file: s.name, reason: r.error });
    return [];
  });
  const probs = await classifier.probabilities(ok.map((o) => o.embedding));
  const truth = ok.map((o) => known.indexOf(dataset.classes[o.sample.label]!));
  const predicted = probs.map((p) => argMax(p));
  const loss = ok.length
    ? -truth.reduce((s, t, i) => s + Math.log(Math.max(probs[i]![t]!, 1e-45)), 0) / ok.length
    : null;
  const predictions = ok.map((o, i) => ({
    file: o.sample.name,
    truth: known[truth[i]!]!,
    predicted: known[predicted[i]!]!,
    probabilities: Object.fromEntries(known.map((c, j) => [c, probs[i]![j]!])),
  }));
  return {
    ...computeMetrics(known, truth, predicted),
    loss,
    predictions,
    skipped,
    duplicates: dataset.duplicates ?? [],
  };
}
