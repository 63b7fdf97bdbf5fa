/**
 * Adam, as `torch.optim.Adam` computes it (no weight decay, no amsgrad):
 *
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 *
 * The learning rate is the recipe's (`presets.ts`); β1, β2 and ε are
 * PyTorch's defaults. On the `wasm` backend each parameter's update is one
 * fused pass over tfjs-wasm's heap (`adam_kernel.ts`: the same float32
 * arithmetic as the ops, bit for bit).
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { type HeadParams, PARAM_NAMES } from "../model/head.ts";
import { fusedAdamUpdate } from "./adam_kernel.ts";

/** PyTorch's defaults for everything but the learning rate. */
export const ADAM_DEFAULTS: { beta1: number; beta2: number; eps: number } = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
};

/** Adam's settings. */
export interface AdamConfig {
  /** Learning rate (the recipe's; the course's is 0.003). */
  lr: number;
  /** Decay of the first moment. @default 0.9 */
  beta1?: number;
  /** Decay of the second moment. @default 0.999 */
  beta2?: number;
  /** Added to the denominator for stability. @default 1e-8 */
  eps?: number;
}

/** Adam's running moments and step count. */
export interface AdamState {
  /** Steps taken. */
  step: number;
  /** First moments, per parameter. */
  m: HeadParams;
  /** Second moments, per parameter. */
  v: HeadParams;
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
 * @param config Learning rate (the recipe's) and, optionally, other betas or ε.
 */
export function adamStep(p: HeadParams, grads: HeadParams, state: AdamState, config: AdamConfig): void {
  state.step += 1;
  const t = state.step;
  const { lr, beta1, beta2, eps } = { ...ADAM_DEFAULTS, ...config };
  const stepSize = lr / (1 - beta1 ** t);
  const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
  for (const name of PARAM_NAMES) {
    const fused = fusedAdamUpdate(p[name].size);
    const [m, v, next] = fused
      ? (([next, m, v]) => [m!, v!, next!])(
        fused(p[name], grads[name], state.m[name], state.v[name], { beta1, beta2, eps, stepSize, sqrtBc2 }),
      )
      : tf.tidy(() => {
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
