/**
 * The network's input: Keras "caffe" preprocessing of 8-bit RGB views.
 *
 * Keras `resnet50.preprocess_input` (mode "caffe") flips RGB to BGR and
 * subtracts the ImageNet channel means in BGR order, with no scaling:
 *   x_bgr = [B, G, R] − [103.939, 116.779, 123.68]   (the constants are in `facts.ts`)
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { CAFFE_MEAN_BGR } from "./facts.ts";

/**
 * Packs square RGB views into one `[N, size, size, 3]` caffe-normalised tensor.
 * The caller owns (and disposes) the result.
 * @param views Each `size × size × 3` bytes, RGB.
 * @param size Side of each view.
 */
export function toInputTensor(views: Uint8Array[], size: number): tf.Tensor4D {
  const per = size * size * 3;
  const out = new Float32Array(views.length * per);
  const [mb, mg, mr] = CAFFE_MEAN_BGR;
  views.forEach((v, n) => {
    if (v.length !== per) {
      throw new Error(`View ${n} has ${v.length} bytes, expected ${per}`);
    }
    const base = n * per;
    for (let p = 0; p < per; p += 3) {
      out[base + p] = v[p + 2]! - mb; // B
      out[base + p + 1] = v[p + 1]! - mg; // G
      out[base + p + 2] = v[p]! - mr; // R
    }
  });
  return tf.tensor4d(out, [views.length, size, size, 3]);
}
