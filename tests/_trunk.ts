/**
 * The trunk the tests embed with: the WASM ResNet50 in float32 (the
 * reference; tests of the default, int8 where it runs, go through the CLI or
 * name it), loaded once per test
 * file at its first use, so a file's tests that embed nothing (splits,
 * folds, options) never pay for it.
 * @module
 */
import { type Embedder, trunkEmbedder } from "../lib/embed/embedder.ts";
import { type LoadedTrunk, loadTrunk } from "../lib/trunk/load.ts";

let loading: Promise<LoadedTrunk> | undefined;

/** The WASM trunk, shared by the tests of one file (do not dispose it). */
export function testTrunk(): Promise<LoadedTrunk> {
  return loading ??= loadTrunk({ backend: "wasm", precision: "fp32" });
}

/** An embedder running {@linkcode testTrunk} in this thread. */
export async function testEmbedder(): Promise<Embedder> {
  return trunkEmbedder(await testTrunk());
}
