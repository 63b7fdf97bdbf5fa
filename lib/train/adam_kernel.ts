/**
 * Adam's update of one parameter as one pass of WebAssembly SIMD over
 * tfjs-wasm's heap, registered with tfjs as `RocksAdamUpdate` (backend
 * `wasm`): reads θ, g, m, v and writes the new θ, m, v, four values at a
 * time, with the very float32 operations, in the same order, that tfjs's chain
 * of ops runs (so the results are bit for bit the same), but one pass instead
 * of eleven, and no temporaries. On the 1M-value W1 that is about 2 ms
 * instead of about 20, most of a head step's time.
 *
 * One difference, on purpose: numbers too small for float32's normal range
 * are flushed to zero, as GPUs do. Once the head fits its training photos,
 * some gradients fall to 1e-20 and below, their squares are subnormal, and
 * x86 computes with subnormals about 20 times slower: the pass took 55 ms
 * instead of 2.7 (bench/README.md). So a gradient below 2⁻⁵⁷ (about 7e-18,
 * the smallest whose (1−β2)·g² stays normal) counts as 0, and m' and v'
 * below 2⁻¹²⁶ are stored as 0. Such values move θ by less than 1e-12 of a
 * step, so θ is the same; only those tiny m and v differ from the ops'.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { WasmBackendLike } from "../trunk/conv_kernel.ts";
import { Body, functionOn, I32, indices, OP, SIMD, V128 } from "../util/wasm_builder.ts";

/** The kernel's name. */
const ADAM_KERNEL = "RocksAdamUpdate";

/** Parameters of the module's `adam` function (byte offsets and a count). */
const ADAM_PARAMS = [
  "p",
  "g",
  "m",
  "v",
  "nextP",
  "nextM",
  "nextV",
  "count", // values, a multiple of 4
  "constants", // 7 float32: β1, 1−β1, β2, 1−β2, √(1−β2ᵗ), ε, lr/(1−β1ᵗ)
] as const;

/** The update's constants for one step. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** √(1 − β2ᵗ). */
  sqrtBc2: number;
}

/** `f32x4.splat(value)` as a constant's 16 bytes. */
function splat(value: number): number[] {
  return [...new Uint8Array(new Float32Array([value, value, value, value]).buffer)];
}

/** The smallest gradient kept (2⁻⁵⁷): (1−β2)·g² stays a normal float32. */
const SMALLEST_GRADIENT = 2 ** -57;
/** The smallest normal float32 (2⁻¹²⁶): m' and v' below it are stored as 0. */
const SMALLEST_NORMAL = 2 ** -126;

/**
 * m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2); θ' = θ − (m' / (√v' / √(1−β2ᵗ) + ε))·step,
 * each product and sum rounded to float32 as tfjs's ops round them; g below
 * 2⁻⁵⁷ and m', v' below 2⁻¹²⁶ (in size) flushed to 0.
 */
function adamBody(): Body {
  const P = indices(ADAM_PARAMS);
  const f = new Body(ADAM_PARAMS.length);
  const i = f.local(I32), end = f.local(I32);
  const [b1, c1, b2, c2, bc2, eps, step] = Array.from({ length: 7 }, () => f.local(V128));
  const g = f.local(V128), m = f.local(V128), v = f.local(V128);
  const tinyG = f.local(V128), tiny = f.local(V128);
  [b1, c1, b2, c2, bc2, eps, step].forEach((k, j) => f.get(P.constants).mem(SIMD.load32Splat, j * 4).set(k!));
  f.simd(SIMD.const, ...splat(SMALLEST_GRADIENT)).set(tinyG);
  f.simd(SIMD.const, ...splat(SMALLEST_NORMAL)).set(tiny);
  /** x = |x| ≥ limit ? x : 0 */
  const flush = (x: number, limit: number) =>
    f.get(x).simd(SIMD.f32x4Abs).get(limit).simd(SIMD.f32x4Ge).get(x).simd(SIMD.v128And).set(x);
  const { f32x4Mul: MUL, f32x4Add: ADD, f32x4Sub: SUB, f32x4Div: DIV, f32x4Sqrt: SQRT } = SIMD;
  const at = (base: number) => f.get(base).get(i).op(OP.i32Add);
  f.get(P.count).i32(2).op(OP.i32Shl).set(end);
  f.when(() => f.get(end), () => {
    f.i32(0).set(i);
    f.doWhile(() => {
      at(P.g).mem(SIMD.load, 0).set(g);
      flush(g, tinyG);
      // m' = m·β1 + g·(1−β1)
      at(P.m).mem(SIMD.load, 0).get(b1!).simd(MUL).get(g).get(c1!).simd(MUL).simd(ADD).set(m);
      // v' = v·β2 + (g·g)·(1−β2)
      at(P.v).mem(SIMD.load, 0).get(b2!).simd(MUL).get(g).get(g).simd(MUL).get(c2!).simd(MUL).simd(ADD).set(
        v,
      );
      flush(m, tiny);
      flush(v, tiny);
      at(P.nextM).get(m).mem(SIMD.store, 0);
      at(P.nextV).get(v).mem(SIMD.store, 0);
      // θ' = θ − (m' / (√v' / √(1−β2ᵗ) + ε)) · step
      at(P.nextP);
      at(P.p).mem(SIMD.load, 0);
      f.get(m).get(v).simd(SQRT).get(bc2!).simd(DIV).get(eps!).simd(ADD).simd(DIV).get(step!).simd(MUL);
      f.simd(SUB).mem(SIMD.store, 0);
    }, () => f.get(i).i32(16).op(OP.i32Add).tee(i).get(end).op(OP.i32LtU));
  });
  return f;
}

/** The `adam` function instantiated on `memory` (once per tfjs-wasm heap). */
function adamOn(memory: WebAssembly.Memory): (...args: number[]) => void {
  return functionOn(memory, "", "adam", ADAM_PARAMS.length, adamBody);
}

function adamKernel(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo[] {
  const be = backend as WasmBackendLike;
  const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
  const k = attrs as unknown as AdamConstants;
  const outs = [0, 1, 2].map(() => be.makeOutput(p!.shape, "float32"));
  const count = p!.shape.reduce((a, b) => a * b, 1);
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset >>> 0;
  const constants = be.wasm._malloc(7 * 4) >>> 0;
  try {
    new Float32Array(be.wasm.asm.memory.buffer, constants, 7).set([
      k.beta1,
      1 - k.beta1,
      k.beta2,
      1 - k.beta2,
      k.sqrtBc2,
      k.eps,
      k.stepSize,
    ]);
    adamOn(be.wasm.asm.memory)(...[p!, g!, m!, v!, ...outs].map(offset), count, constants);
  } finally {
    be.wasm._free(constants);
  }
  return outs;
}

let registered = false;

/**
 * The fused update of a parameter of `size` values, where it applies (the
 * `wasm` backend active, `size` a multiple of 4); undefined elsewhere, where
 * the chain of ops runs.
 * @param size The parameter's number of values.
 * @returns A function from (θ, g, m, v) to [θ', m', v'], or undefined.
 */
export function fusedAdamUpdate(
  size: number,
): ((p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, k: AdamConstants) => tf.Tensor[]) | undefined {
  if (tf.getBackend() !== "wasm" || size % 4 !== 0) return undefined;
  if (!registered) {
    tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: "wasm", kernelFunc: adamKernel });
    registered = true;
  }
  return (p, g, m, v, k) =>
    tf.engine().runKernel(ADAM_KERNEL, { p, g, m, v }, k as unknown as tf.NamedAttrMap) as tf.Tensor[];
}
