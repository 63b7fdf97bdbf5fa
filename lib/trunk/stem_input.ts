/**
 * The stem's input, made in one pass on the tfjs-wasm heap: the caffe
 * tensor `[N, H, W, 3]` padded with zeros by 3 on every side (as the 7×7,
 * stride-2 stem pads) and cut into 2×2 blocks, `[N, (H+6)/2, (W+6)/2, 12]`
 * with block channel `(dy·2 + dx)·3 + c`: the layout the stem's 4×4
 * convolution reads (see `spaceToDepthStemFilter` in resnet50.ts). tfjs's
 * pad and transpose made the same values in two passes, about 1.9 ms of a
 * 224 px call and 4 ms of a 448 px one; this takes 0.2 and 0.9.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { WasmBackendLike } from "./conv_kernel.ts";

/** The kernel's name (backend `wasm`). */
export const STEM_INPUT = "RocksStemInput";

/** The stem's padding on each side, in pixels. */
const PAD = 3;

let registered = false;

/** Registers {@linkcode STEM_INPUT} for the `wasm` backend (once). */
export function registerStemInput(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: STEM_INPUT, backendName: "wasm", kernelFunc: stemInputKernel });
  registered = true;
}

/**
 * Pads a caffe tensor for the stem and cuts it into 2×2 blocks (the `wasm`
 * backend active, {@linkcode registerStemInput} called).
 * @param x `[N, H, W, 3]`, H and W even.
 * @returns `[N, (H+6)/2, (W+6)/2, 12]`; block (by, bx) holds padded pixels (2by + dy, 2bx + dx).
 */
export function stemInput(x: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(STEM_INPUT, { x }) as tf.Tensor4D;
}

function stemInputKernel(
  { inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown },
): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x } = inputs as Record<string, tf.TensorInfo>;
  const [n, h, w, c] = x!.shape as [number, number, number, number];
  if (c !== 3 || h % 2 || w % 2) {
    throw new Error(`The stem's blocks take [N, even H, even W, 3], got [${x!.shape}]`);
  }
  const hb = (h + 2 * PAD) / 2, wb = (w + 2 * PAD) / 2;
  const out = be.makeOutput([n, hb, wb, 12], "float32");
  // Views made after makeOutput, which may grow (and so replace) the heap's buffer.
  const buffer = be.wasm.asm.memory.buffer;
  const src = new Float32Array(buffer, be.dataIdMap.get(x!.dataId).memoryOffset >>> 0, n * h * w * 3);
  const dst = new Float32Array(buffer, be.dataIdMap.get(out.dataId).memoryOffset >>> 0, n * hb * wb * 12);
  dst.fill(0);
  let s = 0;
  for (let img = 0; img < n; img++) {
    for (let iy = 0; iy < h; iy++) {
      const py = iy + PAD;
      const rowBase = (img * hb + (py >> 1)) * wb * 12 + (py & 1) * 6;
      for (let ix = 0; ix < w; ix++, s += 3) {
        const px = ix + PAD;
        const d = rowBase + (px >> 1) * 12 + (px & 1) * 3;
        dst[d] = src[s]!;
        dst[d + 1] = src[s + 1]!;
        dst[d + 2] = src[s + 2]!;
      }
    }
  }
  return out;
}
