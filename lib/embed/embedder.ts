/**
 * What turns photos into embeddings for training, evaluation and
 * prediction: an {@linkcode Embedder}. {@linkcode openEmbedder} makes the
 * usual one (a pool of workers, one trunk each, behind the embedding cache);
 * {@linkcode trunkEmbedder} runs a trunk in this thread; the wrappers keep an
 * embedder's live fields while replacing its `embed`.
 * @module
 */
import type { BackendInfo, BackendName } from "../trunk/backend.ts";
import { initBackend } from "../trunk/backend.ts";
import { type LoadedTrunk, loadTrunk, precisionHere } from "../trunk/load.ts";
import {
  DEFAULT_PRECISION,
  embeddingKey,
  type Precision,
  type PrecisionChoice,
  type PrecisionRequest,
} from "../trunk/precision.ts";
import {
  defaultWeightsLocation,
  localWeightsFolder,
  manifestSha256,
  WEIGHTS_MANIFEST,
} from "../trunk/weights.ts";
import { RocksError } from "../util/errors.ts";
import { cachedEmbedder, type EmbedCache, openEmbedCache } from "./cache.ts";
import { DEFAULT_BATCH, embedFiles, type EmbedOptions } from "./embed_files.ts";
import type { EmbedFn } from "./job.ts";
import { createPool, type Pool } from "./pool.ts";

/**
 * What turns photos into embeddings for training, evaluation and prediction:
 * a trunk in this thread, or a pool of workers, optionally behind a cache.
 */
export interface Embedder {
  /** Embeds photo views, in order. */
  embed: EmbedFn;
  /**
   * The trunk behind it: its weights, the precision it runs at (absent: `fp32`), and `key`, what tells
   * its embeddings from those of another network or precision (the cache's key, `embeddingKey()` in
   * `trunk/precision.ts`; absent: `sha256`).
   */
  readonly trunk: { id: string; sha256: string; precision?: Precision; key?: string };
  /** The precision that runs, and why (int8 asked where it cannot run gives float32, said here). */
  readonly precision?: PrecisionChoice;
  /** The backend it runs on. */
  readonly backend: BackendInfo;
  /** Worker threads (0: this thread). */
  readonly workers: number;
  /** The cache in front of it, if any. */
  readonly cache: EmbedCache | undefined;
  /** Whether a trunk is loaded: a pool's workers start at the first embedding the cache does not hold. */
  readonly started: boolean;
  /** Stops workers (and disposes a trunk the embedder loaded itself). */
  close(): void;
}

/**
 * An {@linkcode Embedder} that runs `trunk` in this thread. Closing it leaves
 * the trunk to its owner.
 * @param trunk From `loadTrunk()` (`rocks/trunk`).
 * @param options Batch size and pixel limit.
 */
export function trunkEmbedder(trunk: LoadedTrunk, options: Omit<EmbedOptions, "onProgress"> = {}): Embedder {
  return {
    embed: (jobs, onProgress) =>
      embedFiles(trunk, jobs, { ...options, ...(onProgress ? { onProgress } : {}) }),
    trunk: {
      id: trunk.id,
      sha256: trunk.sha256,
      precision: trunk.precision,
      key: embeddingKey(trunk.sha256, trunk.precision),
    },
    precision: trunk.precisionChoice,
    backend: trunk.backend,
    workers: 0,
    cache: undefined,
    started: true,
    close() {},
  };
}

/**
 * A copy of `embedder` with `overrides` on top. Unlike a spread, it keeps
 * getters (`started`) live; unlike a prototype, every field is the copy's own,
 * so it can be spread or wrapped again.
 * @param embedder What to copy.
 * @param overrides Fields to replace or add (e.g. `embed`).
 * @returns The copy.
 */
export function wrapEmbedder<T extends object>(embedder: T, overrides: Partial<T>): T {
  return Object.defineProperties({}, {
    ...Object.getOwnPropertyDescriptors(embedder),
    ...Object.getOwnPropertyDescriptors(overrides),
  }) as T;
}

/** Options for {@linkcode openEmbedder}. */
export interface OpenEmbedderOptions {
  /** Which backend runs the network. @default "auto" */
  backend?: BackendName;
  /** The weights folder (or its URL). @default `weights/resnet50` beside rocks' own modules */
  weightsDir?: string;
  /**
   * Worker threads, each with its own trunk; 0 runs the trunk in this thread.
   * WebGPU always runs in this thread (one device, one trunk).
   * @default navigator.hardwareConcurrency
   */
  workers?: number;
  /**
   * The trunk's arithmetic: `auto` runs int8 where it can (the wasm backend with relaxed SIMD), else
   * float32; `int8` the same, with a warning where it cannot; `fp32` float32. @default "auto"
   */
  precision?: PrecisionRequest;
  /** Cache folder, or `false` for none. @default false */
  cache?: string | false;
  /** Photos larger than this many pixels are refused. */
  maxPixels?: number;
  /** 224 px views per trunk call (a 448 px view counts as four). @default 16 on WebGPU, 1 on the CPU */
  batchSize?: number;
  /** Called with warnings: a cache that cannot be written, a worker that died. */
  onWarning?: (message: string) => void;
}

/**
 * Starts what embeds photos: a pool of workers (or a trunk in this thread)
 * and, when asked, the embedding cache in front of it. A cache folder that
 * cannot be written is reported through `onWarning` and left out. The pool's
 * workers start (and verify the weights) at the first embedding the cache
 * does not hold: a run whose embeddings are all cached loads no trunk.
 *
 * Requires --allow-read, --allow-env, and --allow-write for a cache.
 * @param options Workers, backend, cache.
 * @returns The embedder; `close()` it when done.
 * @example
 * ```ts
 * import { openEmbedder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1 }); // workers start (and verify the weights) on first use
 * console.log(embedder.backend.name, embedder.trunk.id);
 * embedder.close();
 * ```
 */
export async function openEmbedder(options: OpenEmbedderOptions = {}): Promise<Embedder> {
  // The head trains and predicts in this thread, so it needs a backend too;
  // this also decides what `auto` means here.
  const backend = await initBackend(options.backend ?? "auto");
  // A GPU is not made faster by more copies of the model: one trunk, one
  // device, bigger batches. On the CPU, one worker per core.
  const onGpu = backend.name === "webgpu";
  const workers = onGpu ? 0 : options.workers ?? navigator.hardwareConcurrency ?? 1;
  const limits = {
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    batchSize: options.batchSize ?? (onGpu ? 16 : DEFAULT_BATCH),
  };
  // Decided here, before any worker starts, so the cache's key is known: the workers decide the same.
  const precision = precisionHere(options.precision ?? DEFAULT_PRECISION, backend.name);
  if (!precision.asked) options.onWarning?.(precision.reason);
  let base: Embedder;
  if (workers === 0) {
    const trunk = await loadTrunk({ ...options, precision: precision.precision });
    const inner = trunkEmbedder(trunk, limits);
    base = { ...inner, close: () => trunk.dispose() };
  } else {
    // The pool starts at the first embedding asked of it (with a cache: the first the cache does not
    // hold), so a warm run loads no trunk at all. The workers verify the weights as always; the set's
    // checksum, which keys the cache, is the manifest's (what verified weights report) and known before.
    let pool: Promise<Pool> | undefined;
    // Weights that come from a URL (rocks imported by URL) are downloaded once, here, before the workers
    // start: each worker then reads the same local copy.
    const started = () =>
      pool ??= localWeightsFolder(options.weightsDir ?? defaultWeightsLocation()).then((weightsDir) =>
        createPool({
          workers,
          backend: backend.name,
          precision: precision.precision,
          weightsDir,
          ...limits,
          ...(options.onWarning ? { onWorkerError: options.onWarning } : {}),
        })
      );
    base = {
      embed: async (jobs, onProgress) => (await started()).embed(jobs, onProgress),
      trunk: {
        id: WEIGHTS_MANIFEST.trunkId,
        sha256: await manifestSha256(),
        precision: precision.precision,
        key: embeddingKey(await manifestSha256(), precision.precision),
      },
      precision,
      backend: { ...backend, threads: workers },
      workers,
      cache: undefined,
      get started() {
        return pool !== undefined;
      },
      close: () => void pool?.then((p) => p.close(), () => {}),
    };
  }
  if (options.cache === undefined || options.cache === false) return base;
  try {
    const cache = await openEmbedCache(options.cache);
    return wrapEmbedder(base, {
      cache,
      embed: cachedEmbedder(base.embed, cache, base.trunk.key ?? base.trunk.sha256),
    });
  } catch (e) {
    if (!(e instanceof RocksError)) throw e;
    options.onWarning?.(`${e.message}; going on without a cache`);
    return base;
  }
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
