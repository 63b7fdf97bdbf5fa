/**
 * rocks: tell lunar basalt from highland rock (or any classes of photos) with
 * a frozen ImageNet ResNet50 and a small trained head, the model of
 * Microsoft Learn's "Classify space rocks" course, in Deno.
 *
 * One call per step, each taking the embedder first:
 *
 * ```ts ignore
 * import { evaluate, loadClassifier, openEmbedder, predict, saveClassifier, trainFolder } from "./mod.ts";
 *
 * const embedder = await openEmbedder({ cache: ".rocks-cache" }); // one worker per core, started at the first uncached photo
 * const { classifier, test } = await trainFolder(embedder, "data/space-rocks", { preset: "rocks" });
 * console.log(test?.accuracy);
 * await saveClassifier("rock-model", classifier);
 *
 * const model = await loadClassifier("rock-model", { trunkSha256: embedder.trunk.sha256 });
 * const scores = await evaluate(embedder, model, "more-rocks"); // a folder of class folders
 * const [first] = await predict(embedder, model, ["photo.jpg"]);
 * embedder.close();
 * ```
 *
 * Deeper pieces are public through the stage entry points (`deno.json`
 * `exports`): `./data` (scanning, groups, splits), `./image` (decoding,
 * views), `./trunk` (backend, weights, ResNet50), `./embed` (pool, cache,
 * its pack files and merge, the shard rule),
 * `./model` (head, classifier, model files), `./score`, `./train` (options,
 * feed, gradients, Adam, the loop), `./report` and `./serve` (the HTTP
 * handler, its body limits, queue and page). ARCHITECTURE.md shows how they
 * stack.
 *
 * Requires --allow-read (photos, weights), --allow-write (model folders,
 * the cache, reports) and --allow-env.
 * @module
 */
// Embed: photos → 2048-d embeddings.
export { type Embedder, openEmbedder, type OpenEmbedderOptions } from "./lib/embed/embedder.ts";
// The trunk's arithmetic: float32 (the default) or int8 (`precision: "int8"` in `openEmbedder`).
export {
  DEFAULT_PRECISION,
  type Precision,
  PRECISION_REQUESTS,
  type PrecisionChoice,
  type PrecisionRequest,
  PRECISIONS,
} from "./lib/trunk/precision.ts";
// Data: what photos there are.
export type { Dataset } from "./lib/data/sample.ts";
export { scanDataset } from "./lib/data/scan.ts";
// Train: recipes, training, cross-validation, and embedding beforehand what a recipe will ask for.
export { DEFAULT_PRESET, presetOptions, PRESETS } from "./lib/train/presets.ts";
export type { TrainOptions } from "./lib/train/options.ts";
export {
  type TrainEvents,
  trainFolder,
  type TrainFolderOptions,
  type TrainResult,
} from "./lib/train/train.ts";
export {
  crossValidate,
  type CrossValidateOptions,
  type CrossValidation,
} from "./lib/train/cross_validate.ts";
export { embedFolder, type EmbedFolderOptions, type EmbedFolderResult } from "./lib/train/plan.ts";
// Score: a classifier applied to photos.
export { evaluate, type Evaluation } from "./lib/score/evaluate.ts";
export { predict, type Prediction } from "./lib/score/predict.ts";
// Model: a classifier, its folder, and the whole network as one ONNX file.
export type { Classifier, ClassifierMeta } from "./lib/model/classifier.ts";
export {
  loadClassifier,
  type LoadExpectations,
  precisionForModel,
  readModelPrecision,
  saveClassifier,
} from "./lib/model/model_file.ts";
export { exportOnnx, type OnnxExportOptions, type OnnxFile, writeOnnx } from "./lib/model/onnx.ts";
// Report: a scored run as one HTML page.
export { renderReport, type ReportInput, type ReportOptions, writeReport } from "./lib/report/report.ts";
// Serve: a classifier behind HTTP (the JSON API and the page of `rocks serve`).
export { createHandler, type CreateHandlerOptions, type ServeHandler } from "./lib/serve/handler.ts";
// About this build, and the one error class.
export { gatherInfo, type RocksInfo } from "./lib/info/info.ts";
export { RocksError, type RocksErrorKind } from "./lib/util/errors.ts";
export { VERSION } from "./lib/util/version.ts";
