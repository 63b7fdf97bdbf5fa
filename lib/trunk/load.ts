/**
 * One call from nothing to a trunk ready to embed: start the backend, read
 * and verify the weights, build the network.
 * @module
 */
import { type BackendInfo, type BackendName, initBackend } from "./backend.ts";
import { buildTrunk, type Trunk } from "./resnet50.ts";
import { releaseArrays } from "./release.ts";
import { loadResnetWeights } from "./weights.ts";

/** Options for {@linkcode loadTrunk}. */
export interface LoadTrunkOptions {
  /** Which backend runs the network. @default "auto" */
  backend?: BackendName;
  /** The weights folder (or its URL). @default `weights/resnet50` beside rocks' own modules */
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
  const weights = await loadResnetWeights(options.weightsDir);
  const trunk = buildTrunk(weights);
  // The wasm backend holds its own copies: the weights read here can go now, not at the next collection.
  if (backend.name === "wasm") releaseArrays(...[...weights.tensors.values()].map((t) => t.data));
  return Object.assign(trunk, { backend });
}
