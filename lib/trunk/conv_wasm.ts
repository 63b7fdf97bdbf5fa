/**
 * The trunk's convolution kernel as WebAssembly bytes, written here
 * instruction by instruction (no toolchain needed).
 *
 * Why: tfjs-wasm 4.22 runs convolutions through an XNNPACK build without
 * relaxed SIMD, so every multiply-add is a `mul` then an `add`. This kernel
 * uses `f32x4.relaxed_madd` (one FMA instruction on x86-64 with FMA3) and a
 * 6 × 8 register tile; measured on a 2-core Xeon it does 1.26–1.78× the
 * multiply-adds per second of tfjs's own kernel (see `bench/README.md`).
 * Where relaxed SIMD is missing, the same kernel with `mul` + `add` is built.
 *
 * The kernel is an implicit GEMM over NHWC data:
 *
 *   out[q, o] = act(bias[o] + Σ_t Σ_c in(q, t)[c] · w[t, c, o] (+ residual[q, o]))
 *
 * where `q` runs over output pixels, `t` over the filter's taps, and
 * `in(q, t)` is the input pixel under tap `t` (a zero row outside the image).
 * The caller passes one pointer per (pixel, tap) in a table, so padding and
 * strides cost nothing in the inner loop. Weights are packed in panels of 8
 * output channels: `[cout/8][taps][cin][8]`.
 *
 * The module also exports `winogradIn` and `winogradOut`, the transforms of
 * Winograd F(2×2, 3×3): a 3×3 convolution then costs 16 of these GEMMs with
 * one tap each on 4×-smaller pixel counts, 2.25× fewer multiplies in all.
 *
 * Loop order: blocks of pixel groups (a block's input rows stay in L2) →
 * panels of 8 channels (one panel's weights stay in L1/L2) → groups of
 * {@linkcode ROWS} pixels (the 6 × 8 tile in 12 registers) → taps → input
 * channels, unrolled by 4.
 * @module
 */

import { assemble, Body, I32, indices, OP, SIMD, uleb, V128 } from "../util/wasm_builder.ts";

/** Output pixels per register tile. */
export const ROWS = 6;
/** Output channels per register tile (two `f32x4`). */
export const PANEL = 8;
/** Input channels are consumed 4 at a time: `cin` must be a multiple of this. */
export const CIN_STEP = 4;

/**
 * Parameters of `conv`, in order (every function's parameters are i32;
 * pointers are byte offsets into the shared memory).
 */
export const CONV_PARAMS = [
  "filter", // packed weights
  "bias", // [cout]
  "out", // [pixels, cout]
  "residual", // [pixels, cout], or 0 for none
  "table", // [⌈pixels/ROWS⌉, taps, ROWS] input row pointers
  "pixels", // output pixels (N·OH·OW)
  "cin",
  "cout",
  "taps", // kh·kw
  "relu", // 1: max(0, ·) after the residual
  "blockGroups", // groups of ROWS pixels per cache block
] as const;

/**
 * Parameters of `winogradIn`: the Winograd F(2×2, 3×3) input transform
 * V = Bᵀ d B of every 4×4 input tile, 4 channels at a time.
 */
export const WINOGRAD_IN_PARAMS = [
  "table", // [tiles, 16] pointers to the tile's input rows (a zero row outside the image)
  "v", // out: [16, tiles, cin]
  "tiles",
  "cin",
] as const;

/**
 * Parameters of `winogradOut`: the output transform Y = Aᵀ M A of every tile
 * (2×2 output pixels), + bias, then ReLU when asked.
 */
export const WINOGRAD_OUT_PARAMS = [
  "m", // [16, tiles, cout]: the 16 products V[ξ]·U[ξ]
  "table", // [tiles, 4] pointers to the tile's output rows, 0 for a pixel past the edge
  "tiles",
  "cout",
  "bias", // [cout]
  "relu",
] as const;

/**
 * Parameters of `convI8`: the same implicit GEMM on 7-bit activations and
 * 8-bit weights (`i32x4.relaxed_dot_i8x16_i7x16_add_s`, 16 multiply-adds per
 * instruction), then y = act(scale[o] · Σ + bias[o] (+ residual)) in float32.
 * Weights are packed `[cout/8][taps][cin/4][8][4]` (int8), input rows are
 * `cin` bytes (0…127) made by `quantize`. y is stored as float32 to `out`,
 * and / or quantized for the next convolution to `outQ` exactly as
 * `quantize` would (min(127, max(0, round(y · outInv[o])))), which saves
 * that pass and the float32 tensor between two int8 convolutions.
 */
export const CONV_I8_PARAMS = [
  "filter", // packed int8 weights
  "scale", // [cout] float32: weight scale · activation scale
  "bias", // [cout]
  "out", // [pixels, cout] float32, or 0 for none
  "residual", // [pixels, cout], or 0 for none
  "table", // [⌈pixels/ROWS⌉, taps, ROWS] input row pointers (byte rows)
  "pixels",
  "cin", // a multiple of I8_CIN_STEP
  "cout",
  "taps",
  "relu",
  "blockGroups",
  "outQ", // [pixels, cout] bytes (0…127) for the next int8 convolution, or 0 for none
  "outInv", // [cout] float32: 1 / the next convolution's activation scale (with outQ)
] as const;

/** Input channels `convI8` consumes per unrolled step: `cin` must be a multiple of this. */
export const I8_CIN_STEP = 16;

/**
 * Parameters of `quantize`: q = min(127, max(0, round(x · inv[c]))) for
 * every value of a `[pixels, cin]` float32 tensor, one byte each.
 */
export const QUANTIZE_PARAMS = [
  "src", // [pixels, cin] float32
  "dst", // [pixels, cin] bytes
  "pixels",
  "cin", // a multiple of 16
  "inv", // [cin] float32: 1 / the channel's activation scale
] as const;

/** Options for {@linkcode convModuleBytes}. */
export interface ConvModuleOptions {
  /** Use `f32x4.relaxed_madd` (needs relaxed SIMD); otherwise `mul` + `add`. @default true */
  fma?: boolean;
}

/**
 * Builds the module: it imports `env.memory` (the tfjs-wasm heap) and exports
 * `conv(...CONV_PARAMS)`.
 * @param options FMA or not.
 * @returns The module's bytes.
 */
export function convModuleBytes(options: ConvModuleOptions = {}): Uint8Array {
  const fma = options.fma ?? true;
  return assemble([
    { name: "conv", params: CONV_PARAMS.length, body: convBody(fma ? "fma" : "mul-add") },
    { name: "winogradIn", params: WINOGRAD_IN_PARAMS.length, body: winogradInBody() },
    { name: "winogradOut", params: WINOGRAD_OUT_PARAMS.length, body: winogradOutBody() },
    // The int8 functions need relaxed SIMD's dot product: only in the relaxed build.
    ...(fma
      ? [
        { name: "convI8", params: CONV_I8_PARAMS.length, body: convBody("int8") },
        { name: "quantize", params: QUANTIZE_PARAMS.length, body: quantizeBody() },
      ]
      : []),
  ]);
}

/** Which multiply-add a GEMM body uses: float32 FMA, float32 `mul` + `add`, or int8 dot products. */
type GemmKind = "fma" | "mul-add" | "int8";

/**
 * The `conv` function (the implicit GEMM described in the module doc), and
 * `convI8`, the same loops over int8 data: there a step takes 4 input
 * channels of a pixel (one i32, splatted) against a panel's 8 × 4 weights (two
 * v128), so a tile's 12 dot instructions do 192 multiply-adds. Both read 16
 * bytes of each input row and 128 bytes of weights per unrolled step, so the
 * addressing is the same; the sums start at the bias (float32) or at 0 and are
 * scaled to float32 with the bias added last (int8).
 */
function convBody(kind: GemmKind): Body {
  const int8 = kind === "int8";
  const names: readonly string[] = int8 ? CONV_I8_PARAMS : CONV_PARAMS;
  // Parameter indices by name (`scale` exists in the int8 list only).
  const P = Object.fromEntries(names.map((n, i) => [n, i])) as Record<
    (typeof CONV_I8_PARAMS)[number],
    number
  >;
  const f = new Body(names.length);
  const panel = f.local(I32),
    group = f.local(I32),
    tap = f.local(I32),
    w = f.local(I32),
    wEnd = f.local(I32),
    rowPtrs = f.local(I32),
    q = f.local(I32),
    block = f.local(I32),
    groups = f.local(I32),
    o = f.local(I32),
    panels = f.local(I32),
    blockEnd = f.local(I32),
    wPanel = f.local(I32);
  const src = Array.from({ length: ROWS }, () => f.local(I32));
  const acc = Array.from({ length: ROWS * 2 }, () => f.local(V128));
  const b0 = f.local(V128),
    b1 = f.local(V128),
    a = f.local(V128),
    bias = [f.local(V128), f.local(V128)] as const,
    scale = [f.local(V128), f.local(V128)] as const,
    t = [f.local(V128), f.local(V128)] as const,
    po = f.local(I32);
  // Bytes of one panel's weights per input channel: 8 floats, or 8 int8 values.
  const panelShift = int8 ? 3 : 5;

  f.get(P.cout).i32(3).op(OP.i32ShrU).set(panels); // panels = cout / 8
  f.get(P.pixels).i32(ROWS - 1).op(OP.i32Add).i32(ROWS).op(OP.i32DivU).set(groups); // ⌈pixels / ROWS⌉
  f.i32(0).set(block);
  f.doWhile(() => {
    // blockEnd = min(block + blockGroups, groups)
    f.get(block).get(P.blockGroups).op(OP.i32Add).set(blockEnd);
    f.when(() => f.get(blockEnd).get(groups).op(OP.i32GtU), () => f.get(groups).set(blockEnd));
    f.i32(0).set(panel);
    f.doWhile(() => {
      f.get(panel).i32(5).op(OP.i32Shl).set(po); // panel · 32 bytes of [cout] floats
      for (const h of [0, 1]) {
        f.get(P.bias).get(po).op(OP.i32Add).mem(SIMD.load, h * 16).set(bias[h]!);
        if (int8) f.get(P.scale).get(po).op(OP.i32Add).mem(SIMD.load, h * 16).set(scale[h]!);
      }
      // wPanel = filter + panel · taps · cin · (bytes per input channel)
      f.get(P.filter).get(panel).get(P.taps).op(OP.i32Mul).get(P.cin).op(OP.i32Mul).i32(panelShift).op(
        OP.i32Shl,
      )
        .op(OP.i32Add).set(wPanel);
      f.get(block).set(group);
      f.doWhile(() => {
        for (let r = 0; r < ROWS; r++) {
          if (int8) {
            for (const h of [0, 1]) f.simd(SIMD.const, ...new Array(16).fill(0)).set(acc[2 * r + h]!);
          } else {
            f.get(bias[0]).set(acc[2 * r]!);
            f.get(bias[1]).set(acc[2 * r + 1]!);
          }
        }
        f.get(wPanel).set(w);
        // rowPtrs = table + group · taps · ROWS · 4
        f.get(P.table).get(group).get(P.taps).op(OP.i32Mul).i32(ROWS * 4).op(OP.i32Mul).op(OP.i32Add).set(
          rowPtrs,
        );
        f.i32(0).set(tap);
        f.doWhile(() => {
          for (let r = 0; r < ROWS; r++) f.get(rowPtrs).op(OP.i32Load, 2, ...uleb(r * 4)).set(src[r]!);
          f.get(w).get(P.cin).i32(panelShift).op(OP.i32Shl).op(OP.i32Add).set(wEnd);
          f.doWhile(() => {
            // 4 steps of 16 bytes of a row (4 float channels, or 4 × 4 int8 channels) and 32 of weights.
            for (let u = 0; u < 4; u++) {
              f.get(w).mem(SIMD.load, u * 32).set(b0);
              f.get(w).mem(SIMD.load, u * 32 + 16).set(b1);
              for (let r = 0; r < ROWS; r++) {
                f.get(src[r]!).mem(SIMD.load32Splat, u * 4).set(a);
                for (const [h, b] of [[0, b0], [1, b1]] as const) {
                  const x = acc[2 * r + h]!;
                  if (kind === "fma") f.get(a).get(b).get(x).simd(SIMD.f32x4RelaxedMadd); // a·b + x
                  else if (kind === "mul-add") f.get(x).get(a).get(b).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
                  // x + Σ of 4 products per lane: weights (signed) · activations (7-bit)
                  else f.get(b).get(a).get(x).simd(SIMD.i32x4RelaxedDotI8x16I7x16AddS);
                  f.set(x);
                }
              }
            }
            for (let r = 0; r < ROWS; r++) f.get(src[r]!).i32(16).op(OP.i32Add).set(src[r]!);
          }, () => f.get(w).i32(128).op(OP.i32Add).tee(w).get(wEnd).op(OP.i32LtU));
          f.get(rowPtrs).i32(ROWS * 4).op(OP.i32Add).set(rowPtrs);
        }, () => f.stepLess(tap, 1, P.taps));
        // Epilogue: (int8: scale, + bias), + residual, ReLU, store the rows that exist (int8: float32 and / or
        // quantized for the next convolution).
        for (let r = 0; r < ROWS; r++) {
          f.when(
            () =>
              f.get(group).i32(ROWS).op(OP.i32Mul).i32(r).op(OP.i32Add).tee(q).get(P.pixels).op(OP.i32LtU),
            () => {
              // o = out byte offset of (q, panel·8) = (q·cout + panel·8)·4
              f.get(q).get(P.cout).op(OP.i32Mul).get(panel).i32(3).op(OP.i32Shl).op(OP.i32Add).i32(2).op(
                OP.i32Shl,
              )
                .set(o);
              for (const h of [0, 1]) {
                const x = acc[2 * r + h]!, y = t[h]!;
                if (int8) {
                  f.get(x).simd(SIMD.f32x4ConvertI32x4S).get(scale[h]!).simd(SIMD.f32x4Mul).get(bias[h]!)
                    .simd(SIMD.f32x4Add);
                } else f.get(x);
                f.set(y);
                f.when(() => f.get(P.residual), () => {
                  f.get(y).get(P.residual).get(o).op(OP.i32Add).mem(SIMD.load, h * 16).simd(SIMD.f32x4Add)
                    .set(y);
                });
                f.when(() => f.get(P.relu), () => {
                  relu(f, y);
                });
                const store = () => f.get(P.out).get(o).op(OP.i32Add).get(y).mem(SIMD.store, h * 16);
                if (int8) f.when(() => f.get(P.out), store);
                else store();
              }
              if (int8) {
                // The 8 values as the next convolution's 7-bit input: `quantize`'s steps, 8 bytes stored.
                f.when(() => f.get(P.outQ), () => {
                  f.get(P.outQ).get(o).i32(2).op(OP.i32ShrU).op(OP.i32Add); // outQ + q·cout + panel·8
                  for (const h of [0, 1]) {
                    f.get(t[h]!).get(P.outInv).get(po).op(OP.i32Add).mem(SIMD.load, h * 16).simd(
                      SIMD.f32x4Mul,
                    );
                    quantizeSteps(f);
                  }
                  f.simd(SIMD.i16x8NarrowI32x4S);
                  f.tee(t[0]!).get(t[0]!).simd(SIMD.i8x16NarrowI16x8U); // the 8 bytes twice: lane 0 is stored
                  f.simd(SIMD.store64Lane, 3, 0, 0);
                });
              }
            },
          );
        }
      }, () => f.stepLess(group, 1, blockEnd));
    }, () => f.stepLess(panel, 1, panels));
    f.get(blockEnd).set(block);
  }, () => f.get(block).get(groups).op(OP.i32LtU));
  return f;
}

/** `quantize`: 16 channels at a time, float32 → scaled, rounded, clamped to 0…127 → bytes. */
function quantizeBody(): Body {
  const P = indices(QUANTIZE_PARAMS);
  const f = new Body(QUANTIZE_PARAMS.length);
  const p = f.local(I32), c = f.local(I32), x = Array.from({ length: 4 }, () => f.local(V128));
  f.when(() => f.get(P.pixels), () => {
    f.i32(0).set(p);
    f.doWhile(() => {
      f.i32(0).set(c);
      f.doWhile(() => {
        for (let k = 0; k < 4; k++) {
          // x = min(127, round(src[c + 4k] · inv[c + 4k]))
          f.get(P.src).get(c).i32(2).op(OP.i32Shl).op(OP.i32Add).mem(SIMD.load, k * 16);
          f.get(P.inv).get(c).i32(2).op(OP.i32Shl).op(OP.i32Add).mem(SIMD.load, k * 16);
          f.simd(SIMD.f32x4Mul);
          quantizeSteps(f);
          f.set(x[k]!);
        }
        // Narrow 4 × i32x4 → 16 bytes (negatives saturate to 0).
        f.get(P.dst).get(c).op(OP.i32Add);
        f.get(x[0]!).get(x[1]!).simd(SIMD.i16x8NarrowI32x4S);
        f.get(x[2]!).get(x[3]!).simd(SIMD.i16x8NarrowI32x4S);
        f.simd(SIMD.i8x16NarrowI16x8U).mem(SIMD.store, 0);
      }, () => f.stepLess(c, 16, P.cin));
      f.get(P.src).get(P.cin).i32(2).op(OP.i32Shl).op(OP.i32Add).set(P.src);
      f.get(P.dst).get(P.cin).op(OP.i32Add).set(P.dst);
    }, () => f.stepLess(p, 1, P.pixels));
  });
  return f;
}

/**
 * The f32x4 on the stack (x / scale) → i32x4 min(127, round-half-even(·)); the narrowing that follows
 * clamps negatives (and a NaN's INT_MIN or 0) to 0. One definition for `quantize` and `convI8`'s
 * quantized output, so the two give the same bytes.
 */
function quantizeSteps(f: Body): Body {
  // pmin and relaxed_trunc are one instruction each on x86 (min and trunc_sat are several). A NaN passes
  // pmin and truncates to INT_MIN (x86) or 0 (Arm); both narrow to the byte 0, as trunc_sat's 0 does.
  return f.simd(SIMD.f32x4Nearest).simd(SIMD.const, ...F32X4_127).simd(SIMD.f32x4Pmin)
    .simd(SIMD.i32x4RelaxedTruncF32x4S);
}

/** The bytes of f32x4.splat(127). */
const F32X4_127 = [...new Uint8Array(new Float32Array([127, 127, 127, 127]).buffer)];

/** `a ± b` for two v128 locals, left on the stack. */
function combine(f: Body, a: number, op: number, b: number): Body {
  return f.get(a).get(b).simd(op);
}

/** `t = max(t, 0)` on a v128 local, as `pmax(t, 0)` (t < 0 ? 0 : t; a NaN stays NaN). */
function relu(f: Body, t: number): Body {
  return f.get(t).simd(SIMD.const, ...new Array(16).fill(0)).simd(SIMD.f32x4Pmax).set(t);
}

/**
 * `winogradIn`: for each tile, 16 input rows → 16 rows of V, by
 * t = Bᵀ d (rows), then V = t B (columns), with
 * Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]].
 */
function winogradInBody(): Body {
  const P = indices(WINOGRAD_IN_PARAMS);
  const f = new Body(WINOGRAD_IN_PARAMS.length);
  const t = f.local(I32), o = f.local(I32), end = f.local(I32), vt = f.local(I32), xs = f.local(I32);
  const src = Array.from({ length: 16 }, () => f.local(I32));
  const d = Array.from({ length: 16 }, () => f.local(V128));
  const r = Array.from({ length: 16 }, () => f.local(V128));
  const { f32x4Add: ADD, f32x4Sub: SUB } = SIMD;
  f.when(() => f.get(P.tiles), () => {
    f.get(P.tiles).get(P.cin).op(OP.i32Mul).i32(2).op(OP.i32Shl).set(xs); // ξ stride in V: tiles·cin·4
    f.get(P.cin).i32(2).op(OP.i32Shl).set(end);
    f.i32(0).set(t);
    f.doWhile(() => {
      for (let k = 0; k < 16; k++) {
        f.get(P.table).get(t).i32(6).op(OP.i32Shl).op(OP.i32Add).op(OP.i32Load, 2, ...uleb(k * 4)).set(
          src[k]!,
        );
      }
      // vt = v + t·cin·4
      f.get(P.v).get(t).get(end).op(OP.i32Mul).op(OP.i32Add).set(vt);
      f.i32(0).set(o);
      f.doWhile(() => {
        for (let k = 0; k < 16; k++) f.get(src[k]!).get(o).op(OP.i32Add).mem(SIMD.load, 0).set(d[k]!);
        // Rows: r[0j] = d0j − d2j, r[1j] = d1j + d2j, r[2j] = d2j − d1j, r[3j] = d1j − d3j.
        for (let j = 0; j < 4; j++) {
          const [d0, d1, d2, d3] = [d[j]!, d[4 + j]!, d[8 + j]!, d[12 + j]!];
          combine(f, d0, SUB, d2).set(r[j]!);
          combine(f, d1, ADD, d2).set(r[4 + j]!);
          combine(f, d2, SUB, d1).set(r[8 + j]!);
          combine(f, d1, SUB, d3).set(r[12 + j]!);
        }
        // Columns, stored at V[ξ = 4i + j][t][o].
        for (let i = 0; i < 4; i++) {
          const [a0, a1, a2, a3] = [r[4 * i]!, r[4 * i + 1]!, r[4 * i + 2]!, r[4 * i + 3]!];
          const out: [number, number, number][] = [[a0, SUB, a2], [a1, ADD, a2], [a2, SUB, a1], [
            a1,
            SUB,
            a3,
          ]];
          out.forEach(([a, op, b], j) => {
            f.get(vt).get(o).op(OP.i32Add).get(xs).i32(4 * i + j).op(OP.i32Mul).op(OP.i32Add);
            combine(f, a, op, b).mem(SIMD.store, 0);
          });
        }
      }, () => f.get(o).i32(16).op(OP.i32Add).tee(o).get(end).op(OP.i32LtU));
    }, () => f.stepLess(t, 1, P.tiles));
  });
  return f;
}

/**
 * `winogradOut`: for each tile, 16 rows of M → 2×2 output rows, by
 * s = Aᵀ M (rows), then Y = s A (columns), with Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]];
 * then + bias and ReLU, stored where the table points (not where it holds 0).
 */
function winogradOutBody(): Body {
  const P = indices(WINOGRAD_OUT_PARAMS);
  const f = new Body(WINOGRAD_OUT_PARAMS.length);
  const t = f.local(I32), o = f.local(I32), end = f.local(I32), mt = f.local(I32), xs = f.local(I32);
  const dst = Array.from({ length: 4 }, () => f.local(I32));
  const m = Array.from({ length: 16 }, () => f.local(V128));
  const srow = Array.from({ length: 8 }, () => f.local(V128));
  const y = Array.from({ length: 4 }, () => f.local(V128));
  const bias = f.local(V128);
  const { f32x4Add: ADD, f32x4Sub: SUB } = SIMD;
  f.when(() => f.get(P.tiles), () => {
    f.get(P.tiles).get(P.cout).op(OP.i32Mul).i32(2).op(OP.i32Shl).set(xs); // ξ stride in M: tiles·cout·4
    f.get(P.cout).i32(2).op(OP.i32Shl).set(end);
    f.i32(0).set(t);
    f.doWhile(() => {
      for (let k = 0; k < 4; k++) {
        f.get(P.table).get(t).i32(4).op(OP.i32Shl).op(OP.i32Add).op(OP.i32Load, 2, ...uleb(k * 4)).set(
          dst[k]!,
        );
      }
      f.get(P.m).get(t).get(end).op(OP.i32Mul).op(OP.i32Add).set(mt); // m + t·cout·4
      f.i32(0).set(o);
      f.doWhile(() => {
        for (let k = 0; k < 16; k++) {
          f.get(mt).get(o).op(OP.i32Add).get(xs).i32(k).op(OP.i32Mul).op(OP.i32Add).mem(SIMD.load, 0).set(
            m[k]!,
          );
        }
        // Rows: s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j.
        for (let j = 0; j < 4; j++) {
          combine(f, m[j]!, ADD, m[4 + j]!).get(m[8 + j]!).simd(ADD).set(srow[j]!);
          combine(f, m[4 + j]!, SUB, m[8 + j]!).get(m[12 + j]!).simd(SUB).set(srow[4 + j]!);
        }
        // Columns: y[i0] = si0 + si1 + si2, y[i1] = si1 − si2 − si3.
        f.get(P.bias).get(o).op(OP.i32Add).mem(SIMD.load, 0).set(bias);
        for (let i = 0; i < 2; i++) {
          const s0 = srow[4 * i]!, s1 = srow[4 * i + 1]!, s2 = srow[4 * i + 2]!, s3 = srow[4 * i + 3]!;
          combine(f, s0, ADD, s1).get(s2).simd(ADD).get(bias).simd(ADD).set(y[2 * i]!);
          combine(f, s1, SUB, s2).get(s3).simd(SUB).get(bias).simd(ADD).set(y[2 * i + 1]!);
        }
        for (let k = 0; k < 4; k++) {
          f.when(() => f.get(P.relu), () => {
            relu(f, y[k]!);
          });
          f.when(
            () => f.get(dst[k]!),
            () => f.get(dst[k]!).get(o).op(OP.i32Add).get(y[k]!).mem(SIMD.store, 0),
          );
        }
      }, () => f.get(o).i32(16).op(OP.i32Add).tee(o).get(end).op(OP.i32LtU));
    }, () => f.stepLess(t, 1, P.tiles));
  });
  return f;
}

/** Whether this runtime validates relaxed SIMD (the FMA kernel). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(convModuleBytes({ fma: true }) as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}
