/**
 * Predicting the class of photos: files and folders in, one result per
 * photo out (class and per-class probabilities, or why it failed).
 * @module
 */
import { type Classifier, evalView } from "./classifier.ts";
import { isImageName } from "./dataset.ts";
import type { EmbedFn } from "./train.ts";

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

/**
 * Expands folders into the photos they hold (recursively, sorted, hidden
 * files skipped). Files named directly are kept whatever their extension.
 * A missing or unreadable input, or a folder without photos, keeps a place
 * of its own, and its prediction's `error` says why: one bad input never
 * stops the others.
 *
 * Requires --allow-read.
 * @param inputs Files and folders.
 * @returns Photo paths, in order.
 */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<number> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) if (!e.name.startsWith(".")) entries.push(e);
    } catch {
      // An unreadable folder gets an entry of its own, whose error says why.
      out.push(dir);
      return 1;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let found = 0;
    for (const e of entries) {
      const path = `${dir.replace(/\/+$/, "")}/${e.name}`;
      if (e.isDirectory) found += await walk(path);
      else if (isImageName(e.name)) {
        out.push(path);
        found++;
      }
    }
    return found;
  };
  for (const input of inputs) {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(input);
    } catch {
      // Missing, a broken link or a link loop: reported as an error in its own result.
      out.push(input);
      continue;
    }
    // A folder without photos keeps a place of its own, whose error says it is a folder.
    if (st.isDirectory) {
      if ((await walk(input)) === 0) out.push(input);
    } else out.push(input);
  }
  return out;
}

/** Index of the largest value. */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * Predicts each photo's class.
 * @param classifier The trained classifier.
 * @param embed Turns photo views into embeddings.
 * @param inputs Photo files and folders.
 * @param onProgress Called after each photo.
 * @returns One prediction per photo, in input order.
 */
export async function predictFiles(
  classifier: Classifier,
  embed: EmbedFn,
  inputs: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<Prediction[]> {
  const files = await expandInputs(inputs);
  const results = await embed(files.map((path) => ({ path, view: evalView(classifier.meta) })), onProgress);
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
