/**
 * One call from nothing to a trunk ready to embed: start the backend, read
 * and verify the weights, build the network.
 * @module
 */
import { type BackendInfo, type BackendName, initBackend } from "./backend.ts";
import { fastConvEnabled, fastConvUsesFma } from "./conv_kernel.ts";
import {
  choosePrecision,
  DEFAULT_PRECISION,
  int8ActivationRanges,
  type PrecisionChoice,
  type PrecisionRequest,
} from "./precision.ts";
import { buildTrunk, type Trunk } from "./resnet50.ts";
import { releaseArrays } from "./release.ts";
import { loadResnetWeights } from "./weights.ts";

/** Options for {@linkcode loadTrunk}. */
export interface LoadTrunkOptions {
  /** Which backend runs the network. @default "auto" */
  backend?: BackendName;
  /** The weights folder (or its URL). @default `weights/resnet50` beside rocks' own modules */
  weightsDir?: string;
  /** `int8` runs where it can (see `choosePrecision`), else float32; `auto` picks int8 where it runs. @default "auto" */
  precision?: PrecisionRequest;
}

/** A trunk ready to embed photos, with the backend it runs on. */
export interface LoadedTrunk extends Trunk {
  /** The backend chosen, and why. */
  readonly backend: BackendInfo;
  /** The precision that runs, and why. */
  readonly precisionChoice: PrecisionChoice;
}

/**
 * The precision a trunk asked for `precision` would run at on `backend` here.
 * @param precision What is asked.
 * @param backend The backend that runs the trunk.
 * @returns What runs and why.
 */
export function precisionHere(precision: PrecisionRequest, backend: string): PrecisionChoice {
  return choosePrecision(precision, backend, backend === "wasm" && fastConvEnabled() && fastConvUsesFma());
}

/**
 * Starts the backend, verifies the ResNet50 weights (sha256 of every file,
 * tensor count, every shape) and builds the trunk.
 *
 * Requires --allow-read (weights) and --allow-env (tfjs reads a few flags).
 * @param options Backend, weights location, precision.
 * @returns The trunk; `dispose()` it when done.
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
 * import { loadTrunk } from "./mod.ts";
 * const trunk = await loadTrunk({ backend: "wasm" });
 * const embedding = tf.tidy(() => trunk.embed(tf.zeros([1, 224, 224, 3]))); // [1, 224, 224, 3] → [1, 2048]
 * if (embedding.shape[1] !== 2048) throw new Error("a 2048-d embedding");
 * embedding.dispose();
 * trunk.dispose();
 * ```
 */
export async function loadTrunk(options: LoadTrunkOptions = {}): Promise<LoadedTrunk> {
  const backend = await initBackend(options.backend ?? "auto");
  const precisionChoice = precisionHere(options.precision ?? DEFAULT_PRECISION, backend.name);
  const weights = await loadResnetWeights(options.weightsDir);
  const ranges = precisionChoice.precision === "int8" ? int8ActivationRanges() : undefined;
  const trunk = buildTrunk(weights, {
    precision: precisionChoice.precision,
    ...(ranges ? { activationRanges: ranges } : {}),
  });
  // The wasm backend holds its own copies: the weights read here can go now, not at the next collection.
  if (backend.name === "wasm") releaseArrays(...[...weights.tensors.values()].map((t) => t.data));
  if (ranges) releaseArrays(...ranges.values());
  return Object.assign(trunk, { backend, precisionChoice });
}
