/**
 * The model stage: what a trained classifier is (the head's shape, weights
 * and forward pass, the facts saved with it, its scores) and its folder on
 * disk (the head in the TF.js layers format plus `rocks.json`, written
 * atomically, checked on load, never running code).
 *
 * ```ts
 * import { FORMAT_VERSION, headConfig } from "./mod.ts";
 * if (FORMAT_VERSION !== 1 || headConfig(2).hiddenSize !== 512) throw new Error("the course's head");
 * ```
 * @module
 */
export {
  disposeHead,
  type HeadConfig,
  headConfig,
  headLogProbs,
  type HeadParams,
  initHead,
  PARAM_NAMES,
} from "./head.ts";
export {
  type Classifier,
  type ClassifierMeta,
  evalView,
  FORMAT_VERSION,
  headParamsOf,
  l2normalizeRows,
  makeClassifier,
  preprocessingFacts,
  type ProgressLine,
  type TrainingFacts,
} from "./classifier.ts";
export { type ClassScore, computeMetrics, type Metrics } from "./metrics.ts";
export {
  loadClassifier,
  type LoadExpectations,
  precisionForModel,
  readModelId,
  readModelPrecision,
  saveClassifier,
} from "./model_file.ts";
export {
  exportOnnx,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxExportOptions,
  type OnnxFile,
  type OnnxSignature,
  onnxSignature,
  type OnnxValue,
  viewDescription,
  writeOnnx,
} from "./onnx.ts";
