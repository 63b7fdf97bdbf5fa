/**
 * Head training, time per step: one Adam step of the course's head on a
 * batch of 16 embeddings, as `trainClassifier` takes it (stack the batch,
 * draw the dropout mask, `headGradients`, `adamStep`, read the loss): on
 * wasm, x·W1 is rocks' dense kernel and Adam is one fused pass.
 *
 * For comparison the same step is timed with the gradients in tfjs's ops
 * only (tfjs's `matMul` for x·W1, which repacks the new W1 every step), and
 * once more with the backward products written as `matMul(a, b, transposeA,
 * transposeB)`, which tfjs-wasm runs far slower. All give the same gradients
 * within rounding (checked here).
 *
 * Prints one JSON object on stdout.
 *
 * Usage: deno run -A bench/head_step.ts [--steps 40] [--batch 16] [--backend wasm]
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, parseBackendName } from "../lib/trunk/backend.ts";
import { adamStep, initAdam } from "../lib/train/adam.ts";
import { PRESETS } from "../lib/train/presets.ts";
import { disposeHead, headConfig, type HeadParams, initHead } from "../lib/model/head.ts";
import { dropoutMask, headGradients } from "../lib/train/gradients.ts";
import { dense } from "../lib/model/dense_kernel.ts";
import { EMBEDDING_SIZE } from "../lib/trunk/facts.ts";
import { createRng } from "../lib/util/rng.ts";

type GradientFn = (
  p: HeadParams,
  x: tf.Tensor2D,
  labels: number[],
  mask: tf.Tensor2D,
) => { loss: tf.Scalar; grads: HeadParams };

/**
 * The head's gradients in tfjs's ops only, the backward products written
 * with matMul's transpose flags (the slow form on tfjs-wasm) or of explicitly
 * transposed operands: kept only to be timed.
 * @param p The head.
 * @param x `[N, 2048]` embeddings.
 * @param labels N class indices.
 * @param mask `[N, 512]` dropout mask.
 * @param flags Whether to use matMul's transpose flags.
 * @returns Loss and gradients; the caller owns them.
 */
export function headGradientsTfjs(
  p: HeadParams,
  x: tf.Tensor2D,
  labels: number[],
  mask: tf.Tensor2D,
  flags: boolean,
): { loss: tf.Scalar; grads: HeadParams } {
  return tf.tidy(() => {
    const n = x.shape[0];
    const pre = tf.add(tf.matMul(x, p.w1), p.b1); // [N, 512]
    const h = tf.relu(pre);
    const d = tf.mul(h, mask);
    const z = tf.add(tf.matMul(d, p.w2), p.b2); // [N, C]
    const logp = tf.logSoftmax(z);
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), p.w2.shape[1]);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
    const dz = tf.div(tf.sub(tf.exp(logp), onehot), n); // [N, C]
    const product = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor2D =>
      flags ? tf.matMul(a, b, ta, tb) : tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b);
    const w2 = product(d, dz, true, false); // dᵀ·dz [512, C]
    const b2 = tf.sum(dz, 0) as tf.Tensor1D;
    const dd = product(dz, p.w2, false, true); // dz·W2ᵀ [N, 512]
    const dpre = tf.mul(tf.mul(dd, mask), tf.step(pre)) as tf.Tensor2D;
    const w1 = product(x, dpre, true, false); // xᵀ·dpre [2048, 512]
    const b1 = tf.sum(dpre, 0) as tf.Tensor1D;
    return { loss, grads: { w1, b1, w2, b2 } };
  });
}

/** Options for {@linkcode benchHeadStep}. */
export interface HeadStepOptions {
  /** Timed steps per variant. @default 40 */
  steps?: number;
  /** Embeddings per step. @default 16 (the course's batch) */
  batch?: number;
}

/** Time per step of each variant. */
export interface HeadStepResult {
  /** The backend the steps ran on. */
  backend: string;
  /** Embeddings per step. */
  batch: number;
  /** Timed steps per variant. */
  steps: number;
  /** Our step (training's: the dense kernel for x·W1, the fused Adam pass), median ms. */
  oursMs: number;
  /** The step in tfjs's ops only (explicit transposes), median ms. */
  tfjsOpsMs: number;
  /** The same with matMul's transpose flags, median ms. */
  transposeFlagsMs: number;
  /** The gradients alone (forward and backward, no Adam) in our step, median ms. */
  oursGradientsMs: number;
  /** The gradients alone in tfjs's ops, median ms. */
  tfjsOpsGradientsMs: number;
  /** The gradients alone with matMul's transpose flags, median ms. */
  transposeFlagsGradientsMs: number;
  /** The largest product alone, `xᵀ·dpre` ([2048, N]·[N, 512]), as the head computes it (`dense`), median ms. */
  productOursMs: number;
  /** The same product as `matMul(transpose(x), dpre)` (tfjs's matMul), median ms. */
  productMatMulMs: number;
  /** The same product as `matMul(x, dpre, true, false)`, median ms. */
  productTransposeFlagsMs: number;
  /** Largest difference between the variants' gradients on one batch (tfjs's ops against ours and the flags'). */
  maxGradientDifference: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Times one training step of the head, ours against the transpose-flag form.
 * Call after `initBackend()`.
 * @param options Steps and batch size.
 * @returns Median ms per step of each.
 */
export async function benchHeadStep(options: HeadStepOptions = {}): Promise<HeadStepResult> {
  const steps = options.steps ?? 40;
  const batch = options.batch ?? 16;
  const config = headConfig(2);
  const rng = createRng(7);
  // Embeddings look like ResNet50's: non-negative (after ReLU and pooling).
  const rows = Array.from({ length: batch }, () => {
    const r = new Float32Array(EMBEDDING_SIZE);
    for (let i = 0; i < r.length; i++) r[i] = Math.max(0, rng.uniform(-1, 2));
    return r;
  });
  const labels = rows.map((_, i) => i % 2);

  // tfjs-wasm runs each op to the end when it is called, so a clock read
  // after the gradients are returned times them.
  const run = async (gradients: GradientFn): Promise<{ step: number; grads: number }> => {
    const params = initHead(config, createRng(1));
    const adam = initAdam(params);
    const drop = createRng(5);
    const stepMs: number[] = [];
    const gradMs: number[] = [];
    for (let s = 0; s < steps + 3; s++) {
      const t = performance.now();
      const flat = new Float32Array(batch * EMBEDDING_SIZE);
      rows.forEach((r, i) => flat.set(r, i * EMBEDDING_SIZE));
      const x = tf.tensor2d(flat, [batch, EMBEDDING_SIZE]); // [B, 2048]
      const mask = dropoutMask(batch, config.hiddenSize, config.dropout, drop);
      const g0 = performance.now();
      const { loss, grads } = gradients(params, x, labels, mask);
      const g1 = performance.now();
      tf.dispose([x, mask]);
      adamStep(params, grads, adam, { lr: PRESETS.course.lr });
      (await loss.data())[0];
      tf.dispose([loss, grads.w1, grads.b1, grads.w2, grads.b2]);
      if (s >= 3) { // 3 warm-up steps
        stepMs.push(performance.now() - t);
        gradMs.push(g1 - g0);
      }
    }
    disposeHead(params);
    disposeHead(adam.m);
    disposeHead(adam.v);
    return { step: median(stepMs), grads: median(gradMs) };
  };

  const product = (f: (x: tf.Tensor2D, d: tf.Tensor2D) => tf.Tensor): number => {
    const x = tf.tensor2d(rows.flatMap((r) => Array.from(r)), [batch, EMBEDDING_SIZE]);
    const d = tf.randomNormal([batch, config.hiddenSize], 0, 1, "float32", 3) as tf.Tensor2D;
    const ms: number[] = [];
    for (let s = 0; s < steps + 3; s++) {
      const t = performance.now();
      const r = tf.tidy(() => f(x, d));
      r.dataSync();
      r.dispose();
      if (s >= 3) ms.push(performance.now() - t);
    }
    tf.dispose([x, d]);
    return median(ms);
  };

  // Same gradients from every form, on one batch.
  const p: HeadParams = initHead(config, createRng(1));
  const x = tf.tensor2d(rows.flatMap((r) => Array.from(r)), [batch, EMBEDDING_SIZE]);
  const mask = tf.ones([batch, config.hiddenSize]) as tf.Tensor2D;
  const reference = headGradientsTfjs(p, x, labels, mask, false);
  let diff = 0;
  for (const other of [headGradients(p, x, labels, mask), headGradientsTfjs(p, x, labels, mask, true)]) {
    for (const k of ["w1", "b1", "w2", "b2"] as const) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(reference.grads[k], other.grads[k]))).dataSync()[0]!);
      diff = Math.max(diff, d);
    }
    tf.dispose([other.loss, ...Object.values(other.grads)]);
  }
  tf.dispose([x, mask, reference.loss, ...Object.values(reference.grads)]);
  disposeHead(p);

  const ours = await run(headGradients);
  const ops = await run((p, x, labels, mask) => headGradientsTfjs(p, x, labels, mask, false));
  const flags = await run((p, x, labels, mask) => headGradientsTfjs(p, x, labels, mask, true));
  return {
    backend: tf.getBackend(),
    batch,
    steps,
    oursMs: ours.step,
    tfjsOpsMs: ops.step,
    transposeFlagsMs: flags.step,
    oursGradientsMs: ours.grads,
    tfjsOpsGradientsMs: ops.grads,
    transposeFlagsGradientsMs: flags.grads,
    productOursMs: product((x, d) => dense(tf.transpose(x), d, tf.zeros([d.shape[1]]))),
    productMatMulMs: product((x, d) => tf.matMul(tf.transpose(x), d)),
    productTransposeFlagsMs: product((x, d) => tf.matMul(x, d, true, false)),
    maxGradientDifference: diff,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { steps: { type: "string" }, batch: { type: "string" }, backend: { type: "string" } },
    strict: true,
  });
  await initBackend(parseBackendName(values.backend ?? "wasm"));
  const result = await benchHeadStep({
    steps: Number(values.steps ?? 40),
    batch: Number(values.batch ?? 16),
  });
  console.log(JSON.stringify(result));
}
