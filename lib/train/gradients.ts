/**
 * The head's loss and its backward pass, written out by hand:
 *
 *   loss = NLL = −mean_i log p[i, y_i]          (PyTorch's `nn.NLLLoss()`)
 *   dL/dz = (softmax(z) − onehot(y)) / N         (NLL on LogSoftmax)
 *
 * then back through the second linear layer, dropout and ReLU to W1 and b1.
 * x·W1 + b1 is `dense` (model/dense_kernel.ts: on wasm it reads W1 where it
 * is, where tfjs's matMul would repack the new W1 of every step), and so is
 * W1's gradient xᵀ·dpre ([2048, N]·[N, 512] with N the batch: tfjs-wasm's
 * matMul ran that shape at about 3.5 G multiply-adds a second). The other
 * products are plain `matMul(a, b)` of already-transposed operands:
 * tfjs-wasm's matMul with `transposeA/B` set is much slower (bench/: 6–8×
 * for `xᵀ·dpre`).
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { HeadParams } from "../model/head.ts";
import { dense } from "../model/dense_kernel.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Mean negative log-likelihood of `labels` under `logProbs` (PyTorch's
 * `nn.NLLLoss()` with mean reduction). Caller owns the scalar.
 */
export function nllLoss(logProbs: tf.Tensor2D, labels: number[]): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), logProbs.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, onehot), 1)));
  });
}

/** A dropout mask: 0 or 1/(1−p) per element, drawn from the seeded generator. */
export function dropoutMask(rows: number, cols: number, p: number, rng: Rng): tf.Tensor2D {
  const keep = 1 / (1 - p);
  const m = new Float32Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < p ? 0 : keep;
  return tf.tensor2d(m, [rows, cols]);
}

/**
 * Loss and gradients for one batch in training mode. Caller owns the results.
 * @param p The head.
 * @param x `[N, 2048]` embeddings.
 * @param labels N class indices.
 * @param mask `[N, 512]` dropout mask from {@linkcode dropoutMask} (all ones for none).
 */
export function headGradients(
  p: HeadParams,
  x: tf.Tensor2D,
  labels: number[],
  mask: tf.Tensor2D,
): { loss: tf.Scalar; grads: HeadParams } {
  return tf.tidy(() => {
    const n = x.shape[0];
    // Forward, keeping what the backward pass needs.
    const pre = dense(x, p.w1, p.b1); // [N, 512]
    const h = tf.relu(pre);
    const d = tf.mul(h, mask); // dropout
    const z = tf.add(tf.matMul(d, p.w2), p.b2); // [N, C]
    const logp = tf.logSoftmax(z);
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), p.w2.shape[1]);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
    // Backward: dL/dz of mean NLL on log-softmax is (softmax(z) − onehot) / N.
    const dz = tf.div(tf.sub(tf.exp(logp), onehot), n); // [N, C]
    const w2 = tf.matMul(tf.transpose(d), dz) as tf.Tensor2D; // [512, C]
    const b2 = tf.sum(dz, 0) as tf.Tensor1D;
    const dd = tf.matMul(dz, tf.transpose(p.w2)); // [N, 512]
    const dpre = tf.mul(tf.mul(dd, mask), tf.step(pre)); // through dropout and ReLU
    const w1 = dense(tf.transpose(x), dpre as tf.Tensor2D, tf.zeros([dpre.shape[1]!])); // [2048, 512]
    const b1 = tf.sum(dpre, 0) as tf.Tensor1D;
    return { loss, grads: { w1, b1, w2, b2 } };
  });
}
