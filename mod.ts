/**
 * rocks: tell lunar basalt from highland rock (or any classes of photos) with
 * a frozen ImageNet ResNet50 and a small trained head, the model of
 * Microsoft Learn's "Classify space rocks" course, in Deno.
 *
 * ```ts ignore
 * import { openEmbedder, predict, saveClassifier, trainFolder } from "./mod.ts";
 *
 * const embedder = await openEmbedder({ cache: ".rocks-cache" }); // one worker per core, started at the first uncached photo
 * const { classifier, test } = await trainFolder(embedder, "data/space-rocks");
 * console.log(test?.accuracy);
 * await saveClassifier("rock-model", classifier);
 * const [first] = await predict(embedder, classifier, ["photo.jpg"]);
 * embedder.close();
 * ```
 *
 * Requires --allow-read (photos, weights), --allow-write (model folders) and
 * --allow-env.
 * @module
 */
export {
  type Embedder,
  type LoadTrunkOptions,
  openEmbedder,
  type OpenEmbedderOptions,
} from "./lib/toolkit.ts";
export {
  evaluate,
  predict,
  trainFolder,
  type TrainFolderOptions,
  type TrainFolderResult,
} from "./lib/toolkit.ts";
export { loadClassifier, type LoadExpectations, saveClassifier } from "./lib/model_file.ts";
export { type Classifier, type ClassifierMeta, FORMAT_VERSION, type ProgressLine } from "./lib/classifier.ts";
export { type TrainingFacts } from "./lib/classifier.ts";
export { type EmbedFn, type TrainEvents, type TrainOptions, type TrainResult } from "./lib/train.ts";
export {
  type ResolvedTrainOptions,
  resolveTrainOptions,
  trainClassifier,
  type UnsetTrainOptions,
} from "./lib/train.ts";
export { type Dataset, type Sample, scanDataset, type ScanOptions, type Skipped } from "./lib/dataset.ts";
export { SERIES_GAP, seriesGroups, type Split, type SplitMode, splitSamples } from "./lib/dataset.ts";
export { type Duplicate, duplicateWarning, findDuplicates } from "./lib/duplicates.ts";
export { maxPhotoBytes, readPhotoFile, type ReadPhotoOptions } from "./lib/read_photo.ts";
export { evaluateFolder, type Evaluation, type Scored } from "./lib/evaluate.ts";
export { expandInputs, predictFiles, type Prediction } from "./lib/predict.ts";
export { type ClassScore, computeMetrics, type Metrics } from "./lib/metrics.ts";
export { type EmbedJob, type EmbedResult, loadView, type ViewName } from "./lib/embed.ts";
export {
  cachedEmbedder,
  type CacheStats,
  defaultCacheDir,
  type EmbedCache,
  openEmbedCache,
} from "./lib/embed_cache.ts";
export { decodeImage, type DecodeOptions, DEFAULT_MAX_PIXELS, type RgbImage } from "./lib/decode.ts";
export {
  type BackendInfo,
  type BackendName,
  BACKENDS,
  initBackend,
  parseBackendName,
} from "./lib/backend.ts";
export { type GpuAdapterFacts, probeGpu } from "./lib/backend.ts";
export { type BackendAvailability, gatherInfo, type RocksInfo } from "./lib/info.ts";
export { type HeadConfig } from "./lib/head.ts";
export { DEFAULT_PRESET, presetOptions, PRESETS } from "./lib/presets.ts";
export {
  crossValidate,
  type CrossValidateOptions,
  type CrossValidation,
  type FoldResult,
  groupedFolds,
} from "./lib/cross_validate.ts";
export { CAFFE_MEAN_BGR, PREPROCESSING } from "./lib/preprocess.ts";
export { EMBEDDING_SIZE } from "./lib/resnet50.ts";
export { RocksError, type RocksErrorKind, throwIfAborted } from "./lib/errors.ts";
export { VERSION, versions } from "./lib/version.ts";
export { defaultWeightsLocation, WEIGHTS_MANIFEST } from "./lib/weights.ts";
