/**
 * The head's first product, `x·W1 + b1`, as one WebAssembly SIMD loop over
 * tfjs-wasm's heap, registered with tfjs as `RocksDense` (backend `wasm`).
 *
 * tfjs-wasm hands `matMul` to XNNPACK, which first repacks its second operand
 * into its own panels and keeps that copy for as long as the tensor lives.
 * That pays when the weights are fixed; while training, W1 is a new tensor
 * after every Adam step, so every step and every test-loss check paid about
 * 9 ms of repacking for a product that takes about 2. This kernel reads W1
 * where it is, row after row: each block of 4 rows of x by 8 columns of W
 * keeps its 8 sums in registers over a slice of K whose rows of W stay in cache
 * while every row of x reads them (W read from memory once, not once per 4 rows).
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { WasmBackendLike } from "../trunk/conv_kernel.ts";
import { fastConvUsesFma } from "../trunk/conv_kernel.ts";
import { Body, functionOn, I32, indices, OP, SIMD, V128 } from "../util/wasm_builder.ts";

/** The kernel's name. */
const DENSE_KERNEL = "RocksDense";

/**
 * Parameters of the module's `dense` function: byte offsets, x's rows, how
 * many of the K terms this call adds (x and w already advanced to the first),
 * and where the sums start: `init`, advanced by `initStride` bytes a row (the
 * bias and 0 for the first call, `out` and a row's bytes for the others).
 */
const DENSE_PARAMS = ["x", "w", "out", "rows", "terms", "init", "initStride"] as const;

/** Rows of x per block (then one at a time for the rest). */
const ROWS = 4;
/** Columns of W per block: two vectors of 4. */
const COLS = 8;
/**
 * Bytes of W per call: a slice this size stays in the core's L2 cache (256 KB
 * or more on current x86) while every block of x's rows reads it. 64 rows of
 * the head's W1 (512 columns); 64, 128 and 256 rows measured alike.
 */
const SLICE_BYTES = 128 * 1024;

/**
 * `out[n, j] = init[n, j] + Σ_k x[n, k]·W[k, j]` over `terms` values of k,
 * for x `[rows, k]`, W `[k, j]`, out `[rows, j]`, all float32 and row-major;
 * j a multiple of {@linkcode COLS}. Each sum adds its terms in k's order onto
 * its start, so a product cut into calls of consecutive k, each starting
 * from the last one's `out`, rounds exactly as one call would.
 */
function denseBody(k: number, j: number, fma: boolean): Body {
  const P = indices(DENSE_PARAMS);
  const f = new Body(DENSE_PARAMS.length);
  const left = f.local(I32),
    xRow = f.local(I32),
    outRow = f.local(I32),
    initRow = f.local(I32),
    ip = f.local(I32);
  const col = f.local(I32), wp = f.local(I32), xp = f.local(I32), xEnd = f.local(I32);
  const a = f.local(V128), w0 = f.local(V128), w1 = f.local(V128);
  const acc = Array.from({ length: ROWS * 2 }, () => f.local(V128));
  const madd = (x: number, b: number) => {
    if (fma) f.get(a).get(b).get(x).simd(SIMD.f32x4RelaxedMadd); // a·b + x
    else f.get(x).get(a).get(b).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
    f.set(x);
  };
  const block = (rows: number) => {
    f.i32(0).set(col);
    f.doWhile(() => {
      f.get(initRow).get(col).op(OP.i32Add).set(ip);
      for (let r = 0; r < rows; r++) {
        if (r) f.get(ip).get(P.initStride).op(OP.i32Add).set(ip);
        for (let h = 0; h < 2; h++) f.get(ip).mem(SIMD.load, h * 16).set(acc[2 * r + h]!);
      }
      f.get(P.w).get(col).op(OP.i32Add).set(wp);
      f.get(xRow).tee(xp).get(P.terms).i32(2).op(OP.i32Shl).op(OP.i32Add).set(xEnd);
      f.doWhile(() => {
        f.get(wp).mem(SIMD.load, 0).set(w0);
        f.get(wp).mem(SIMD.load, 16).set(w1);
        for (let r = 0; r < rows; r++) {
          f.get(xp).mem(SIMD.load32Splat, r * k * 4).set(a);
          madd(acc[2 * r]!, w0);
          madd(acc[2 * r + 1]!, w1);
        }
        f.get(wp).i32(j * 4).op(OP.i32Add).set(wp);
      }, () => f.stepLess(xp, 4, xEnd));
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < 2; h++) {
          f.get(outRow).get(col).op(OP.i32Add).get(acc[2 * r + h]!).mem(SIMD.store, r * j * 4 + h * 16);
        }
      }
    }, () => f.get(col).i32(COLS * 4).op(OP.i32Add).tee(col).i32(j * 4).op(OP.i32LtU));
    f.get(xRow).i32(rows * k * 4).op(OP.i32Add).set(xRow);
    f.get(outRow).i32(rows * j * 4).op(OP.i32Add).set(outRow);
    for (let r = 0; r < rows; r++) f.get(initRow).get(P.initStride).op(OP.i32Add).set(initRow);
    f.get(left).i32(rows).op(OP.i32Sub).set(left);
  };
  f.get(P.rows).set(left);
  f.get(P.x).set(xRow);
  f.get(P.out).set(outRow);
  f.get(P.init).set(initRow);
  // while (left >= ROWS) block(ROWS); while (left > 0) block(1)
  f.when(() => f.get(left).i32(ROWS - 1).op(OP.i32GtU), () => {
    f.doWhile(() => block(ROWS), () => f.get(left).i32(ROWS - 1).op(OP.i32GtU));
  });
  f.when(() => f.get(left), () => {
    f.doWhile(() => block(1), () => f.get(left));
  });
  return f;
}

type DenseFn = (
  x: number,
  w: number,
  out: number,
  rows: number,
  terms: number,
  init: number,
  initStride: number,
) => void;

/** The `dense` function for `[*, k]·[k, j]`, instantiated on `memory` once per shape. */
function denseOn(memory: WebAssembly.Memory, k: number, j: number): DenseFn {
  const fma = fastConvUsesFma();
  return functionOn(
    memory,
    `${k}x${j}${fma ? " fma" : ""}`,
    "dense",
    DENSE_PARAMS.length,
    () => denseBody(k, j, fma),
  );
}

function denseKernel(
  { inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown },
): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x, w, b } = inputs as Record<string, tf.TensorInfo>;
  const [rows, k] = x!.shape as [number, number];
  const j = w!.shape[1]!;
  const out = be.makeOutput([rows, j], "float32");
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset >>> 0;
  if (rows === 0) return out;
  const memory = be.wasm.asm.memory;
  // W is read a slice of rows at a time, each by every row of x while it is in cache (one pass over
  // x's rows per slice instead of a pass over all of W per 4 rows); the sums start from the bias.
  const fn = denseOn(memory, k, j);
  const terms = Math.max(1, Math.floor(SLICE_BYTES / (j * 4)));
  if (k === 0) { // no terms: the bias alone
    const sums = new Float32Array(memory.buffer, offset(out), rows * j);
    const bias = new Float32Array(memory.buffer, offset(b!), j);
    for (let n = 0; n < rows; n++) sums.set(bias, n * j);
  }
  for (let first = 0; first < k; first += terms) {
    const [init, initStride] = first === 0 ? [offset(b!), 0] : [offset(out), j * 4];
    fn(
      offset(x!) + first * 4,
      offset(w!) + first * j * 4,
      offset(out),
      rows,
      Math.min(terms, k - first),
      init,
      initStride,
    );
  }
  return out;
}

let registered = false;

/**
 * `x·w + b` for x `[N, K]`, w `[K, J]`, b `[J]`: this module's kernel where it
 * applies (the `wasm` backend active, all float32, J a multiple of 8), else
 * tfjs's `matMul` and `add`. Either way the caller owns the result.
 * @param x The rows.
 * @param w The weights, row-major.
 * @param b The bias.
 * @returns `[N, J]`.
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const [k, j] = w.shape;
  const fits = tf.getBackend() === "wasm" && j % COLS === 0 && x.shape[1] === k && b.shape[0] === j &&
    [x, w, b].every((t) => t.dtype === "float32");
  if (!fits) return tf.tidy(() => tf.add(tf.matMul(x, w), b));
  if (!registered) {
    tf.registerKernel({
      kernelName: DENSE_KERNEL,
      backendName: "wasm",
      kernelFunc: denseKernel as tf.KernelFunc,
    });
    registered = true;
  }
  return tf.engine().runKernel(DENSE_KERNEL, { x, w, b }) as tf.Tensor2D;
}
