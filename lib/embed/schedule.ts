/**
 * Feeding an embedder a long list of jobs: in calls of about
 * {@linkcode EMBED_CHUNK} views (a photo's views kept together, see
 * `cutJobs`), two calls in flight so a pool's queue never runs dry between
 * calls, and a stop request heard between calls (it then waits for at most
 * the two calls already running).
 * @module
 */
import { throwIfAborted } from "../util/errors.ts";
import { cutJobs, type EmbedFn, type EmbedJob, type EmbedResult } from "./job.ts";

/** Photos per embedding call when a long list is fed in runs. */
export const EMBED_CHUNK = 16;

/** Options for {@linkcode embedInRuns}. */
export interface EmbedInRunsOptions {
  /** Views done so far over the whole list, after each view. */
  onProgress?: (done: number, total: number) => void;
  /** A stop request: heard between calls, it throws an `interrupted` RocksError. */
  signal?: AbortSignal;
  /** What stops, for the interruption's message. @default "Embedding" */
  what?: string;
}

/**
 * Embeds `jobs` in runs, two calls in flight.
 * @param embed The embedder's function (a trunk, a pool, a cache in front of either).
 * @param jobs Photos and views, in order.
 * @param options Progress and stop request.
 * @returns One result per job, in order.
 * @throws {RocksError} (kind `interrupted`) when `signal` is aborted between calls.
 * @example
 * ```ts
 * import { embedInRuns } from "./schedule.ts";
 * const jobs = Array.from({ length: 40 }, (_, i) => ({ path: `${i}.jpg`, view: "centre" as const }));
 * let calls = 0;
 * const results = await embedInRuns(async (js) => {
 *   calls++;
 *   return js.map(() => ({ embedding: new Float32Array(2048) }));
 * }, jobs);
 * if (results.length !== 40 || calls !== 3) throw new Error("three calls of about 16");
 * ```
 */
export async function embedInRuns(
  embed: EmbedFn,
  jobs: EmbedJob[],
  options: EmbedInRunsOptions = {},
): Promise<EmbedResult[]> {
  const runs = cutJobs(jobs, EMBED_CHUNK);
  const calls: Promise<EmbedResult[]>[] = [];
  const done: number[] = [];
  const call = async (k: number) => {
    if (options.signal?.aborted) {
      await Promise.allSettled(calls); // nothing keeps running after the stop
      throwIfAborted(options.signal, options.what ?? "Embedding");
    }
    done[k] = 0;
    calls[k] = embed(runs[k]!, (n) => {
      done[k] = n;
      options.onProgress?.(done.reduce((a, b) => a + b, 0), jobs.length);
    });
    calls[k]!.catch(() => {}); // a failure surfaces when its turn is awaited, not as an unhandled rejection
  };
  const results: EmbedResult[] = [];
  if (runs.length > 0) await call(0);
  for (let k = 0; k < runs.length; k++) {
    if (k + 1 < runs.length) await call(k + 1);
    results.push(...await calls[k]!);
  }
  return results;
}
