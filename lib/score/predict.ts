/**
 * Predicting the class of photos: files and folders in, one result per
 * photo out (class and per-class probabilities, or why it failed).
 * `rocks predict` prints these; `--json` prints them as they are.
 * @module
 */
import { expandInputs } from "../data/inputs.ts";
import type { Embedder } from "../embed/embedder.ts";
import { type Classifier, evalView } from "../model/classifier.ts";

/** The prediction for one photo. */
export type Prediction =
  | {
    /** The photo, as given or found in a given folder. */
    file: string;
    /** The most probable class. */
    class: string;
    /** Probability of each class, summing to 1. */
    probabilities: Record<string, number>;
  }
  | {
    /** The photo. */
    file: string;
    /** Why there is no prediction. */
    error: string;
  };

/** Index of the largest value. */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Options for {@linkcode predict}. */
export interface PredictOptions {
  /** Called after each photo with the count done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Predicts the class of photos: files, or folders searched for photos
 * (sorted, hidden files skipped).
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (anything with its `embed`).
 * @param classifier A trained classifier.
 * @param inputs Photo files and folders.
 * @param options Progress.
 * @returns One prediction per photo, in input order; a photo that cannot be read has `error`.
 * @example
 * ```ts
 * import { openEmbedder, predict, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const data = "../shared/data/space-rocks";
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, data, { preset: "course", epochs: 1, viewSize: 64 });
 * const [p] = await predict(embedder, classifier, [`${data}/Highland`]);
 * if (!p || "error" in p || !(p.class in p.probabilities)) throw new Error("a class and its probability");
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export async function predict(
  embedder: Pick<Embedder, "embed">,
  classifier: Classifier,
  inputs: string[],
  options: PredictOptions = {},
): Promise<Prediction[]> {
  const files = await expandInputs(inputs);
  const results = await embedder.embed(
    files.map((path) => ({ path, view: evalView(classifier.meta) })),
    options.onProgress,
  );
  const good = results.flatMap((r) => ("embedding" in r ? [r.embedding] : []));
  const probs = await classifier.probabilities(good);
  let k = 0;
  return results.map((r, i) => {
    const file = files[i]!;
    if (!("embedding" in r)) return { file, error: r.error };
    const p = probs[k++]!;
    const probabilities = Object.fromEntries(classifier.meta.classes.map((c, j) => [c, p[j]!]));
    return { file, class: classifier.meta.classes[argMax(p)]!, probabilities };
  });
}
