/**
 * A pool of Deno workers that decode and embed photos in parallel, one
 * single-threaded backend and one trunk each: tfjs-wasm's own threads do not
 * start under Deno, and decoding costs as much as the network, so separate
 * workers are what keeps every core busy.
 *
 * Photos go out in small chunks from one shared queue to whichever worker is
 * free; results come back in input order. A worker that dies is reported,
 * replaced, and its chunk retried once on another worker; a chunk that kills
 * two workers fails with an error per photo instead of hanging the run.
 * @module
 */
import { type BackendInfo, type BackendName, resolveBackend } from "../trunk/backend.ts";
import { DEFAULT_PRECISION, type Precision, type PrecisionRequest } from "../trunk/precision.ts";
import { RocksError } from "../util/errors.ts";
import { cutJobs, type EmbedFn, type EmbedJob, type EmbedResult } from "./job.ts";

/** Options for {@linkcode createPool}. */
export interface PoolOptions {
  /** Workers to start. @default navigator.hardwareConcurrency */
  workers?: number;
  /**
   * Backend of each worker. `auto` is decided here, once, and each worker is given the name: a worker
   * that asked `navigator.gpu` itself loaded the GPU driver in its own thread, and where that driver is
   * Mesa's (llvmpipe) its unloading at exit crashed the process in 4 runs of 25. @default "auto"
   */
  backend?: BackendName;
  /** The weights folder. @default `weights/resnet50` beside rocks' own modules */
  weightsDir?: string;
  /** The trunk's arithmetic (`auto`: int8 where it can run, see `choosePrecision`). @default "auto" */
  precision?: PrecisionRequest;
  /** Pixel limit per photo. */
  maxPixels?: number;
  /** 224 px views per trunk call inside a worker (see `embedFiles`). @default DEFAULT_BATCH (1) */
  batchSize?: number;
  /** Called when a worker dies (the pool replaces it and retries its photos). */
  onWorkerError?: (message: string) => void;
  /** Test aid: the first worker (not its replacement) throws after this many chunks. */
  crashAfter?: number;
  /** A worker that has not loaded its trunk after this long is stopped and reported. @default 300000 (5 minutes) */
  startTimeoutMs?: number;
}

/** A running pool. */
export interface Pool {
  /** Embeds jobs in input order (see `embedFiles`). */
  embed: EmbedFn;
  /** Workers running. */
  readonly size: number;
  /** The trunk the workers hold, and the precision it runs at. */
  readonly trunk: { id: string; sha256: string; precision: Precision };
  /** The backend the workers run. */
  readonly backend: BackendInfo;
  /** Workers that died and were replaced. */
  readonly restarts: number;
  /** Stops every worker. */
  close(): void;
}

interface Chunk {
  jobs: EmbedJob[];
  attempts: number;
  resolve: (r: EmbedResult[]) => void;
}

interface Slot {
  worker: Worker;
  busy: Chunk | undefined;
  id: number;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url).href;

/**
 * Starts `workers` workers and waits until each holds a verified trunk.
 *
 * Requires --allow-read (weights, photos) and --allow-env.
 * @param options Size, backend and limits.
 * @returns The pool; `close()` it when done.
 * @throws {RocksError} When a worker cannot start (e.g. the weights fail their checks).
 */
export async function createPool(options: PoolOptions = {}): Promise<Pool> {
  const n = options.workers ?? navigator.hardwareConcurrency ?? 1;
  if (!Number.isInteger(n) || n < 1) {
    throw new RocksError("usage", `Workers must be a whole number ≥ 1, got ${n}`);
  }
  const queue: Chunk[] = [];
  const slots: Slot[] = [];
  let restarts = 0;
  let closed = false;
  let nextId = 0;
  let ready:
    | { trunk: { id: string; sha256: string; precision: Precision }; backend: BackendInfo }
    | undefined;

  const init = {
    type: "init",
    backend: await resolveBackend(options.backend ?? "auto"),
    precision: options.precision ?? DEFAULT_PRECISION,
    weightsDir: options.weightsDir,
    maxPixels: options.maxPixels,
    batchSize: options.batchSize,
    crashAfter: options.crashAfter,
  };

  const pump = () => {
    for (const slot of slots) {
      if (slot.busy || queue.length === 0) continue;
      const chunk = queue.shift()!;
      slot.busy = chunk;
      slot.worker.postMessage({ type: "embed", id: slot.id, jobs: chunk.jobs });
    }
  };

  const start = (first: boolean): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { type: "module" });
      const slot: Slot = { worker, busy: undefined, id: nextId++ };
      let started = false;
      // A worker that never reports (a module that cannot load, a hung read) must not hang the run.
      const limit = options.startTimeoutMs ?? 300_000;
      const timer = setTimeout(() => {
        worker.terminate();
        reject(
          new RocksError("runtime", `Embedding worker ${slot.id} did not start within ${limit / 1000} s`),
        );
      }, limit);
      Deno.unrefTimer(timer); // nor keep a process alive that has nothing else to do
      worker.onmessage = (event: MessageEvent) => {
        const msg = event.data;
        if (msg.type === "ready") {
          clearTimeout(timer);
          started = true;
          ready ??= { trunk: msg.trunk, backend: msg.backend };
          resolve(slot);
        } else if (msg.type === "fatal") {
          clearTimeout(timer);
          worker.terminate();
          reject(new RocksError("model", msg.message));
        } else if (msg.type === "done" && slot.busy) {
          const chunk = slot.busy;
          slot.busy = undefined;
          chunk.resolve(msg.results);
          pump();
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        clearTimeout(timer);
        worker.terminate();
        const message = `Embedding worker ${slot.id} died: ${event.message}`;
        if (!started) {
          reject(new RocksError("runtime", message));
          return;
        }
        options.onWorkerError?.(message);
        const chunk = slot.busy;
        slots.splice(slots.indexOf(slot), 1);
        if (chunk) {
          chunk.attempts++;
          if (chunk.attempts > 1) {
            chunk.resolve(chunk.jobs.map(() => ({ error: `${message} twice on this photo's chunk` })));
          } else queue.unshift(chunk);
        }
        if (closed) return;
        restarts++;
        start(false).then((s) => {
          if (closed) s.worker.terminate();
          else {
            slots.push(s);
            pump();
          }
        }, (e) => {
          options.onWorkerError?.(`A replacement worker failed to start: ${e.message}`);
          if (slots.length === 0) {
            // Nothing left to run the queue: fail what is waiting rather than hang.
            for (const c of queue.splice(0)) {
              c.resolve(c.jobs.map(() => ({ error: "No embedding worker is left" })));
            }
          }
        });
        pump();
      };
      worker.postMessage(first ? init : { ...init, crashAfter: undefined });
    });

  try {
    slots.push(...(await Promise.all(Array.from({ length: n }, (_, i) => start(i === 0)))));
  } catch (e) {
    for (const s of slots) s.worker.terminate();
    throw e;
  }

  const embed: EmbedFn = async (jobs, onProgress) => {
    if (closed) throw new RocksError("runtime", "The embedding pool is closed");
    // Small chunks balance the load. A chunk holds at least a trunk call's worth, and up to 4 photos,
    // so a photo's several views (kept in one chunk unless there are many) are decoded once.
    const most = Math.max(options.batchSize ?? 1, 4);
    const size = Math.max(1, Math.min(most, Math.ceil(jobs.length / (slots.length * 2))));
    let done = 0;
    const parts: Promise<EmbedResult[]>[] = [];
    for (const part of cutJobs(jobs, size)) {
      parts.push(
        new Promise<EmbedResult[]>((resolve) => queue.push({ jobs: part, attempts: 0, resolve })).then(
          (r) => {
            done += part.length;
            onProgress?.(done, jobs.length);
            return r;
          },
        ),
      );
    }
    pump();
    return (await Promise.all(parts)).flat();
  };

  return {
    embed,
    get size() {
      return slots.length;
    },
    trunk: ready!.trunk,
    backend: ready!.backend,
    get restarts() {
      return restarts;
    },
    close() {
      closed = true;
      for (const s of slots) s.worker.terminate();
      slots.length = 0;
    },
  };
}
