/**
 * Scoring a classifier on a given list of labelled photos, e.g. the test side
 * of a training run's split (`TrainResult.split.test`), rather than on every
 * photo of a folder as `evaluateFolder()` does.
 * @module
 */
import { type Classifier, evalView } from "./classifier.ts";
import type { Sample } from "./dataset.ts";
import { RocksError } from "./errors.ts";
import type { Evaluation } from "./evaluate.ts";
import { computeMetrics } from "./metrics.ts";
import { argMax } from "./predict.ts";
import type { EmbedFn } from "./train.ts";

/**
 * Evaluates a classifier on labelled photos (centre view), as
 * `evaluateFolder()` does for a whole folder.
 *
 * Requires --allow-read.
 * @param classifier The trained classifier.
 * @param embed Turns photo views into embeddings.
 * @param samples The photos; `label` indexes `classes`.
 * @param classes Class names of the labels (the dataset's, which must all be the classifier's).
 * @param onProgress Called after each photo.
 * @returns Scores and every photo's probabilities; `file` is each sample's `name`.
 * @throws {RocksError} When a class is one the classifier does not know.
 */
export async function evaluateSamples(
  classifier: Classifier,
  embed: EmbedFn,
  samples: Sample[],
  classes: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<Evaluation> {
  const known = classifier.meta.classes;
  const unknown = classes.filter((c) => !known.includes(c));
  if (unknown.length) {
    throw new RocksError(
      "input",
      `The photos have class${unknown.length > 1 ? "es" : ""} ${
        unknown.join(", ")
      } that the model does not know: ` +
        `it was trained on ${known.join(", ")}`,
    );
  }
  const results = await embed(
    samples.map((s) => ({ path: s.path, view: evalView(classifier.meta) })),
    onProgress,
  );
  const skipped: Evaluation["skipped"] = [];
  const ok = samples.flatMap((s, i) => {
    const r = results[i]!;
    if ("embedding" in r) return [{ sample: s, embedding: r.embedding }];
    skipped.push({ file: s.name, reason: r.error });
    return [];
  });
  const probs = await classifier.probabilities(ok.map((o) => o.embedding));
  const truth = ok.map((o) => known.indexOf(classes[o.sample.label]!));
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
  return { ...computeMetrics(known, truth, predicted), loss, predictions, skipped };
}
