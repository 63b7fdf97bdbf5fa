/**
 * The trainable head, its loss and its optimiser, written out by hand so
 * every formula is visible and testable against PyTorch's:
 *
 *   h = ReLU(x·W1 + b1)                       [N, 2048] → [N, 512]
 *   d = Dropout(p)(h)  (training only; kept values scaled by 1/(1−p))
 *   z = d·W2 + b2                             [N, 512] → [N, C]
 *   log p = LogSoftmax(z)
 *   loss = NLL = −mean_i log p[i, y_i]
 *
 * Backward passes are explicit, and every matrix product is a plain
 * `matMul(a, b)` of already-transposed operands: tfjs-wasm's matMul with
 * `transposeA/B` set is much slower (bench/: 6–8× for `xᵀ·dpre`, 1.7× for a
 * whole step, where Adam's update costs more than the gradients).
 *
 * Adam follows `torch.optim.Adam` (no weight decay, no amsgrad):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { Rng } from "./rng.ts";
import { EMBEDDING_SIZE } from "./resnet50.ts";

/** Shape of the head. */
export interface HeadConfig {
  /** Input width. @default 2048 */
  inputSize: number;
  /** Hidden width. @default 512 */
  hiddenSize: number;
  /** Number of classes C. */
  classes: number;
  /** Dropout probability on the hidden layer while training. @default 0.2 */
  dropout: number;
}

/** The head's weights. The owner disposes them with {@linkcode disposeHead}. */
export interface HeadParams {
  /** [inputSize, hiddenSize] */
  w1: tf.Tensor2D;
  /** [hiddenSize] */
  b1: tf.Tensor1D;
  /** [hiddenSize, classes] */
  w2: tf.Tensor2D;
  /** [classes] */
  b2: tf.Tensor1D;
}

/** Parameter names, in the order they are stored and updated. */
export const PARAM_NAMES = ["w1", "b1", "w2", "b2"] as const;

/** Adam's settings (PyTorch's defaults but the course's learning rate). */
export interface AdamConfig {
  /** Learning rate. @default 0.003 (the course's) */
  lr: number;
  /** Decay of the first moment. @default 0.9 */
  beta1: number;
  /** Decay of the second moment. @default 0.999 */
  beta2: number;
  /** Added to the denominator for stability. @default 1e-8 */
  eps: number;
}

/** The course's Adam settings. */
export const DEFAULT_ADAM: AdamConfig = { lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Adam's running moments and step count. */
export interface AdamState {
  /** Steps taken. */
  step: number;
  /** First moments, per parameter. */
  m: HeadParams;
  /** Second moments, per parameter. */
  v: HeadParams;
}

/** The course's head for `classes` classes. */
export function headConfig(classes: number): HeadConfig {
  return { inputSize: EMBEDDING_SIZE, hiddenSize: 512, classes, dropout: 0.2 };
}

/**
 * Initial weights as PyTorch's `nn.Linear` draws them: weights and biases
 * uniform in ±1/√fan_in.
 */
export function initHead(config: HeadConfig, rng: Rng): HeadParams {
  const uniform = (n: number, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
    return a;
  };
  const { inputSize: i, hiddenSize: h, classes: c } = config;
  return {
    w1: tf.tensor2d(uniform(i * h, i), [i, h]),
    b1: tf.tensor1d(uniform(h, i)),
    w2: tf.tensor2d(uniform(h * c, h), [h, c]),
    b2: tf.tensor1d(uniform(c, h)),
  };
}

/** Disposes every tensor of a head (or of Adam's moments). */
export function disposeHead(p: HeadParams): void {
  tf.dispose([p.w1, p.b1, p.w2, p.b2]);
}

/**
 * Log-probabilities in evaluation mode (no dropout). Caller owns the result.
 * @param p The head.
 * @param x `[N, 2048]` embeddings.
 * @returns `[N, C]` log-probabilities.
 */
export function headLogProbs(p: HeadParams, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const h = tf.relu(tf.add(tf.matMul(x, p.w1), p.b1)); // [N, 512]
    return tf.logSoftmax(tf.add(tf.matMul(h, p.w2), p.b2)) as tf.Tensor2D; // [N, C]
  });
}

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
    const pre = tf.add(tf.matMul(x, p.w1), p.b1); // [N, 512]
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
    const w1 = tf.matMul(tf.transpose(x), dpre) as tf.Tensor2D; // [2048, 512]
    const b1 = tf.sum(dpre, 0) as tf.Tensor1D;
    return { loss, grads: { w1, b1, w2, b2 } };
  });
}

/** Fresh Adam state (zero moments) for a head. */
export function initAdam(p: HeadParams): AdamState {
  return {
    step: 0,
    m: { w1: tf.zerosLike(p.w1), b1: tf.zerosLike(p.b1), w2: tf.zerosLike(p.w2), b2: tf.zerosLike(p.b2) },
    v: { w1: tf.zerosLike(p.w1), b1: tf.zerosLike(p.b1), w2: tf.zerosLike(p.w2), b2: tf.zerosLike(p.b2) },
  };
}

/**
 * One Adam update. Replaces (and disposes) the tensors in `p` and `state`.
 * @param p The head, updated in place.
 * @param grads Gradients from {@linkcode headGradients} (not disposed here).
 * @param state Adam's moments, updated in place.
 * @param config Learning rate and betas.
 */
export function adamStep(p: HeadParams, grads: HeadParams, state: AdamState, config: AdamConfig): void {
  state.step += 1;
  const t = state.step;
  const { lr, beta1, beta2, eps } = config;
  const stepSize = lr / (1 - beta1 ** t);
  const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
  for (const name of PARAM_NAMES) {
    const [m, v, next] = tf.tidy(() => {
      const g = grads[name];
      const m = tf.add(tf.mul(state.m[name], beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(state.v[name], beta2), tf.mul(tf.square(g), 1 - beta2));
      const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
      const next = tf.sub(p[name], tf.mul(tf.div(m, denom), stepSize));
      return [m, v, next];
    });
    tf.dispose([state.m[name], state.v[name], p[name]]);
    (state.m as unknown as Record<string, tf.Tensor>)[name] = m;
    (state.v as unknown as Record<string, tf.Tensor>)[name] = v;
    (p as unknown as Record<string, tf.Tensor>)[name] = next;
  }
}
