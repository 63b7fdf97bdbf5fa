/**
 * The bounded queue in front of the embedder. A request's photos are
 * admitted only while the photos admitted and not yet answered stay within
 * the limit; beyond it the server answers 503 with a `Retry-After` drawn from
 * the rate photos have been answered at, instead of letting waiting work and
 * memory grow without bound.
 *
 * Admitted photos go to `run` (which embeds them on the shared worker pool
 * and applies the head). Without batching each request makes its own call
 * and the pool's own queue interleaves them. With batching, requests that
 * arrive while `calls` calls are already running wait and then go together,
 * as one call of up to `maxBatch` photos (one cache pass, one head forward,
 * fewer and larger chunks for the pool), each request getting its own
 * results back in order.
 * @module
 */

/** Options of {@linkcode createPhotoQueue}. */
export interface PhotoQueueOptions<J, R> {
  /** Photos admitted (waiting or running) at most. */
  limit: number;
  /** What processes photos: one result per job, in order. */
  run: (jobs: J[]) => Promise<R[]>;
  /** Whether requests that wait are run together. @default false */
  batch?: boolean;
  /** With batching: calls of `run` at once. @default 2 */
  calls?: number;
  /** With batching: the most photos one call takes (a request is never split). @default 32 */
  maxBatch?: number;
  /** The clock, in milliseconds (a test aid). @default performance.now */
  now?: () => number;
}

/** Photos admitted to the queue: run them, then release them (always, in `finally`). */
export interface Ticket<J, R> {
  /** How many photos it holds. */
  readonly size: number;
  /**
   * Runs the photos (at most `size` of them; fewer when some were not readable before).
   * @param jobs The photos.
   * @returns One result per job, in order.
   */
  run(jobs: J[]): Promise<R[]>;
  /** Gives the places back; a second call does nothing. */
  release(): void;
}

/** A bounded queue of photos. */
export interface PhotoQueue<J, R> {
  /** Photos admitted at most. */
  readonly limit: number;
  /** Photos admitted and not yet released. */
  readonly pending: number;
  /** Calls of `run` under way. */
  readonly running: number;
  /**
   * Admits `n` photos when they fit (a request of more photos than the whole
   * limit never does).
   * @param n Photos (≥ 1).
   * @returns A ticket, or undefined when the queue is full.
   */
  admit(n: number): Ticket<J, R> | undefined;
  /** Whole seconds a refused client should wait: the pending photos at the recent rate (1–60; 5 with no rate yet). */
  retryAfter(): number;
}

interface Waiting<J, R> {
  jobs: J[];
  resolve: (r: R[]) => void;
  reject: (e: unknown) => void;
}

/** Completions remembered for the rate: [time in ms, photos]. */
const RATE_WINDOW_MS = 30_000;

/**
 * Makes a bounded photo queue.
 * @param options Limit, runner, batching.
 * @returns The queue.
 * @example
 * ```ts
 * import { createPhotoQueue } from "./queue.ts";
 * const queue = createPhotoQueue({ limit: 2, run: async (jobs: string[]) => jobs.map((j) => j.length) });
 * const ticket = queue.admit(2)!;
 * if (queue.admit(1) !== undefined) throw new Error("full: a third photo is refused");
 * const lengths = await ticket.run(["ab", "c"]);
 * ticket.release();
 * if (lengths.join() !== "2,1" || queue.pending !== 0) throw new Error("run and released");
 * ```
 */
export function createPhotoQueue<J, R>(options: PhotoQueueOptions<J, R>): PhotoQueue<J, R> {
  const { limit } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`The queue's limit must be ≥ 1, got ${limit}`);
  }
  const now = options.now ?? (() => performance.now());
  const calls = Math.max(1, options.calls ?? 2);
  const maxBatch = Math.max(1, options.maxBatch ?? 32);
  let pending = 0;
  let running = 0;
  const waiting: Waiting<J, R>[] = [];
  const done: [number, number][] = [];

  const finished = (photos: number) => {
    const t = now();
    done.push([t, photos]);
    while (done.length > 0 && done[0]![0] < t - RATE_WINDOW_MS) done.shift();
  };

  const call = async (jobs: J[]): Promise<R[]> => {
    running++;
    try {
      const results = await options.run(jobs);
      finished(jobs.length);
      return results;
    } finally {
      running--;
    }
  };

  // Batching: while fewer than `calls` calls run, the requests waiting go out together.
  const pump = () => {
    while (running < calls && waiting.length > 0) {
      const group: Waiting<J, R>[] = [waiting.shift()!];
      let size = group[0]!.jobs.length;
      while (waiting.length > 0 && size + waiting[0]!.jobs.length <= maxBatch) {
        const next = waiting.shift()!;
        size += next.jobs.length;
        group.push(next);
      }
      call(group.flatMap((w) => w.jobs)).then((results) => {
        let at = 0;
        for (const w of group) {
          w.resolve(results.slice(at, at + w.jobs.length));
          at += w.jobs.length;
        }
      }, (e) => {
        for (const w of group) w.reject(e);
      }).finally(pump);
    }
  };

  const runJobs = (jobs: J[]): Promise<R[]> => {
    if (jobs.length === 0) return Promise.resolve([]);
    if (!options.batch) return call(jobs);
    return new Promise<R[]>((resolve, reject) => {
      waiting.push({ jobs, resolve, reject });
      pump();
    });
  };

  return {
    limit,
    get pending() {
      return pending;
    },
    get running() {
      return running;
    },
    admit(n) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`Admit at least one photo, got ${n}`);
      if (pending + n > limit) return undefined;
      pending += n;
      let released = false;
      return {
        size: n,
        run: (jobs) => {
          if (jobs.length > n) {
            throw new RangeError(`The ticket holds ${n} photos, asked to run ${jobs.length}`);
          }
          return runJobs(jobs);
        },
        release() {
          if (released) return;
          released = true;
          pending -= n;
        },
      };
    },
    retryAfter() {
      const t = now();
      const recent = done.filter(([at]) => at >= t - RATE_WINDOW_MS);
      const photos = recent.reduce((a, [, n]) => a + n, 0);
      if (photos === 0) return 5; // nothing answered lately (the workers may be starting): a guess
      const span = Math.max(1000, t - recent[0]![0]) / 1000;
      return Math.min(60, Math.max(1, Math.ceil(pending / (photos / span))));
    },
  };
}
