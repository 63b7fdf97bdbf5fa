/**
 * The first trunk calls of a new process: whether they run slower than the
 * later ones (V8 runs a new WebAssembly function on its baseline compiler,
 * Liftoff, until the optimising tier is ready, and a call already running
 * never switches). Loads the trunk on the `wasm` backend, then times six
 * calls on one 224 px view, each a whole trunk pass read back with `data()`.
 * Run it as several new processes, with and without V8 flags:
 *
 * ```sh
 * deno run -A bench/first_calls.ts
 * deno run -A --v8-flags=--no-liftoff bench/first_calls.ts --no-liftoff
 * deno run -A --v8-flags=--no-wasm-dynamic-tiering bench/first_calls.ts --no-wasm-dynamic-tiering
 * ```
 *
 * Prints one JSON object: the label given as arguments, the load time and
 * each call's milliseconds.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadTrunk } from "../lib/trunk/load.ts";

const t0 = performance.now();
const trunk = await loadTrunk({ backend: "wasm" });
const loadMs = performance.now() - t0;
// One view of fixed pseudo-random pixels, centred as the preprocessing would.
const pixels = new Uint8Array(224 * 224 * 3).map((_, i) => (i * 2654435761) >>> 24);
const x = tf.tensor4d(Float32Array.from(pixels, (v) => v - 110), [1, 224, 224, 3]);
const callsMs: number[] = [];
for (let i = 0; i < 6; i++) {
  const t = performance.now();
  const y = tf.tidy(() => trunk.embed(x));
  await y.data();
  y.dispose();
  callsMs.push(Math.round(performance.now() - t));
}
x.dispose();
trunk.dispose();
console.log(JSON.stringify({
  label: Deno.args.join(" ") || "default flags",
  loadMs: Math.round(loadMs),
  callsMs,
  totalMs: Math.round(performance.now() - t0),
}));
