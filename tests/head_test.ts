import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import { type AdamState, adamStep, initAdam } from "../lib/train/adam.ts";
import { disposeHead, headConfig, headLogProbs, type HeadParams, initHead } from "../lib/model/head.ts";
import { dropoutMask, headGradients, nllLoss } from "../lib/train/gradients.ts";
import { dense } from "../lib/model/dense_kernel.ts";
import { createRng } from "../lib/util/rng.ts";

await initBackend("wasm");

Deno.test("nllLoss() is minus the mean log-probability of the true class (PyTorch NLLLoss)", () => {
  const logits = [[2, 0.5], [-1, 1], [0.3, 0.3]];
  const labels = [0, 1, 1];
  // Hand computation: log_softmax(z)_y = z_y − log Σ exp(z).
  const expected = -labels.reduce((s, y, i) => {
    const z = logits[i]!;
    return s + z[y]! - Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
  }, 0) / 3;
  const loss = tf.tidy(() =>
    nllLoss(tf.logSoftmax(tf.tensor2d(logits)) as tf.Tensor2D, labels).dataSync()[0]!
  );
  assertAlmostEquals(loss, expected, 1e-6);
});

/** The head's mean NLL in float64 plain JS: the reference the gradients are checked against. */
function referenceLoss(
  p: Record<"w1" | "b1" | "w2" | "b2", Float64Array>,
  dims: { i: number; h: number; c: number },
  x: number[][],
  labels: number[],
  mask: number[][],
): number {
  let total = 0;
  x.forEach((row, n) => {
    const hidden = Array.from({ length: dims.h }, (_, j) => {
      let v = p.b1[j]!;
      for (let k = 0; k < dims.i; k++) v += row[k]! * p.w1[k * dims.h + j]!;
      return Math.max(0, v) * mask[n]![j]!;
    });
    const z = Array.from({ length: dims.c }, (_, c) => {
      let v = p.b2[c]!;
      for (let j = 0; j < dims.h; j++) v += hidden[j]! * p.w2[j * dims.c + c]!;
      return v;
    });
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    total += lse - z[labels[n]!]!;
  });
  return total / x.length;
}

Deno.test("headGradients() matches central differences of a float64 reference forward pass", () => {
  const before = tf.memory().numTensors;
  const rng = createRng(4);
  const dims = { i: 12, h: 7, c: 3 };
  const p = initHead({ inputSize: dims.i, hiddenSize: dims.h, classes: dims.c, dropout: 0.2 }, rng);
  const xRows = Array.from({ length: 5 }, () => Array.from({ length: dims.i }, () => rng.uniform(-2, 2)));
  const labels = [0, 2, 1, 1, 0];
  const mask = dropoutMask(5, dims.h, 0.2, rng);
  const maskRows = tf.tidy(() => mask.arraySync());
  const x = tf.tensor2d(xRows);
  const { loss, grads } = headGradients(p, x, labels, mask);
  const ref = {
    w1: Float64Array.from(p.w1.dataSync()),
    b1: Float64Array.from(p.b1.dataSync()),
    w2: Float64Array.from(p.w2.dataSync()),
    b2: Float64Array.from(p.b2.dataSync()),
  };
  assertAlmostEquals(loss.dataSync()[0]!, referenceLoss(ref, dims, xRows, labels, maskRows), 1e-5, "loss");
  const h = 1e-6;
  for (const name of ["w1", "b1", "w2", "b2"] as const) {
    const mine = grads[name].dataSync();
    mine.forEach((g, k) => {
      const keep = ref[name][k]!;
      ref[name][k] = keep + h;
      const up = referenceLoss(ref, dims, xRows, labels, maskRows);
      ref[name][k] = keep - h;
      const down = referenceLoss(ref, dims, xRows, labels, maskRows);
      ref[name][k] = keep;
      assertAlmostEquals(g, (up - down) / (2 * h), 1e-5, `${name}[${k}]`);
    });
  }
  tf.dispose([loss, x, mask, ...Object.values(grads)]);
  disposeHead(p);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("adamStep() follows torch.optim.Adam step by step", () => {
  // One scalar-like parameter per tensor; gradients 0.5 then −0.25, lr 0.1.
  const p: HeadParams = {
    w1: tf.tensor2d([[1]]),
    b1: tf.tensor1d([2]),
    w2: tf.tensor2d([[-1]]),
    b2: tf.tensor1d([0]),
  };
  const state: AdamState = initAdam(p);
  const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  let theta = 1, m = 0, v = 0;
  [0.5, -0.25].forEach((g, k) => {
    const t = k + 1;
    const grads: HeadParams = {
      w1: tf.tensor2d([[g]]),
      b1: tf.tensor1d([g]),
      w2: tf.tensor2d([[g]]),
      b2: tf.tensor1d([g]),
    };
    adamStep(p, grads, state, cfg);
    disposeHead(grads);
    // PyTorch: m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
    // θ −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    theta -= (0.1 / (1 - 0.9 ** t)) * m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
    assertAlmostEquals(p.w1.dataSync()[0]!, theta, 1e-6, `step ${t}`);
  });
  // Every parameter saw the same gradients, so each moved by the same amount.
  assertAlmostEquals(p.b1.dataSync()[0]!, 2 + (theta - 1), 1e-6);
  assertAlmostEquals(p.w2.dataSync()[0]!, -1 + (theta - 1), 1e-6);
  assertEquals(state.step, 2);
  disposeHead(p);
  disposeHead(state.m);
  disposeHead(state.v);
});

Deno.test("dropoutMask() zeroes about p of the values and scales the rest by 1/(1−p)", () => {
  const m = dropoutMask(100, 512, 0.2, createRng(1));
  const d = m.dataSync();
  const zeros = d.filter((v) => v === 0).length / d.length;
  assertAlmostEquals(zeros, 0.2, 0.01);
  assert(d.every((v) => v === 0 || Math.abs(v - 1.25) < 1e-6));
  m.dispose();
});

Deno.test("initHead() draws PyTorch Linear's uniform ±1/√fan_in weights for the course's head", () => {
  const p = initHead(headConfig(2), createRng(1));
  assertEquals([p.w1.shape, p.b1.shape, p.w2.shape, p.b2.shape], [[2048, 512], [512], [512, 2], [2]]);
  const w1 = p.w1.dataSync();
  const bound = 1 / Math.sqrt(2048);
  assert(w1.every((v) => Math.abs(v) <= bound));
  assertAlmostEquals(Math.max(...w1.slice(0, 10000)), bound, bound * 0.01);
  assert(p.w2.dataSync().every((v) => Math.abs(v) <= 1 / Math.sqrt(512)));
  disposeHead(p);
});

Deno.test("headGradients() and adamStep() lower the loss on separable data", () => {
  const before = tf.memory().numTensors;
  const rng = createRng(2);
  const config = { inputSize: 16, hiddenSize: 8, classes: 2, dropout: 0.2 };
  const p = initHead(config, rng);
  const state = initAdam(p);
  const rows = Array.from(
    { length: 32 },
    (_, i) => Array.from({ length: 16 }, (_, j) => (j === i % 2 ? 3 : 0) + rng.uniform(0, 1)),
  );
  const labels = rows.map((_, i) => i % 2);
  const x = tf.tensor2d(rows);
  const lossOf = () => tf.tidy(() => nllLoss(headLogProbs(p, x), labels).dataSync()[0]!);
  const first = lossOf();
  for (let i = 0; i < 30; i++) {
    const mask = dropoutMask(32, 8, 0.2, rng);
    const { loss, grads } = headGradients(p, x, labels, mask);
    adamStep(p, grads, state, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    tf.dispose([mask, loss, ...Object.values(grads)]);
  }
  const last = lossOf();
  assert(last < first / 2, `loss ${first} → ${last}`);
  disposeHead(p);
  disposeHead(state.m);
  disposeHead(state.v);
  x.dispose();
  assertEquals(tf.memory().numTensors, before);
});

/** A "head" of W1 only (the other parameters one zero each): what Adam's W1-sized tests update. */
function w1Only(w1: tf.Tensor2D): HeadParams {
  return { w1, b1: tf.zeros([1]), w2: tf.zeros([1, 1]), b2: tf.zeros([1]) };
}

/** Adam's update written as tfjs ops (what every backend but wasm runs): the fused pass's reference. */
function adamByOps(
  theta: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  cfg: { lr: number; beta1: number; beta2: number; eps: number },
  t: number,
): tf.Tensor[] {
  const stepSize = cfg.lr / (1 - cfg.beta1 ** t), sqrtBc2 = Math.sqrt(1 - cfg.beta2 ** t);
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, cfg.beta1), tf.mul(g, 1 - cfg.beta1));
    const v2 = tf.add(tf.mul(v, cfg.beta2), tf.mul(tf.square(g), 1 - cfg.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v2), sqrtBc2), cfg.eps);
    return [m2, v2, tf.sub(theta, tf.mul(tf.div(m2, denom), stepSize))];
  });
}

Deno.test("adamStep() on wasm (one fused pass) equals tfjs's chain of ops bit for bit, three steps on a W1-sized tensor", () => {
  const before = tf.memory().numTensors;
  const shape: [number, number] = [2048, 512];
  const rng = createRng(7);
  const draw = (scale: number) => {
    const a = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-scale, scale);
    return a;
  };
  const theta0 = draw(0.02);
  const p = w1Only(tf.tensor2d(theta0, shape));
  const state = initAdam(p);
  // The reference: the same update written as tfjs ops (what every other backend runs).
  let theta: tf.Tensor = tf.tensor2d(theta0, shape),
    m: tf.Tensor = tf.zerosLike(theta),
    v: tf.Tensor = tf.zerosLike(theta);
  const cfg = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  for (let t = 1; t <= 3; t++) {
    const g = tf.tensor2d(draw(t === 2 ? 1e-6 : 0.5), shape); // tiny gradients too: ε matters there
    const grads = w1Only(g);
    adamStep(p, grads, state, cfg);
    const [m2, v2, next] = adamByOps(theta, m, v, g, cfg, t);
    tf.dispose([m, v, theta]);
    [m, v, theta] = [m2!, v2!, next!];
    disposeHead(grads);
    for (
      const [got, want, what] of [[p.w1, theta, "θ"], [state.m.w1, m, "m"], [state.v.w1, v, "v"]] as const
    ) {
      const a = got.dataSync(), b = want.dataSync();
      let differ = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
      assertEquals(differ, 0, `step ${t}: ${differ} values of ${what} differ`);
    }
  }
  tf.dispose([m, v, theta]);
  [p, state.m, state.v].forEach(disposeHead);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("adamStep() on wasm flushes gradients below 2⁻⁵⁷ and subnormal moments to zero; θ stays the ops' bit for bit", () => {
  const before = tf.memory().numTensors;
  const shape: [number, number] = [64, 64];
  const rng = createRng(9);
  // A mix of ordinary, tiny (their squares are subnormal) and zero gradients.
  const gs = Float32Array.from(
    { length: 64 * 64 },
    (_, i) => [0.3, 1e-20, -3e-19, 0, 1e-12][i % 5]! * rng.uniform(0.5, 1),
  );
  const theta0 = Float32Array.from({ length: 64 * 64 }, () => rng.uniform(-0.02, 0.02));
  const p = w1Only(tf.tensor2d(theta0, shape));
  const state = initAdam(p);
  const g = tf.tensor2d(gs, shape);
  const cfg = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const grads = w1Only(g);
  adamStep(p, grads, state, cfg);
  const [m, v, next] = tf.tidy(() => {
    const zeros = tf.zeros(shape);
    return adamByOps(tf.tensor2d(theta0, shape), zeros, zeros, g, cfg, 1);
  });
  const [pt, mt, vt] = [p.w1.dataSync(), state.m.w1.dataSync(), state.v.w1.dataSync()];
  const [pw, mw, vw] = [next!.dataSync(), m!.dataSync(), v!.dataSync()];
  let flushed = 0;
  for (let i = 0; i < gs.length; i++) {
    assertEquals(pt[i], pw[i], `θ[${i}] (g = ${gs[i]})`);
    const tiny = Math.abs(gs[i]!) < 2 ** -57;
    if (tiny && gs[i] !== 0) flushed++;
    assertEquals(mt[i], tiny ? 0 : mw[i], `m[${i}] (g = ${gs[i]})`);
    assertEquals(vt[i], tiny || vw[i]! < 2 ** -126 ? 0 : vw[i], `v[${i}] (g = ${gs[i]})`);
  }
  assert(flushed > 1000, `${flushed} gradients flushed`);
  tf.dispose([m, v, next]);
  [grads, p, state.m, state.v].forEach(disposeHead);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("dense() (x·W + b in one pass on wasm, no repacking of W) equals matMul + add within rounding, for any number of rows", () => {
  const before = tf.memory().numTensors;
  const rng = createRng(5);
  for (
    // K past one slice of W (64 rows at 512 columns), with and without a remainder; no K at all.
    const [rows, k, j] of [[16, 2048, 512], [11, 2048, 512], [2, 130, 512], [1, 64, 8], [7, 40, 24], [
      3,
      16,
      6,
    ]] as const
  ) {
    const x = tf.tensor2d(Float32Array.from({ length: rows * k }, () => rng.uniform(0, 3)), [rows, k]);
    const w = tf.tensor2d(Float32Array.from({ length: k * j }, () => rng.uniform(-0.05, 0.05)), [k, j]);
    const b = tf.tensor1d(Float32Array.from({ length: j }, () => rng.uniform(-1, 1)));
    const out = dense(x, w, b);
    assertEquals(out.shape, [rows, j]);
    const got = out.dataSync();
    // float64 reference
    const xv = x.dataSync(), wv = w.dataSync(), bv = b.dataSync();
    let worst = 0, scale = 0;
    for (let n = 0; n < rows; n++) {
      for (let c = 0; c < j; c++) {
        let s = bv[c]!;
        for (let i = 0; i < k; i++) s += xv[n * k + i]! * wv[i * j + c]!;
        worst = Math.max(worst, Math.abs(s - got[n * j + c]!));
        scale = Math.max(scale, Math.abs(s));
      }
    }
    assert(worst <= 1e-5 * Math.max(1, scale), `${rows}×${k}·${k}×${j}: off by ${worst} (scale ${scale})`);
    tf.dispose([x, w, b, out]);
  }
  assertEquals(tf.memory().numTensors, before);
});
