/**
 * The trunk stage: the frozen ImageNet ResNet50 and where it runs. The
 * backend (`auto`, `webgpu`, `wasm`, `cpu`) is chosen and started here; the
 * weights are read and verified against a pinned sha256 manifest; the
 * network is built with every batch-norm folded into its convolution, and on
 * WASM its convolutions run in this project's own FMA + Winograd kernel.
 *
 * ```ts
 * import { loadTrunk } from "./mod.ts";
 * const trunk = await loadTrunk({ backend: "wasm" });
 * console.log(trunk.id, trunk.backend.reason);
 * trunk.dispose();
 * ```
 * @module
 */
export {
  type BackendInfo,
  type BackendName,
  BACKENDS,
  type GpuAdapterFacts,
  initBackend,
  parseBackendName,
  probeGpu,
} from "./backend.ts";
export { CAFFE_MEAN_BGR, EMBEDDING_SIZE, PREPROCESSING } from "./facts.ts";
export {
  defaultWeightsLocation,
  type DownloadOptions,
  loadResnetWeights,
  localWeightsFolder,
  manifestSha256,
  type PinnedFile,
  type ResnetWeights,
  sameNetwork,
  WEIGHTS_MANIFEST,
  type WeightsManifest,
  type WeightTensor,
} from "./weights.ts";
export { decodeFloat16, toFloat16Bits } from "./float16.ts";
export { toInputTensor } from "./preprocess.ts";
export { buildTrunk, type BuildTrunkOptions, type Trunk } from "./resnet50.ts";
export {
  type ActivationRanges,
  choosePrecision,
  DEFAULT_PRECISION,
  embeddingKey,
  INT8_CALIBRATED_FOR,
  int8ActivationRanges,
  parsePrecision,
  type Precision,
  PRECISION_REQUESTS,
  type PrecisionChoice,
  type PrecisionRequest,
  PRECISIONS,
} from "./precision.ts";
export { describeConvKernel, fastConvEnabled } from "./conv_kernel.ts";
export { type LoadedTrunk, loadTrunk, type LoadTrunkOptions, precisionHere } from "./load.ts";
