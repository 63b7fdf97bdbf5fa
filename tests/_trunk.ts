/**
 * The trunk the tests embed with: the WASM ResNet50, loaded once per test
 * file at its first use, so a file's tests that embed nothing (splits,
 * folds, options) never pay for it.
 * @module
 */
import { type Embedder, trunkEmbedder } from "../lib/embed/embedder.ts";
import { type LoadedTrunk, loadTrunk } from "../lib/trunk/load.ts";

let loading: Promise<LoadedTrunk> | undefined;

/** The WASM trunk, shared by the tests of one file (do not dispose it). */
export function testTrunk(): Promise<LoadedTrunk> {
  return loading ??= loadTrunk({ backend: "wasm" });
}

/** An embedder running {@linkcode testTrunk} in this thread. */
export async function testEmbedder(): Promise<Embedder> {
  return trunkEmbedder(await testTrunk());
}
