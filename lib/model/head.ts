/**
 * The course's head, the trainable part of the classifier, written out by
 * hand so every formula is visible and testable against PyTorch's:
 *
 *   h = ReLU(x·W1 + b1)                       [N, 2048] → [N, 512]
 *   d = Dropout(p)(h)  (training only; kept values scaled by 1/(1−p))
 *   z = d·W2 + b2                             [N, 512] → [N, C]
 *   log p = LogSoftmax(z)
 *
 * This module holds its shape, its weights (initialised as PyTorch's
 * `nn.Linear` does) and its forward pass; the loss, the backward pass and
 * Adam are training's (`train/gradients.ts`, `train/adam.ts`).
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { Rng } from "../util/rng.ts";
import { EMBEDDING_SIZE } from "../trunk/facts.ts";
import { dense } from "./dense_kernel.ts";

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
    const h = tf.relu(dense(x, p.w1, p.b1)); // [N, 512]
    return tf.logSoftmax(tf.add(tf.matMul(h, p.w2), p.b2)) as tf.Tensor2D; // [N, C]
  });
}
