/**
 * The frozen trunk: ImageNet ResNet50 (Keras v1 layout) built from small
 * blocks with TF.js ops, each batch-norm folded into the convolution before
 * it, so one fused conv + bias + ReLU op runs where Keras runs three.
 *
 * Input: `[N, H, W, 3]` float32 in Keras "caffe" form (BGR, mean subtracted).
 * ResNet50 is fully convolutional, so H and W may be any size ≥ 32; the
 * course's size is 224. Output of {@linkcode Trunk.embed}: `[N, 2048]`, the
 * global average pool before `fc1000`.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import {
  fastConv2d,
  fastConv2dInt8,
  fastConv2dInt8Quantized,
  fastConvEnabled,
  fastConvFits,
  fastConvUsesFma,
  int8ConvFits,
  packFilter,
  packWinogradFilter,
  quantizeActivations,
  registerFastConv,
} from "./conv_kernel.ts";
import { packFilterInt8 } from "./pack_int8.ts";
import { RocksError } from "../util/errors.ts";
import { registerStemInput, stemInput } from "./stem_input.ts";
import { releaseArrays } from "./release.ts";
import { EMBEDDING_SIZE } from "./facts.ts";
import type { ResnetWeights } from "./weights.ts";
import type { ActivationRanges, Precision } from "./precision.ts";

/** Batch-norm epsilon of every BN layer in the Keras model. */
export const BN_EPSILON = 1e-3;

/** The four stages: name, blocks, filters of the three convs, first stride. */
export const STAGES = [
  { stage: 2, blocks: 3, filters: [64, 64, 256], stride: 1 },
  { stage: 3, blocks: 4, filters: [128, 128, 512], stride: 2 },
  { stage: 4, blocks: 6, filters: [256, 256, 1024], stride: 2 },
  { stage: 5, blocks: 3, filters: [512, 512, 2048], stride: 2 },
] as const;

/** A convolution with its batch-norm folded in. */
interface Conv {
  /** `[k, k, cin, cout]`, or packed for the fast WASM kernel (`packWinogradFilter` for 3×3, else `packFilter`). */
  filter: tf.Tensor;
  bias: tf.Tensor1D;
  k: number;
  cout: number;
  stride: number;
  pad: "valid" | "same";
  /** The filter is packed and runs through `fastConv2d`. */
  fast: boolean;
  /** Set when the filter is int8 (`packFilterInt8`) and runs through `fastConv2dInt8`. */
  int8?: { scale: tf.Tensor1D; inverseActivationScale: tf.Tensor1D };
  /** The stem's filter as {@linkcode spaceToDepthStemFilter} makes it, packed for `fastConv2d`. */
  spaceToDepth?: tf.Tensor1D;
}

/**
 * The stem's 7×7, stride-2 filter on 3 channels rewritten as a 4×4, stride-1
 * filter on 12 for the 2×2 blocks of the padded input (`stemInput` in stem_input.ts):
 * tap (a, b) on the blocks is taps (2a + dy, 2b + dx) of the original, zero
 * past 7. The same sums, on a shape rocks' kernel takes (its channels come in
 * fours), where the 3-channel stem was left to tfjs-wasm's convolution.
 * @param filter `[7, 7, 3, cout]`, HWIO.
 * @param cout Output channels.
 * @returns `[4, 4, 12, cout]`, HWIO.
 */
export function spaceToDepthStemFilter(filter: Float32Array, cout: number): Float32Array {
  const out = new Float32Array(4 * 4 * 12 * cout);
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 4; b++) {
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const ky = 2 * a + dy, kx = 2 * b + dx;
          if (ky >= 7 || kx >= 7) continue;
          for (let c = 0; c < 3; c++) {
            const to = ((a * 4 + b) * 12 + (dy * 2 + dx) * 3 + c) * cout;
            const from = ((ky * 7 + kx) * 3 + c) * cout;
            out.set(filter.subarray(from, from + cout), to);
          }
        }
      }
    }
  }
  return out;
}

/** Options for {@linkcode buildTrunk}. */
export interface BuildTrunkOptions {
  /** `int8` needs the wasm backend with relaxed SIMD and `activationRanges`. @default "fp32" */
  precision?: Precision;
  /** What each quantized tensor's channels reach on real photos (`int8` only). */
  activationRanges?: ActivationRanges;
  /**
   * Called, on the float32 path, with each tensor the int8 path would
   * quantize (inside the forward pass's tidy: read it, do not keep it). For calibration.
   */
  observe?: (name: string, x: tf.Tensor4D) => void;
}

/** The convolution whose activation range applies to `name`'s input (`branch1` shares `branch2a`'s). */
export function activationKey(name: string): string {
  return name.replace(/_branch1$/, "_branch2a");
}

/** The frozen ResNet50. The caller owns tensors returned by its methods. */
export interface Trunk {
  /** Which weights this trunk holds (see {@linkcode ResnetWeights.trunkId}). */
  readonly id: string;
  /** How it multiplies (see {@linkcode Precision}). */
  readonly precision: Precision;
  /** sha256 over the weight files' checksums. */
  readonly sha256: string;
  /** The 1000 ImageNet class names. */
  readonly labels: string[];
  /** `[N, H, W, 3]` caffe-normalised → `[N, 2048]` pooled features. */
  embed(x: tf.Tensor4D): tf.Tensor2D;
  /** `[N, 2048]` features → `[N, 1000]` ImageNet probabilities (the original `fc1000`). */
  imagenetProbabilities(features: tf.Tensor2D): tf.Tensor2D;
  /** Releases every weight tensor. */
  dispose(): void;
}

/** One convolution as the Keras model names it: its layer, its batch-norm, its shape and stride. */
export interface ConvSpec {
  /** The convolution's Keras layer (`conv1`, `res2a_branch2a`, ...). */
  name: string;
  /** Its batch-norm's Keras layer (`bn_conv1`, `bn2a_branch2a`, ...). */
  bn: string;
  /** Kernel side (7, 3 or 1); a 3×3 pads "same", the others "valid". */
  k: number;
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Stride. */
  stride: number;
}

/** The Keras layer names and expected shapes of every convolution, in order (also the ONNX export's). */
export function convSpecs(): ConvSpec[] {
  const specs: ConvSpec[] = [{ name: "conv1", bn: "bn_conv1", k: 7, cin: 3, cout: 64, stride: 2 }];
  const conv = (block: string, branch: string, k: number, cin: number, cout: number, stride: number) =>
    specs.push({ name: `res${block}_${branch}`, bn: `bn${block}_${branch}`, k, cin, cout, stride });
  let cin = 64;
  for (const { stage, blocks, filters, stride } of STAGES) {
    for (let b = 0; b < blocks; b++) {
      const block = `${stage}${"abcdef"[b]}`;
      const s = b === 0 ? stride : 1;
      const [f1, f2, f3] = filters;
      conv(block, "branch2a", 1, cin, f1, s);
      conv(block, "branch2b", 3, f1, f2, 1);
      conv(block, "branch2c", 1, f2, f3, 1);
      if (b === 0) conv(block, "branch1", 1, cin, f3, s); // the projection shortcut
      cin = f3;
    }
  }
  return specs;
}

function expectShape(
  weights: ResnetWeights,
  name: string,
  shape: number[],
): Float32Array {
  const t = weights.tensors.get(name);
  if (!t) throw new RocksError("model", `Weights lack tensor ${name}`);
  if (t.shape.join(",") !== shape.join(",")) {
    throw new RocksError(
      "model",
      `Weight ${name} has shape [${t.shape}], expected [${shape}]`,
    );
  }
  return t.data;
}

/**
 * Builds the trunk from verified weights. Asserts every tensor's shape before
 * anything is copied, folds each batch-norm into its convolution
 * (w' = w·γ/√(σ²+ε), b' = (b−μ)·γ/√(σ²+ε) + β).
 *
 * On the `wasm` backend every convolution but the stem's runs through the
 * FMA kernel of `conv_kernel.ts` (the 3×3 ones by Winograd; 1.75× tfjs's
 * speed over a trunk call), with each block's
 * residual add and ReLU fused into its last convolution (`ROCKS_CONV=tfjs`
 * in the environment turns this off).
 * @param weights From `loadResnetWeights()`.
 * @returns The trunk; call `dispose()` when done.
 */
export function buildTrunk(weights: ResnetWeights, options: BuildTrunkOptions = {}): Trunk {
  const specs = convSpecs();
  const precision = options.precision ?? "fp32";
  // 1. Check every name and shape first: nothing is allocated for a bad file.
  const raw = specs.map((s) => ({
    spec: s,
    kernel: expectShape(weights, `${s.name}/kernel`, [s.k, s.k, s.cin, s.cout]),
    bias: expectShape(weights, `${s.name}/bias`, [s.cout]),
    gamma: expectShape(weights, `${s.bn}/gamma`, [s.cout]),
    beta: expectShape(weights, `${s.bn}/beta`, [s.cout]),
    mean: expectShape(weights, `${s.bn}/moving_mean`, [s.cout]),
    variance: expectShape(weights, `${s.bn}/moving_variance`, [s.cout]),
  }));
  const fcKernel = expectShape(weights, "fc1000/kernel", [
    EMBEDDING_SIZE,
    1000,
  ]);
  const fcBias = expectShape(weights, "fc1000/bias", [1000]);
  const used = raw.length * 6 + 2;
  if (used !== weights.tensors.size) {
    throw new RocksError(
      "model",
      `Weights hold ${weights.tensors.size} tensors, the trunk uses ${used}`,
    );
  }

  // 2. Fold batch-norm into the convolutions.
  const useFast = tf.getBackend() === "wasm" && fastConvEnabled();
  if (useFast) {
    registerFastConv();
    registerStemInput();
  }
  if (precision === "int8") {
    if (!useFast || !fastConvUsesFma()) {
      throw new RocksError(
        "usage",
        "The int8 trunk runs on the wasm backend with relaxed SIMD and rocks' kernel only",
      );
    }
    if (!options.activationRanges) throw new RocksError("usage", "The int8 trunk needs activation ranges");
  }
  const convs = new Map<string, Conv>();
  for (const r of raw) {
    const { k, cin, cout, stride, name } = r.spec;
    const filter = new Float32Array(r.kernel.length);
    const bias = new Float32Array(cout);
    const scale = new Float64Array(cout);
    for (let o = 0; o < cout; o++) {
      scale[o] = r.gamma[o]! / Math.sqrt(r.variance[o]! + BN_EPSILON);
      bias[o] = (r.bias[o]! - r.mean[o]!) * scale[o]! + r.beta[o]!;
    }
    // Kernel layout [k, k, cin, cout]: the output channel varies fastest.
    for (let i = 0; i < filter.length;) {
      for (let o = 0; o < cout; o++, i++) filter[i] = r.kernel[i]! * scale[o]!;
    }
    const fast = useFast && fastConvFits(cin, cout);
    const range = precision === "int8" && name !== "conv1" && int8ConvFits(cin, cout)
      ? options.activationRanges!.get(activationKey(name))
      : undefined;
    if (range) {
      if (range.length !== cin) {
        throw new RocksError(
          "model",
          `Activation range for ${name} has ${range.length} channels, expected ${cin}`,
        );
      }
      const actScale = activationScales(range);
      const q = packFilterInt8(filter, [k, k, cin, cout], actScale);
      convs.set(name, {
        filter: tf.tensor1d(q.words, "int32"),
        bias: tf.tensor1d(bias),
        k,
        cout,
        stride,
        pad: k === 3 ? "same" : "valid",
        fast: true,
        int8: {
          scale: tf.tensor1d(q.scale),
          inverseActivationScale: tf.tensor1d(actScale.map((v) => 1 / v)),
        },
      });
      releaseArrays(filter, bias, q.words, q.scale, actScale);
      continue;
    }
    const packed = !fast
      ? undefined
      : k === 3
      ? packWinogradFilter(filter, cin, cout)
      : packFilter(filter, [k, k, cin, cout]);
    const packedStem = useFast && name === "conv1" && k === 7 && cin === 3 && stride === 2 && cout % 8 === 0
      ? packFilter(spaceToDepthStemFilter(filter, cout), [4, 4, 12, cout])
      : undefined;
    convs.set(name, {
      ...(packedStem ? { spaceToDepth: tf.tensor1d(packedStem) } : {}),
      filter: packed ? tf.tensor1d(packed) : tf.tensor4d(filter, [k, k, cin, cout]),
      bias: tf.tensor1d(bias),
      k,
      cout,
      stride,
      pad: k === 3 ? "same" : "valid",
      fast,
    });
    // The wasm backend copies values into its own heap; other backends may keep the arrays.
    if (tf.getBackend() === "wasm") {
      releaseArrays(filter, bias, ...(packed ? [packed] : []), ...(packedStem ? [packedStem] : []));
    }
  }
  const fcW = tf.tensor2d(fcKernel, [EMBEDDING_SIZE, 1000]);
  const fcB = tf.tensor1d(fcBias);

  /** What rocks' kernels take of a convolution: the filter, bias, geometry, ReLU and residual. */
  const kernelArgs = (c: Conv, relu: boolean, residual?: tf.Tensor4D) => ({
    filter: c.filter as tf.Tensor1D,
    bias: c.bias,
    kernelSize: c.k,
    stride: c.stride,
    pad: c.pad === "same" ? (c.k - 1) / 2 : 0,
    outChannels: c.cout,
    relu,
    ...(residual ? { residual } : {}),
  });

  /**
   * One convolution (+ bias, + `residual`, then ReLU when `relu`). On the int8 path `xq` is `x` already
   * quantized (a block's input, read by two convolutions), else it is quantized here.
   */
  const conv = (
    x: tf.Tensor4D,
    name: string,
    relu: boolean,
    residual?: tf.Tensor4D,
    xq?: tf.Tensor4D,
  ): tf.Tensor4D => {
    const c = convs.get(name)!;
    const common = kernelArgs(c, relu, residual);
    if (c.int8) {
      const q = xq ?? quantizeActivations(x, c.int8.inverseActivationScale);
      const y = fastConv2dInt8({ ...common, x: q, scale: c.int8.scale });
      if (q !== xq) q.dispose();
      return y;
    }
    // Every 3×3 here has stride 1 and "same" padding: Winograd.
    if (c.fast) return fastConv2d({ ...common, x, winograd: c.k === 3 });
    const y = tf.fused.conv2d({
      x,
      filter: c.filter as tf.Tensor4D,
      strides: c.stride,
      pad: c.pad,
      bias: c.bias,
      activation: relu && !residual ? "relu" : "linear",
    });
    if (!residual) return y;
    const sum = tf.add(y, residual) as tf.Tensor4D;
    y.dispose();
    if (!relu) return sum;
    const r = tf.relu(sum);
    sum.dispose();
    return r;
  };

  /**
   * An int8 convolution (+ bias, + `residual`, ReLU) of already quantized `xq` whose output goes to the
   * int8 convolution `next`: quantized with `next`'s scales in the kernel, and kept as float32 too when
   * `keepFloat`.
   */
  const int8Into = (
    xq: tf.Tensor4D,
    name: string,
    next: Conv,
    keepFloat: boolean,
    residual?: tf.Tensor4D,
  ): { quantized: tf.Tensor4D; float?: tf.Tensor4D } => {
    const c = convs.get(name)!;
    return fastConv2dInt8Quantized({
      ...kernelArgs(c, true, residual),
      x: xq,
      scale: c.int8!.scale,
      nextInverseScale: next.int8!.inverseActivationScale,
      keepFloat,
    });
  };

  /**
   * conv1 (7×7, stride 2, zero padding 3, + bias, ReLU): on rocks' kernel as a
   * 4×4 convolution of the padded input's 2×2 blocks where its sides are even, else as is.
   */
  const stem = (x: tf.Tensor4D): tf.Tensor4D => {
    const c = convs.get("conv1")!;
    const [, h, w] = x.shape;
    if (c.spaceToDepth && h % 2 === 0 && w % 2 === 0) {
      // Padded and cut into 2×2 blocks in one pass; a filter row's 4 blocks lie side by side, so each
      // row is one tap of 48 channels (4 taps instead of 16 of 12).
      const blocks = stemInput(x);
      const y = fastConv2d({
        x: blocks,
        filter: c.spaceToDepth,
        bias: c.bias,
        kernelSize: 4,
        stride: 1,
        pad: 0,
        outChannels: c.cout,
        relu: true,
        rowWindow: true,
      });
      blocks.dispose();
      return y;
    }
    const padded = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]);
    const y = conv(padded, "conv1", true);
    padded.dispose();
    return y;
  };

  const blockNames = STAGES.flatMap(({ stage, blocks }) =>
    Array.from({ length: blocks }, (_, b) => ({ block: `${stage}${"abcdef"[b]}`, first: b === 0 }))
  );

  // Each intermediate tensor is disposed as soon as nothing reads it, so the next one reuses its memory
  // while that is still in cache, and a call holds a few activations at a time instead of all of them.
  const forward = (input: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      // Stem: [N, H, W, 3] → [N, H/4, W/4, 64]
      const stemmed = stem(input);
      // Keras pads with zeros before this pool; the ReLU's outputs are ≥ 0, so the pool's own padding
      // (which never wins a max) gives the same values without the padded copy.
      let x = tf.maxPool(stemmed, 3, 2, 1);
      stemmed.dispose();
      // Bottleneck blocks: 1×1 → 3×3 → 1×1, plus the shortcut. On the int8 path, a convolution whose
      // output feeds another int8 one hands it over already quantized (`xq`: the block input's bytes).
      let xq: tf.Tensor4D | undefined;
      blockNames.forEach(({ block, first }, i) => {
        const [c2a, c2b, c2c] = ["2a", "2b", "2c"].map((br) => convs.get(`res${block}_branch${br}`)!);
        const next = blockNames[i + 1] && convs.get(`res${blockNames[i + 1]!.block}_branch2a`);
        options.observe?.(`res${block}_branch2a`, x);
        if (c2a!.int8) xq ??= quantizeActivations(x, c2a!.int8.inverseActivationScale);
        const shortcut = first ? conv(x, `res${block}_branch1`, false, undefined, xq) : x;
        let out: tf.Tensor4D, outQ: tf.Tensor4D | undefined;
        if (c2a!.int8 && c2b!.int8 && c2c!.int8) {
          // 2a → 2b → 2c without a float32 tensor between them; 2c also quantizes for the next block.
          const y1 = int8Into(xq!, `res${block}_branch2a`, c2b!, false).quantized;
          const y2 = int8Into(y1, `res${block}_branch2b`, c2c!, false).quantized;
          y1.dispose();
          if (next?.int8) {
            const both = int8Into(y2, `res${block}_branch2c`, next, true, shortcut);
            [out, outQ] = [both.float!, both.quantized];
          } else out = conv(y2, `res${block}_branch2c`, true, shortcut, y2);
          y2.dispose();
        } else {
          const y1 = conv(x, `res${block}_branch2a`, true, undefined, xq);
          options.observe?.(`res${block}_branch2b`, y1);
          const y2 = conv(y1, `res${block}_branch2b`, true);
          y1.dispose();
          options.observe?.(`res${block}_branch2c`, y2);
          out = conv(y2, `res${block}_branch2c`, true, shortcut); // relu(conv(y) + shortcut)
          y2.dispose();
        }
        if (shortcut !== x) shortcut.dispose();
        x.dispose();
        xq?.dispose();
        [x, xq] = [out, outQ];
      });
      // Global average pool: [N, h, w, 2048] → [N, 2048]
      const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
      x.dispose();
      return pooled;
    });

  const trunk: Trunk = {
    id: weights.trunkId,
    precision,
    sha256: weights.sha256,
    labels: weights.labels,
    embed(x) {
      if (
        x.rank !== 4 || x.shape[3] !== 3 || x.shape[1] < 32 || x.shape[2] < 32
      ) {
        throw new RocksError(
          "runtime",
          `Trunk input must be [N, H≥32, W≥32, 3], got [${x.shape}]`,
        );
      }
      return forward(x);
    },
    imagenetProbabilities(features) {
      return tf.tidy(() => tf.softmax(tf.add(tf.matMul(features, fcW), fcB)) as tf.Tensor2D);
    },
    dispose() {
      for (const c of convs.values()) {
        c.filter.dispose();
        c.bias.dispose();
        c.int8?.scale.dispose();
        c.int8?.inverseActivationScale.dispose();
        c.spaceToDepth?.dispose();
      }
      fcW.dispose();
      fcB.dispose();
    },
  };
  // No warm-up call: the first photo's call compiles what it needs, where a call on zeros cost every new
  // process and worker one more trunk call (about 80 ms at int8, 180 at float32) that embedded nothing.
  return trunk;
}

/**
 * Each channel's activation scale (what one step of its 7-bit value is worth)
 * from its range: range / 127; a channel that never fired gets the tensor's
 * largest scale (its values are all 0 anyway, and 1/scale stays finite).
 */
function activationScales(range: Float32Array): Float32Array {
  let top = 0;
  for (const v of range) top = Math.max(top, v);
  const scale = new Float32Array(range.length);
  for (let c = 0; c < range.length; c++) scale[c] = (range[c]! > 0 ? range[c]! : top || 1) / 127;
  return scale;
}
