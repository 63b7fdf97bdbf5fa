import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import {
  fastConv2d,
  fastConv2dInt8,
  fastConv2dInt8Quantized,
  fastConvFits,
  fastConvUsesFma,
  int8ConvFits,
  packFilter,
  packWinogradFilter,
  quantizeActivations,
  registerFastConv,
} from "../lib/trunk/conv_kernel.ts";
import { packFilterInt8 } from "../lib/trunk/pack_int8.ts";
import { convModuleBytes, hasRelaxedSimd } from "../lib/trunk/conv_wasm.ts";
import { createRng } from "../lib/util/rng.ts";
import { spaceToDepthStemFilter } from "../lib/trunk/resnet50.ts";
import { registerStemInput, stemInput } from "../lib/trunk/stem_input.ts";

await initBackend("wasm");
registerFastConv();

/** tfjs's own convolution (XNNPACK) with the same bias, residual and ReLU. */
function reference(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  stride: number,
  relu: boolean,
  residual?: tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const k = filter.shape[0];
    const padded = k === 1
      ? x
      : tf.pad(x, [[0, 0], [(k - 1) / 2, (k - 1) / 2], [(k - 1) / 2, (k - 1) / 2], [0, 0]]);
    let y = tf.add(tf.conv2d(padded, filter, stride, "valid"), bias) as tf.Tensor4D;
    if (residual) y = tf.add(y, residual);
    return relu ? tf.relu(y) : y;
  });
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!);
}

// Geometries: odd sizes, pixel counts not a multiple of the 6-pixel tile,
// stride 2 with odd sides, padding at every edge, 1 to 3 images.
const CASES = [
  { n: 1, h: 7, w: 5, cin: 4, cout: 8, k: 3, stride: 1 },
  { n: 2, h: 9, w: 11, cin: 12, cout: 16, k: 3, stride: 1 },
  { n: 3, h: 13, w: 13, cin: 64, cout: 24, k: 1, stride: 2 },
  { n: 1, h: 6, w: 6, cin: 8, cout: 8, k: 1, stride: 1 },
  { n: 2, h: 5, w: 9, cin: 16, cout: 32, k: 3, stride: 2 },
  { n: 1, h: 1, w: 1, cin: 4, cout: 8, k: 3, stride: 1 },
];

for (const fma of [true, false]) {
  Deno.test(`fastConv2d() (${fma ? "FMA" : "mul+add"} build) equals tfjs's conv2d + bias + residual + ReLU`, () => {
    const before = tf.memory().numTensors;
    for (const [i, c] of CASES.entries()) {
      for (const withResidual of [false, true]) {
        for (const relu of [false, true]) {
          tf.tidy(() => {
            const x = tf.randomUniform([c.n, c.h, c.w, c.cin], -2, 2, "float32", i + 1) as tf.Tensor4D;
            const filter = tf.randomUniform(
              [c.k, c.k, c.cin, c.cout],
              -1,
              1,
              "float32",
              i + 7,
            ) as tf.Tensor4D;
            const bias = tf.randomUniform([c.cout], -1, 1, "float32", i + 13) as tf.Tensor1D;
            const oh = Math.floor((c.h - 1) / c.stride) + 1, ow = Math.floor((c.w - 1) / c.stride) + 1;
            const residual = withResidual
              ? tf.randomUniform([c.n, oh, ow, c.cout], -3, 3, "float32", i + 19) as tf.Tensor4D
              : undefined;
            const packed = tf.tensor1d(
              packFilter(filter.dataSync() as Float32Array, [c.k, c.k, c.cin, c.cout]),
            );
            const got = fastConv2d({
              x,
              filter: packed,
              bias,
              kernelSize: c.k,
              stride: c.stride,
              pad: (c.k - 1) / 2,
              outChannels: c.cout,
              relu,
              fma,
              ...(residual ? { residual } : {}),
            });
            const want = reference(x, filter, bias, c.stride, relu, residual);
            assertEquals(got.shape, want.shape);
            const err = relativeError(got, want);
            assert(err < 1e-5, `case ${i} residual=${withResidual} relu=${relu}: relative error ${err}`);
            if (relu) assert(tf.min(got).dataSync()[0]! >= 0, "ReLU left a negative value");
          });
        }
      }
    }
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("fastConv2d() with Winograd F(2×2, 3×3) equals tfjs's 3×3 conv2d + bias + ReLU, odd sides included", () => {
  const before = tf.memory().numTensors;
  const cases = [
    { n: 1, h: 7, w: 7, cin: 4, cout: 8 }, // 7 × 7: the last tile row and column are half outside
    { n: 2, h: 6, w: 9, cin: 16, cout: 16 },
    { n: 3, h: 1, w: 2, cin: 8, cout: 24 },
    { n: 1, h: 14, w: 14, cin: 64, cout: 64 },
  ];
  for (const [i, c] of cases.entries()) {
    for (const relu of [false, true]) {
      for (const fma of [true, false]) {
        tf.tidy(() => {
          const x = tf.randomUniform([c.n, c.h, c.w, c.cin], -2, 2, "float32", i + 31) as tf.Tensor4D;
          const filter = tf.randomUniform([3, 3, c.cin, c.cout], -1, 1, "float32", i + 37) as tf.Tensor4D;
          const bias = tf.randomUniform([c.cout], -1, 1, "float32", i + 41) as tf.Tensor1D;
          const packed = tf.tensor1d(packWinogradFilter(filter.dataSync() as Float32Array, c.cin, c.cout));
          const got = fastConv2d({
            x,
            filter: packed,
            bias,
            kernelSize: 3,
            stride: 1,
            pad: 1,
            outChannels: c.cout,
            relu,
            fma,
            winograd: true,
          });
          const want = reference(x, filter, bias, 1, relu);
          assertEquals(got.shape, want.shape);
          const err = relativeError(got, want);
          assert(err < 1e-5, `case ${i} relu=${relu} fma=${fma}: relative error ${err}`);
        });
      }
    }
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("fastConv2d() frees its scratch: 300 calls do not grow the WASM heap", () => {
  const x = tf.randomUniform([2, 14, 14, 64], -1, 1) as tf.Tensor4D;
  const packed = tf.tensor1d(packFilter(new Float32Array(9 * 64 * 64).fill(0.01), [3, 3, 64, 64]));
  const bias = tf.zeros([64]) as tf.Tensor1D;
  const call = () =>
    fastConv2d({ x, filter: packed, bias, kernelSize: 3, stride: 1, pad: 1, outChannels: 64, relu: true })
      .dispose();
  for (let i = 0; i < 20; i++) call();
  // deno-lint-ignore no-explicit-any
  const memory = (tf.backend() as any).wasm.asm.memory as WebAssembly.Memory;
  const heap = memory.buffer.byteLength;
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 300; i++) call();
  assertEquals(memory.buffer.byteLength, heap);
  assertEquals(tf.memory().numTensors, tensors);
  tf.dispose([x, packed, bias]);
});

Deno.test("fastConv2d() keeps each layout's row pointers between calls: right after evictions, at new addresses, and bounded", () => {
  const filter = tf.randomUniform([3, 3, 16, 8], -1, 1, "float32", 5) as tf.Tensor4D;
  const packed = tf.tensor1d(packFilter(filter.dataSync() as Float32Array, [3, 3, 16, 8]));
  const bias = tf.randomUniform([8], -1, 1, "float32", 6) as tf.Tensor1D;
  const check = (w: number, seed: number) =>
    tf.tidy(() => {
      const x = tf.randomUniform([1, 3, w, 16], -2, 2, "float32", seed) as tf.Tensor4D;
      const got = fastConv2d({
        x,
        filter: packed,
        bias,
        kernelSize: 3,
        stride: 1,
        pad: 1,
        outChannels: 8,
        relu: false,
      });
      const err = relativeError(got, reference(x, filter, bias, 1, false));
      assert(err < 1e-5, `width ${w}: relative error ${err}`);
    });
  // More layouts than are kept: the first ones are evicted, then made again.
  for (let w = 1; w <= 200; w++) check(w, w);
  for (let w = 1; w <= 5; w++) check(w, 1000 + w);
  // The same layout with its input at other addresses (other tensors held in between).
  const held: tf.Tensor[] = [];
  for (let i = 0; i < 5; i++) {
    held.push(tf.zeros([1 + i * 37]));
    check(9, 2000 + i);
  }
  tf.dispose(held);
  // Bounded: 200 more layouts of 24 rows (about 17 MB of pointers if all were kept) leave the heap as it
  // was after the first 200 of them.
  // deno-lint-ignore no-explicit-any
  const memory = (tf.backend() as any).wasm.asm.memory as WebAssembly.Memory;
  const run = (h: number, w: number) =>
    tf.tidy(() => {
      const x = tf.zeros([1, h, w, 16]) as tf.Tensor4D;
      fastConv2d({ x, filter: packed, bias, kernelSize: 3, stride: 1, pad: 1, outChannels: 8, relu: false });
    });
  for (let w = 1; w <= 200; w++) run(24, w);
  const heap = memory.buffer.byteLength;
  for (let w = 1; w <= 200; w++) run(25, w);
  assertEquals(memory.buffer.byteLength, heap);
  tf.dispose([filter, packed, bias]);
});

Deno.test("packFilter() puts each 8-channel panel's taps and input channels in a row", () => {
  // [1, 1, 2, 16]: value = cin·100 + cout
  const filter = Float32Array.from({ length: 32 }, (_, i) => Math.floor(i / 16) * 100 + (i % 16));
  const packed = packFilter(filter, [1, 1, 2, 16]);
  assertEquals(Array.from(packed.slice(0, 8)), [0, 1, 2, 3, 4, 5, 6, 7]); // panel 0, cin 0
  assertEquals(Array.from(packed.slice(8, 16)), [100, 101, 102, 103, 104, 105, 106, 107]); // panel 0, cin 1
  assertEquals(Array.from(packed.slice(16, 24)), [8, 9, 10, 11, 12, 13, 14, 15]); // panel 1, cin 0
});

Deno.test("fastConvFits() takes the trunk's inner convolutions and refuses its 3-channel stem", () => {
  assert(fastConvFits(64, 256));
  assert(!fastConvFits(3, 64));
  assert(!fastConvFits(64, 12));
});

Deno.test("the kernel module validates, and Deno 2.9's V8 runs its relaxed-SIMD (FMA) build", () => {
  assert(WebAssembly.validate(convModuleBytes({ fma: false }) as Uint8Array<ArrayBuffer>));
  assertEquals(hasRelaxedSimd(), true);
  assertEquals(fastConvUsesFma(), true);
});

/** 7-bit values of `x` as the int8 path makes them: clamp(round-half-even(x · inv[c]), 0, 127). */
function quantizeInJs(x: Float32Array, inv: Float32Array): Uint8Array {
  const c = inv.length;
  return Uint8Array.from(x, (v, i) => {
    const r = Math.fround(v * inv[i % c]!);
    const f = Math.floor(r), d = r - f;
    const even = d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; // round half to even, as f32x4.nearest
    return Math.max(0, Math.min(127, even));
  });
}

Deno.test("quantizeActivations() packs round(x / scale), clamped to 0…127, four channels to an int32", () => {
  const before = tf.memory().numTensors;
  const [n, h, w, c] = [2, 3, 5, 32];
  const values = tf.tidy(() =>
    tf.randomUniform([n, h, w, c], -1, 6, "float32", 5).dataSync() as Float32Array
  );
  values[0] = 2.5; // exactly half a step at scale 1 (channel 0): rounds to even
  const scale = Float32Array.from({ length: c }, (_, i) => i === 0 ? 1 : 0.02 + i * 0.003);
  const inv = scale.map((s) => 1 / s);
  tf.tidy(() => {
    const q = quantizeActivations(tf.tensor4d(values, [n, h, w, c]), tf.tensor1d(inv));
    assertEquals(q.shape, [n, h, w, c / 4]);
    assertEquals(q.dtype, "int32");
    const got = new Uint8Array((q.dataSync() as Int32Array).slice().buffer);
    const want = quantizeInJs(values, inv);
    assertEquals(got[0], 2);
    assertEquals(Array.from(got), Array.from(want));
  });
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("fastConv2dInt8() is exactly scale · Σ qw·qa + bias (+ residual, ReLU), close to the float32 convolution, and quantizes for the next one as quantizeActivations does", () => {
  const before = tf.memory().numTensors;
  const cases = [
    { n: 1, h: 7, w: 5, cin: 16, cout: 8, k: 3, stride: 1 },
    { n: 2, h: 9, w: 11, cin: 32, cout: 16, k: 1, stride: 2 },
    { n: 3, h: 6, w: 6, cin: 64, cout: 24, k: 3, stride: 1 },
    { n: 1, h: 13, w: 13, cin: 48, cout: 32, k: 1, stride: 1 },
  ];
  for (const [i, c] of cases.entries()) {
    for (const [withResidual, relu] of [[false, true], [true, true], [true, false]] as const) {
      tf.tidy(() => {
        const x = tf.relu(tf.randomNormal([c.n, c.h, c.w, c.cin], 0, 1, "float32", i + 3)) as tf.Tensor4D;
        const filter = tf.randomNormal([c.k, c.k, c.cin, c.cout], 0, 0.1, "float32", i + 5) as tf.Tensor4D;
        const bias = tf.randomUniform([c.cout], -0.5, 0.5, "float32", i + 7) as tf.Tensor1D;
        const pad = (c.k - 1) / 2;
        const oh = Math.floor((c.h + 2 * pad - c.k) / c.stride) + 1;
        const ow = Math.floor((c.w + 2 * pad - c.k) / c.stride) + 1;
        const residual = withResidual
          ? tf.randomUniform([c.n, oh, ow, c.cout], -1, 1, "float32", i + 9) as tf.Tensor4D
          : undefined;
        const actScale = Float32Array.from({ length: c.cin }, (_, j) => (3 + (j % 5) * 0.4) / 127);
        const q = packFilterInt8(filter.dataSync() as Float32Array, [c.k, c.k, c.cin, c.cout], actScale);
        const inv = actScale.map((s) => 1 / s);
        const args = {
          filter: tf.tensor1d(q.words, "int32"),
          scale: tf.tensor1d(q.scale),
          bias,
          kernelSize: c.k,
          stride: c.stride,
          pad,
          outChannels: c.cout,
          relu,
          ...(residual ? { residual } : {}),
        };
        const got = fastConv2dInt8({ ...args, x: quantizeActivations(x, tf.tensor1d(inv)) });
        // The exact integer result, rebuilt in JS from the same bytes: the kernel's sums are exact in int32.
        const qa = quantizeInJs(x.dataSync() as Float32Array, inv);
        const bytes = new Int8Array(q.words.buffer);
        const taps = c.k * c.k;
        const weight = (t: number, ci: number, o: number) =>
          bytes[((((o >> 3) * taps + t) * (c.cin / 4) + (ci >> 2)) * 8 + (o & 7)) * 4 + (ci & 3)]!;
        const b = bias.dataSync(), res = residual?.dataSync();
        const want = new Float32Array(c.n * oh * ow * c.cout);
        for (let img = 0; img < c.n; img++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              for (let o = 0; o < c.cout; o++) {
                let sum = 0;
                for (let ky = 0; ky < c.k; ky++) {
                  for (let kx = 0; kx < c.k; kx++) {
                    const iy = oy * c.stride - pad + ky, ix = ox * c.stride - pad + kx;
                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                    const base = ((img * c.h + iy) * c.w + ix) * c.cin;
                    for (let ci = 0; ci < c.cin; ci++) sum += weight(ky * c.k + kx, ci, o) * qa[base + ci]!;
                  }
                }
                const at = ((img * oh + oy) * ow + ox) * c.cout + o;
                let v = Math.fround(Math.fround(sum * q.scale[o]!) + b[o]!);
                if (res) v = Math.fround(v + res[at]!);
                want[at] = relu ? Math.max(0, v) : v;
              }
            }
          }
        }
        const exact = relativeError(got, tf.tensor(want, got.shape));
        assert(exact < 1e-6, `case ${i}: ${exact} from the integer result`);
        const close = relativeError(got, reference(x, filter, bias, c.stride, relu, residual));
        assert(close < 0.05, `case ${i}: ${close} from the float32 convolution`);

        // Quantized in the epilogue for a next convolution: quantizeActivations' bytes, float32 kept or not.
        if (c.cout % 16 === 0) {
          const nextInverse = tf.tensor1d(Float32Array.from({ length: c.cout }, (_, j) => 20 + (j % 7) * 9));
          const separate = quantizeActivations(got, nextInverse).dataSync();
          for (const keepFloat of [true, false]) {
            const fused = fastConv2dInt8Quantized({
              ...args,
              x: quantizeActivations(x, tf.tensor1d(inv)),
              nextInverseScale: nextInverse,
              keepFloat,
            });
            assertEquals(fused.quantized.shape, [c.n, oh, ow, c.cout / 4]);
            assertEquals(Array.from(fused.quantized.dataSync()), Array.from(separate), `case ${i}`);
            if (keepFloat) assertEquals(Array.from(fused.float!.dataSync()), Array.from(got.dataSync()));
            else assertEquals(fused.float, undefined);
          }
        }
      });
    }
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("int8ConvFits() takes 16-channel multiples in, 8 out", () => {
  assert(int8ConvFits(64, 256));
  assert(!int8ConvFits(8, 64));
  assert(!int8ConvFits(64, 12));
});

Deno.test("the stem as a 4×4 convolution of stemInput()'s 2×2 blocks of the padded input equals the 7×7 stride-2 one, filter rows as single taps too", () => {
  const before = tf.memory().numTensors;
  const rng = createRng(21);
  const cout = 16;
  const filter = Float32Array.from({ length: 7 * 7 * 3 * cout }, () => rng.uniform(-0.1, 0.1));
  const bias = Float32Array.from({ length: cout }, () => rng.uniform(-1, 1));
  registerFastConv();
  registerStemInput();
  for (const [n, side] of [[1, 32], [2, 24]] as const) {
    const x = tf.tensor4d(Float32Array.from({ length: n * side * side * 3 }, () => rng.uniform(-120, 120)), [
      n,
      side,
      side,
      3,
    ]);
    const [want, got, byRows] = tf.tidy(() => {
      const b = tf.tensor1d(bias);
      const padded = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]);
      const want = tf.relu(tf.add(tf.conv2d(padded, tf.tensor4d(filter, [7, 7, 3, cout]), 2, "valid"), b));
      const blocks = stemInput(x);
      assertEquals(blocks.shape, [n, side / 2 + 3, side / 2 + 3, 12]);
      // Block (by, bx) holds padded pixels (2by + dy, 2bx + dx) at channels (dy·2 + dx)·3 + c.
      const p = padded.arraySync(), q = blocks.arraySync();
      for (
        const [img, by, bx, dy, dx, c] of [[0, 0, 0, 1, 1, 2], [n - 1, 4, 7, 1, 0, 1], [0, 10, 3, 0, 1, 0]]
      ) {
        assertEquals(
          q[img!]![by!]![bx!]![(dy! * 2 + dx!) * 3 + c!],
          p[img!]![2 * by! + dy!]![2 * bx! + dx!]![c!],
        );
      }
      const args = {
        x: blocks,
        filter: tf.tensor1d(packFilter(spaceToDepthStemFilter(filter, cout), [4, 4, 12, cout])),
        bias: b,
        kernelSize: 4,
        stride: 1,
        pad: 0,
        outChannels: cout,
        relu: true,
      };
      // As the trunk runs it: each filter row one tap of 4 blocks × 12 channels (the same products, in order).
      const byRows = fastConv2d({ ...args, rowWindow: true });
      return [want.dataSync(), fastConv2d(args).dataSync(), byRows.dataSync()];
    });
    assertEquals(Array.from(byRows!), Array.from(got!), `[${n}, ${side}]: the row window changed a sum`);
    assertThrows(
      () =>
        tf.tidy(() =>
          fastConv2d({
            x,
            filter: tf.zeros([3 * 3 * 4 * 8]),
            bias: tf.zeros([8]),
            kernelSize: 3,
            stride: 2,
            pad: 0,
            outChannels: 8,
            relu: false,
            rowWindow: true,
          })
        ),
      Error,
      "A row window takes stride 1 and no padding",
    );
    assertEquals(got!.length, want!.length);
    let worst = 0, scale = 0;
    for (let i = 0; i < want!.length; i++) {
      worst = Math.max(worst, Math.abs(got![i]! - want![i]!));
      scale = Math.max(scale, Math.abs(want![i]!));
    }
    assert(scale > 1 && worst <= 1e-5 * scale, `[${n}, ${side}]: off by ${worst} (scale ${scale})`);
    x.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
});

/**
 * packFilterInt8 as it was written in JavaScript before it moved to
 * WebAssembly (pack_int8.ts): the bytes and scales the int8 trunk was
 * calibrated and checked with, kept here as the reference.
 */
function packFilterInt8InJs(
  filter: Float32Array,
  shape: readonly [number, number, number, number],
  actScale: Float32Array,
): { words: Int32Array; scale: Float32Array } {
  const [kh, kw, cin, cout] = shape;
  const taps = kh * kw;
  const maxAbs = new Float64Array(cout);
  for (let tc = 0, i = 0; tc < taps * cin; tc++) {
    const a = actScale[tc % cin]!;
    for (let o = 0; o < cout; o++, i++) {
      const v = Math.abs(filter[i]! * a);
      if (v > maxAbs[o]!) maxAbs[o] = v;
    }
  }
  const scale = new Float32Array(cout);
  for (let o = 0; o < cout; o++) scale[o] = maxAbs[o]! > 0 ? maxAbs[o]! / 127 : 1;
  const bytes = new Int8Array(filter.length);
  const panelBytes = taps * cin * 8;
  for (let t = 0, i = 0; t < taps; t++) {
    for (let c = 0; c < cin; c++) {
      const a = actScale[c]!;
      const at = t * cin * 8 + (c >> 2) * 4 * 8 + (c & 3);
      for (let o = 0; o < cout; o++, i++) {
        const v = filter[i]! * a / scale[o]!;
        const p = (o / 8) | 0;
        bytes[p * panelBytes + at + (o - p * 8) * 4] = Math.max(-127, Math.min(127, Math.round(v)));
      }
    }
  }
  return { words: new Int32Array(bytes.buffer), scale };
}

Deno.test("packFilterInt8() in WebAssembly gives the JavaScript version's bytes and scales, ties, zeros and NaNs included", () => {
  const rng = createRng(11);
  const shapes: [number, number, number, number][] = [
    [1, 1, 64, 256],
    [3, 3, 128, 128],
    [1, 1, 1024, 2048],
    [3, 3, 4, 8],
    [1, 1, 16, 8],
  ];
  for (const shape of shapes) {
    const [, , cin, cout] = shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const filter = Float32Array.from({ length: n }, () => rng.uniform(-1, 1) ** 3 * 0.2);
    const actScale = Float32Array.from({ length: cin }, () => rng.uniform(0.001, 0.1));
    // Output channel 0 all zeros (scale 1), a NaN and an infinity, and exact halves: in output
    // channel 3, whose largest weight is 127 with a = 1 (so its scale is 1), weights k + 0.5 with a = 1.
    for (let i = 0; i < n; i += cout) filter[i] = 0;
    filter[1] = NaN;
    filter[cout + 2] = Infinity;
    actScale[0] = 1;
    filter[3] = 127;
    for (let k = 0; k < 8; k++) {
      actScale[(4 + k) % cin] = 1;
      filter[(4 + k) * cout + 3] = k - 3.5;
    }
    const ours = packFilterInt8(filter, shape, actScale);
    const theirs = packFilterInt8InJs(filter, shape, actScale);
    assertEquals(ours.scale, theirs.scale, `${shape}: scales`);
    assert(ours.words.every((w, i) => w === theirs.words[i]), `${shape}: bytes`);
    assertEquals(ours.words.length, theirs.words.length);
  }
  assertThrows(
    () => packFilterInt8(new Float32Array(8), [1, 1, 2, 4], new Float32Array(2)),
    Error,
    "packFilterInt8",
  );
});
