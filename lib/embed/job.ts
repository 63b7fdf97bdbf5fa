/**
 * The embedding contract every stage above this one speaks: a job names a
 * photo and a view; an embedding function turns jobs into 2048 floats each,
 * in order, or into the reason there are none. The trunk in this thread,
 * the worker pool and the cache all have this shape, so they stack.
 * @module
 */
import type { ViewName } from "../image/view.ts";

/** One photo and the view of it to embed. */
export interface EmbedJob {
  /** The file. */
  path: string;
  /** Which view. */
  view: ViewName;
}

/** The embedding of one job, or why there is none. */
export type EmbedResult = { embedding: Float32Array } | { error: string };

/**
 * Turns photo views into embeddings, in order: one result per job. A photo
 * that cannot be read gives `{ error }` in its place; the others go on.
 */
export type EmbedFn = (
  jobs: EmbedJob[],
  onProgress?: (done: number, total: number) => void,
) => Promise<EmbedResult[]>;

/**
 * Cuts jobs into runs of about `size` for separate embedding calls, keeping
 * a photo's consecutive views in one run (so it is decoded once) unless the
 * run would pass `2 × size`.
 * @param jobs The jobs, in order.
 * @param size Views per run.
 * @returns The runs, in order; together they are `jobs`.
 * @example
 * ```ts
 * import { cutJobs } from "./job.ts";
 * const jobs = ["a", "a", "a", "b"].map((path) => ({ path, view: "centre" as const }));
 * if (cutJobs(jobs, 2).map((r) => r.length).join() !== "3,1") throw new Error("a's views stay together");
 * ```
 */
export function cutJobs(jobs: EmbedJob[], size: number): EmbedJob[][] {
  const runs: EmbedJob[][] = [];
  for (let start = 0; start < jobs.length;) {
    let end = Math.min(start + size, jobs.length);
    while (end < jobs.length && end - start < 2 * size && jobs[end]!.path === jobs[end - 1]!.path) end++;
    runs.push(jobs.slice(start, end));
    start = end;
  }
  return runs;
}
