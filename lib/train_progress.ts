/**
 * How far a training run has got, for a progress bar: the number of photo
 * views it will embed, known before it starts, and an embedder wrapper that
 * counts the views as they are embedded (across the test, train and epoch
 * phases, whatever the embedder behind it: trunk, pool or cache).
 * @module
 */
import { type Dataset, splitSamples } from "./dataset.ts";
import { wrapEmbedder } from "./toolkit.ts";
import { type EmbedFn, resolveTrainOptions, type TrainOptions } from "./train.ts";

/**
 * The views a training run embeds: each test photo once (centre view), and
 * each training photo once per epoch (`augment: "crop"`) or once in all
 * (`augment: "none"`). Photos that turn out unreadable are dropped after
 * their first try, so a run with bad photos embeds fewer.
 * @param dataset The scanned folder.
 * @param options The recipe, as given to training (defaults filled in the same way).
 * @returns The number of views.
 *
 * @example
 * ```ts
 * import { plannedViews } from "./train_progress.ts";
 * const samples = Array.from({ length: 10 }, (_, i) => ({ path: `${i}.png`, name: `${i}.png`, label: i % 2, group: `${i}` }));
 * const dataset = { root: ".", classes: ["a", "b"], samples, skipped: [] };
 * // 2 test photos (20 % of each class), 8 trained on for 5 epochs.
 * if (plannedViews(dataset, { epochs: 5 }) !== 2 + 8 * 5) throw new Error("wrong");
 * ```
 */
export function plannedViews(dataset: Dataset, options: TrainOptions = {}): number {
  const o = resolveTrainOptions(options);
  const split = splitSamples(dataset.samples, o.testFraction, o.split, o.seed);
  return split.test.length + split.train.length * (o.augment === "crop" ? o.epochs : 1);
}

/**
 * Wraps an embedder so that `onProgress` hears the running total of views
 * embedded over all its calls (a view that fails still counts: it was tried).
 * The calls must come one after another, as training makes them.
 * @param embedder Anything with an `embed` function (an `Embedder`, a pool).
 * @param onProgress Called with the views done so far, after each one.
 * @returns A copy of `embedder` whose `embed` counts.
 */
export function countingEmbedder<T extends { embed: EmbedFn }>(
  embedder: T,
  onProgress: (done: number) => void,
): T {
  // Calls may overlap (training keeps two in flight): each call's count is kept apart and summed.
  let finished = 0;
  let next = 0;
  const running = new Map<number, number>();
  const report = () => onProgress(finished + [...running.values()].reduce((a, b) => a + b, 0));
  const embed: EmbedFn = async (jobs, inner) => {
    const id = next++;
    running.set(id, 0);
    try {
      return await embedder.embed(jobs, (done, total) => {
        running.set(id, done);
        report();
        inner?.(done, total);
      });
    } finally {
      running.delete(id);
      finished += jobs.length;
      report();
    }
  };
  return wrapEmbedder(embedder, { embed } as Partial<T>); // keeps its getters (`started`) live
}
