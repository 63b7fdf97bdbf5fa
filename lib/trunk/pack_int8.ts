/**
 * An int8 filter's quantizing and packing, as one WebAssembly function on
 * tfjs-wasm's heap. It ran in JavaScript and took about half of a worker's
 * trunk build (a CPU profile: 540 of 1,030 ms for ResNet50's 23.5 M
 * weights: a float64 division, a rounding and a scattered byte store per
 * weight). This is the same arithmetic, weight for weight, in float64 lanes
 * two at a time (float64 where JavaScript computed in float64, float32 where
 * it stored into a `Float32Array`), writing a panel's 32 bytes per store, so
 * the bytes and scales are the same (tests/conv_kernel_test.ts checks them
 * against the JavaScript version): a 3×3 512→512 filter in about 16 ms
 * instead of 40–60.
 *
 * For each weight: v = w · a / s, where w is the folded float32 weight, a
 * its input channel's activation scale and s its output channel's scale (the
 * largest |w · a| of the channel / 127, stored as float32); the byte is
 * v rounded half up (as `Math.round`), clamped to ±127.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import type { WasmBackendLike } from "./conv_kernel.ts";
import { PANEL } from "./conv_wasm.ts";
import { Body, functionOn, I32, indices, OP, SIMD, V128 } from "../util/wasm_builder.ts";

/** A filter quantized for the int8 convolution (`fastConv2dInt8`). */
export interface Int8Filter {
  /** `[cout/8][taps][cin/4][8][4]` int8 values, 4 to an int32 word. */
  words: Int32Array;
  /** `[cout]`: what one unit of Σ weight · activation is worth in float32. */
  scale: Float32Array;
}

/** Parameters of the module's `pack` function: byte offsets, then sizes. */
const PACK_PARAMS = ["filter", "act", "scale", "maxAbs", "out", "taps", "cin", "cout", "panelBytes"] as const;

/** Scalar opcodes this module needs beyond the shared ones. */
const F = {
  f32Load: 0x2a,
  f64Load: 0x2b,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Eq: 0x46,
  f64Gt: 0x64,
  f64Div: 0xa3,
  f32DemoteF64: 0xb6,
  f64PromoteF32: 0xbb,
  select: 0x1b,
  f32Const: 0x43,
  f64Const: 0x44,
} as const;
/** SIMD opcodes (after 0xfd) this module needs beyond the shared ones. */
const S = {
  shuffle: 0x0d,
  f64x2Splat: 0x14,
  f64x2Ge: 0x4c,
  bitselect: 0x52,
  f64x2PromoteLowF32x4: 0x5f,
  i8x16NarrowI16x8S: 0x65,
  f64x2Floor: 0x75,
  f64x2Abs: 0xec,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2Min: 0xf4,
  f64x2Max: 0xf5,
  f64x2Pmax: 0xf7,
  i32x4TruncSatF64x2SZero: 0xfc,
} as const;
/** Value types f32 and f64. */
const F32 = 0x7d, F64 = 0x7c;

/** The little-endian bytes of a float64 or float32 constant (`count` of them: a v128 for 2 float64). */
function constBytes(value: number, bytes: 4 | 8, count = 1): number[] {
  const a = bytes === 8 ? new Float64Array(count).fill(value) : new Float32Array(count).fill(value);
  return [...new Uint8Array(a.buffer)];
}

/** Lanes of `i8x16.shuffle`: `pick(i)` for i = 0…15. */
const lanes = (pick: (i: number) => number) => Array.from({ length: 16 }, (_, i) => pick(i));
/** A vector's upper 8 bytes moved to its lower half. */
const HIGH_HALF = lanes((i) => 8 + (i & 7));
/** The lower 8 bytes of two vectors, one after the other. */
const LOW_HALVES = lanes((i) => (i < 8 ? i : 8 + i));
/** The first 8 bytes of two vectors, interleaved: a0 b0 a1 b1 … */
const ZIP_BYTES = lanes((i) => (i & 1 ? 16 : 0) + (i >> 1));
/** 2-byte pairs of two vectors interleaved, from pair `from`: a0a1 b0b1 a2a3 b2b3 … */
const zipPairs = (from: number) => lanes((i) => ((i >> 1) & 1 ? 16 : 0) + from * 2 + (i >> 2) * 2 + (i & 1));

/**
 * `pack(filter, act, scale, maxAbs, out, taps, cin, cout, panelBytes)`: the
 * two passes of the JavaScript version, float64 lanes two at a time: each
 * output channel's largest |w · a|, its scale (float32), then every weight's
 * byte, 4 input channels × 8 outputs (one panel's 32 bytes) at a time.
 */
function packBody(): Body {
  const P = indices(PACK_PARAMS);
  const f = new Body(PACK_PARAMS.length);
  const i = f.local(I32), end = f.local(I32), c = f.local(I32), o = f.local(I32), t = f.local(I32);
  const mp = f.local(I32), mEnd = f.local(I32), panel = f.local(I32), panels = f.local(I32);
  const dst = f.local(I32), sp = f.local(I32), stride = f.local(I32);
  const rows = Array.from({ length: 4 }, () => f.local(I32));
  const m = f.local(F64), sF = f.local(F32);
  const av = f.local(V128), x = f.local(V128), l = f.local(V128), v = f.local(V128), fl = f.local(V128);
  const half = f.local(V128), one = f.local(V128), hi = f.local(V128), lo = f.local(V128);
  const acts = Array.from({ length: 4 }, () => f.local(V128));
  const scales = Array.from({ length: 4 }, () => f.local(V128));
  const q = Array.from({ length: 4 }, () => f.local(V128));
  const bytes = Array.from({ length: 4 }, () => f.local(V128));
  const f64x2 = (value: number) => f.simd(SIMD.const, ...constBytes(value, 8, 2));
  /** `x += step` for an i32 local. */
  const bump = (x: number, step: number) => f.get(x).i32(step).op(OP.i32Add).set(x);
  /** The float32 act[index] as a float64x2 splat. */
  const actSplat = (index: () => void) => {
    f.get(P.act);
    index();
    f.i32(2).op(OP.i32Shl).op(OP.i32Add).op(F.f32Load, 2, 0).op(F.f64PromoteF32).simd(S.f64x2Splat);
  };
  f64x2(0.5).set(half);
  f64x2(1).set(one);
  f64x2(127).set(hi);
  f64x2(-127).set(lo);
  // mEnd = maxAbs + cout · 8; maxAbs[*] = 0
  f.get(P.maxAbs).get(P.cout).i32(3).op(OP.i32Shl).op(OP.i32Add).set(mEnd);
  f.get(P.maxAbs).set(mp);
  f.doWhile(() => {
    f.get(mp).simd(SIMD.const, ...new Array(16).fill(0)).mem(SIMD.store, 0);
  }, () => f.stepLess(mp, 16, mEnd));
  // Pass 1, in the filter's order: maxAbs[o] = pmax(maxAbs[o], |w · a[c]|) (a NaN product leaves it).
  f.get(P.filter).set(i);
  f.get(P.taps).get(P.cin).op(OP.i32Mul).get(P.cout).op(OP.i32Mul).i32(2).op(OP.i32Shl).get(P.filter).op(
    OP.i32Add,
  )
    .set(end);
  f.i32(0).set(c);
  f.doWhile(() => {
    actSplat(() => f.get(c));
    f.set(av);
    f.get(P.maxAbs).set(mp);
    f.doWhile(() => {
      f.get(i).mem(SIMD.load, 0).set(l);
      for (const h of [0, 1]) {
        f.get(mp);
        f.get(mp).mem(SIMD.load, h * 16);
        f.get(l);
        if (h) f.get(l).simd(S.shuffle, ...HIGH_HALF);
        f.simd(S.f64x2PromoteLowF32x4).get(av).simd(S.f64x2Mul).simd(S.f64x2Abs);
        f.simd(S.f64x2Pmax).mem(SIMD.store, h * 16);
      }
      bump(i, 16);
    }, () => f.stepLess(mp, 32, mEnd));
    // c = (c + 1) % cin
    bump(c, 1);
    f.when(() => f.get(c).get(P.cin).op(F.i32Eq), () => f.i32(0).set(c));
  }, () => f.get(i).get(end).op(OP.i32LtU));
  // scale[o] = maxAbs[o] > 0 ? float32(maxAbs[o] / 127) : 1, and maxAbs[o] = that scale as float64.
  f.i32(0).set(o);
  f.doWhile(() => {
    f.get(P.maxAbs).get(o).i32(3).op(OP.i32Shl).op(OP.i32Add).op(F.f64Load, 3, 0).set(m);
    f.get(m).op(F.f64Const, ...constBytes(127, 8)).op(F.f64Div).op(F.f32DemoteF64).op(
      F.f32Const,
      ...constBytes(1, 4),
    );
    f.get(m).op(F.f64Const, ...constBytes(0, 8)).op(F.f64Gt).op(F.select).set(sF);
    f.get(P.scale).get(o).i32(2).op(OP.i32Shl).op(OP.i32Add).get(sF).op(F.f32Store, 2, 0);
    f.get(P.maxAbs).get(o).i32(3).op(OP.i32Shl).op(OP.i32Add).get(sF).op(F.f64PromoteF32).op(
      F.f64Store,
      3,
      0,
    );
  }, () => f.stepLess(o, 1, P.cout));
  // Pass 2: for each tap and group of 4 input channels, every panel's 32 bytes (8 outputs × 4 channels).
  f.get(P.cout).i32(2).op(OP.i32Shl).set(stride);
  f.get(P.cout).i32(3).op(OP.i32ShrU).set(panels);
  f.i32(0).set(t);
  f.doWhile(() => {
    f.i32(0).set(c);
    f.doWhile(() => {
      // rows[u] = filter + ((t · cin + c + u) · cout) · 4; acts[u] = a[c + u]
      f.get(t).get(P.cin).op(OP.i32Mul).get(c).op(OP.i32Add).get(stride).op(OP.i32Mul).get(P.filter).op(
        OP.i32Add,
      )
        .set(rows[0]!);
      for (let u = 1; u < 4; u++) f.get(rows[u - 1]!).get(stride).op(OP.i32Add).set(rows[u]!);
      for (let u = 0; u < 4; u++) {
        actSplat(() => f.get(c).i32(u).op(OP.i32Add));
        f.set(acts[u]!);
      }
      // dst = out + (t · cin + c) · 8: this group's 32 bytes in panel 0
      f.get(t).get(P.cin).op(OP.i32Mul).get(c).op(OP.i32Add).i32(3).op(OP.i32Shl).get(P.out).op(OP.i32Add)
        .set(dst);
      f.get(P.maxAbs).set(sp);
      f.i32(0).set(panel);
      f.doWhile(() => {
        for (let k = 0; k < 4; k++) f.get(sp).mem(SIMD.load, k * 16).set(scales[k]!);
        for (let u = 0; u < 4; u++) {
          for (let k = 0; k < 4; k++) {
            // v = w · a / s, two outputs at a time
            f.get(rows[u]!).mem(SIMD.load, (k >> 1) * 16);
            if (k & 1) f.set(l).get(l).get(l).simd(S.shuffle, ...HIGH_HALF);
            f.simd(S.f64x2PromoteLowF32x4).get(acts[u]!).simd(S.f64x2Mul).get(scales[k]!).simd(S.f64x2Div)
              .set(v);
            // Math.round: floor(v) + (v − floor(v) ≥ 0.5); then clamped to ±127 (a NaN stays NaN, then 0)
            f.get(v).simd(S.f64x2Floor).set(fl);
            f.get(fl).get(one).simd(S.f64x2Add).get(fl);
            f.get(v).get(fl).simd(S.f64x2Sub).get(half).simd(S.f64x2Ge).simd(S.bitselect);
            f.get(hi).simd(S.f64x2Min).get(lo).simd(S.f64x2Max).simd(S.i32x4TruncSatF64x2SZero).set(q[k]!);
          }
          // 8 int32 → 8 bytes (in range, so the narrowing is exact)
          f.get(q[0]!).get(q[1]!).simd(S.shuffle, ...LOW_HALVES);
          f.get(q[2]!).get(q[3]!).simd(S.shuffle, ...LOW_HALVES);
          f.simd(SIMD.i16x8NarrowI32x4S).set(x);
          f.get(x).get(x).simd(S.i8x16NarrowI16x8S).set(bytes[u]!);
        }
        // out[j · 4 + u] = bytes[u][j]
        f.get(bytes[0]!).get(bytes[1]!).simd(S.shuffle, ...ZIP_BYTES).set(x);
        f.get(bytes[2]!).get(bytes[3]!).simd(S.shuffle, ...ZIP_BYTES).set(l);
        f.get(dst).get(x).get(l).simd(S.shuffle, ...zipPairs(0)).mem(SIMD.store, 0);
        f.get(dst).get(x).get(l).simd(S.shuffle, ...zipPairs(4)).mem(SIMD.store, 16);
        for (let u = 0; u < 4; u++) bump(rows[u]!, 32);
        bump(sp, 64);
        f.get(dst).get(P.panelBytes).op(OP.i32Add).set(dst);
      }, () => f.stepLess(panel, 1, panels));
    }, () => f.stepLess(c, 4, P.cin));
  }, () => f.stepLess(t, 1, P.taps));
  return f;
}

/** The `pack` function instantiated on `memory` (once per tfjs-wasm heap). */
function packOn(memory: WebAssembly.Memory): (...args: number[]) => void {
  return functionOn(memory, "", "pack", PACK_PARAMS.length, packBody);
}

/**
 * Quantizes a `[k, k, cin, cout]` filter for activations quantized with
 * `actScale` (one per input channel): each input channel's weights are first
 * multiplied by its activation scale, then each output channel gets the
 * symmetric 8-bit scale of its largest weight (per-channel, round to nearest).
 * Runs on the `wasm` backend (the int8 trunk's), in a scratch block of its heap.
 * @param filter HWIO values (batch-norm folded).
 * @param shape `[k, k, cin, cout]`; cout a multiple of 8, cin of 4.
 * @param actScale `[cin]`: what one step of an input channel's 7-bit value is worth.
 * @returns The packed words and per-output-channel scales.
 */
export function packFilterInt8(
  filter: Float32Array,
  shape: readonly [number, number, number, number],
  actScale: Float32Array,
): Int8Filter {
  const [kh, kw, cin, cout] = shape;
  const taps = kh * kw;
  const n = taps * cin * cout;
  if (filter.length !== n || actScale.length !== cin || cout % PANEL !== 0 || cin % 4 !== 0 || n === 0) {
    throw new Error(
      `packFilterInt8: a [${shape}] filter of ${filter.length} values, ${actScale.length} scales`,
    );
  }
  if (tf.getBackend() !== "wasm") throw new Error("packFilterInt8 runs on the wasm backend");
  const be = tf.backend() as unknown as WasmBackendLike;
  // Scratch: filter (float32), act (float32), scale (float32), maxAbs (float64), bytes.
  const layout = { filter: 0, act: n * 4, scale: n * 4 + cin * 4 };
  const maxAbsAt = Math.ceil((layout.scale + cout * 4) / 8) * 8;
  const outAt = maxAbsAt + cout * 8;
  const base = be.wasm._malloc(outAt + n + 8) >>> 0;
  const start = Math.ceil(base / 8) * 8;
  try {
    const heap = be.wasm.asm.memory.buffer;
    new Float32Array(heap, start + layout.filter, n).set(filter);
    new Float32Array(heap, start + layout.act, cin).set(actScale);
    packOn(be.wasm.asm.memory)(
      start + layout.filter,
      start + layout.act,
      start + layout.scale,
      start + maxAbsAt,
      start + outAt,
      taps,
      cin,
      cout,
      taps * cin * PANEL,
    );
    const after = be.wasm.asm.memory.buffer;
    const bytes = new Uint8Array(after, start + outAt, n).slice();
    const scale = new Float32Array(after, start + layout.scale, cout).slice();
    return { words: new Int32Array(bytes.buffer), scale };
  } finally {
    be.wasm._free(base);
  }
}
