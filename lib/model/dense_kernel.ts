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
 * keeps its 8 sums in registers over the whole of K.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { WasmBackendLike } from "../trunk/conv_kernel.ts";
import { fastConvUsesFma } from "../trunk/conv_kernel.ts";
import { assemble, Body, I32, indices, OP, SIMD, V128 } from "../util/wasm_builder.ts";

/** The kernel's name. */
const DENSE_KERNEL = "RocksDense";

/** Parameters of the module's `dense` function: byte offsets, and x's rows. */
const DENSE_PARAMS = ["x", "w", "b", "out", "rows"] as const;

/** Rows of x per block (then one at a time for the rest). */
const ROWS = 4;
/** Columns of W per block: two vectors of 4. */
const COLS = 8;

/**
 * `out[n, j] = b[j] + Σ_k x[n, k]·W[k, j]` for x `[rows, k]`, W `[k, j]`, all
 * float32 and row-major; j a multiple of {@linkcode COLS}.
 */
function denseBody(k: number, j: number, fma: boolean): Body {
  const P = indices(DENSE_PARAMS);
  const f = new Body(DENSE_PARAMS.length);
  const left = f.local(I32), xRow = f.local(I32), outRow = f.local(I32);
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
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < 2; h++) {
          f.get(P.b).get(col).op(OP.i32Add).mem(SIMD.load, h * 16).set(acc[2 * r + h]!);
        }
      }
      f.get(P.w).get(col).op(OP.i32Add).set(wp);
      f.get(xRow).tee(xp).i32(k * 4).op(OP.i32Add).set(xEnd);
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
    f.get(left).i32(rows).op(OP.i32Sub).set(left);
  };
  f.get(P.rows).set(left);
  f.get(P.x).set(xRow);
  f.get(P.out).set(outRow);
  // while (left >= ROWS) block(ROWS); while (left > 0) block(1)
  f.when(() => f.get(left).i32(ROWS - 1).op(OP.i32GtU), () => {
    f.doWhile(() => block(ROWS), () => f.get(left).i32(ROWS - 1).op(OP.i32GtU));
  });
  f.when(() => f.get(left), () => {
    f.doWhile(() => block(1), () => f.get(left));
  });
  return f;
}

type DenseFn = (x: number, w: number, b: number, out: number, rows: number) => void;

const modules = new WeakMap<WebAssembly.Memory, Map<string, DenseFn>>();

/** The `dense` function for `[*, k]·[k, j]`, instantiated on `memory` once per shape. */
function denseOn(memory: WebAssembly.Memory, k: number, j: number): DenseFn {
  let shapes = modules.get(memory);
  if (!shapes) modules.set(memory, shapes = new Map());
  const key = `${k}x${j}`;
  let fn = shapes.get(key);
  if (!fn) {
    const body = denseBody(k, j, fastConvUsesFma());
    const bytes = assemble([{ name: "dense", params: DENSE_PARAMS.length, body }]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
      env: { memory },
    });
    fn = instance.exports.dense as DenseFn;
    shapes.set(key, fn);
  }
  return fn;
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
  if (rows > 0) denseOn(be.wasm.asm.memory, k, j)(offset(x!), offset(w!), offset(b!), offset(out), rows);
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
