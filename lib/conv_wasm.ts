/**
 * The trunk's convolution kernel as WebAssembly bytes, written here
 * instruction by instruction (no toolchain needed).
 *
 * Why: tfjs-wasm 4.22 runs convolutions through an XNNPACK build without
 * relaxed SIMD, so every multiply-add is a `mul` then an `add`. This kernel
 * uses `f32x4.relaxed_madd` (one FMA instruction on x86-64 with FMA3) and a
 * 6 × 8 register tile; measured on a 2-core Xeon it does 1.35–1.5× the
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
 * Loop order: blocks of pixel groups (a block's input rows stay in L2) →
 * panels of 8 channels (one panel's weights stay in L1/L2) → groups of
 * {@linkcode ROWS} pixels (the 6 × 8 tile in 12 registers) → taps → input
 * channels, unrolled by 4.
 * @module
 */

/** Output pixels per register tile. */
export const ROWS = 6;
/** Output channels per register tile (two `f32x4`). */
export const PANEL = 8;
/** Input channels are consumed 4 at a time: `cin` must be a multiple of this. */
export const CIN_STEP = 4;

/**
 * The exported function's parameters, in order (all i32; pointers are byte
 * offsets into the shared memory).
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

// Opcodes used below (WebAssembly core + SIMD + relaxed SIMD).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32DivU: 0x6e,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  void: 0x40,
} as const;
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4Pmax: 0xeb,
  f32x4RelaxedMadd: 0x105,
} as const;
const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A function body under construction: locals and instructions. */
class Body {
  readonly code: number[] = [];
  readonly localTypes: number[] = [];
  constructor(private next: number) {}
  local(type: number): number {
    this.localTypes.push(type);
    return this.next++;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(i: number): this {
    return this.op(OP.localGet, ...uleb(i));
  }
  set(i: number): this {
    return this.op(OP.localSet, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(OP.localTee, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(OP.i32Const, ...sleb(v));
  }
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }
  /** `v128.load` / `v128.store` / `v128.load32_splat` with a constant offset. */
  mem(opcode: number, offset: number): this {
    return this.simd(opcode, opcode === SIMD.load32Splat ? 2 : 4, ...uleb(offset));
  }
  /** `do { body } while (cond)`: `cond` leaves an i32 on the stack. */
  doWhile(body: () => void, cond: () => void): this {
    this.code.push(OP.loop, OP.void);
    body();
    cond();
    this.code.push(OP.brIf, 0, OP.end);
    return this;
  }
  /** `if (cond) { body }`. */
  when(cond: () => void, body: () => void): this {
    cond();
    this.code.push(OP.if, OP.void);
    body();
    this.code.push(OP.end);
    return this;
  }
  /** `i += step; i < limit` (leaves the comparison on the stack). */
  stepLess(i: number, step: number, limit: number): this {
    return this.get(i).i32(step).op(OP.i32Add).tee(i).get(limit).op(OP.i32LtU);
  }
}

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
  const P = Object.fromEntries(CONV_PARAMS.map((name, i) => [name, i])) as Record<
    typeof CONV_PARAMS[number],
    number
  >;
  const f = new Body(CONV_PARAMS.length);
  const [panel, group, tap, w, wEnd, rowPtrs, q, block, groups, o, panels, blockEnd, wPanel] = Array.from(
    { length: 13 },
    () => f.local(I32),
  ) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const src = Array.from({ length: ROWS }, () => f.local(I32));
  const acc = Array.from({ length: ROWS * 2 }, () => f.local(V128));
  const [b0, b1, a, bias0, bias1] = Array.from({ length: 5 }, () => f.local(V128)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const zero16 = new Array(16).fill(0);

  f.get(P.cout).i32(3).op(OP.i32ShrU).set(panels); // panels = cout / 8
  f.get(P.pixels).i32(ROWS - 1).op(OP.i32Add).i32(ROWS).op(OP.i32DivU).set(groups); // ⌈pixels / ROWS⌉
  f.i32(0).set(block);
  f.doWhile(() => {
    // blockEnd = min(block + blockGroups, groups)
    f.get(block).get(P.blockGroups).op(OP.i32Add).set(blockEnd);
    f.when(() => f.get(blockEnd).get(groups).op(OP.i32GtU), () => f.get(groups).set(blockEnd));
    f.i32(0).set(panel);
    f.doWhile(() => {
      f.get(P.bias).get(panel).i32(5).op(OP.i32Shl).op(OP.i32Add).set(o); // bias + panel·32
      f.get(o).mem(SIMD.load, 0).set(bias0);
      f.get(o).mem(SIMD.load, 16).set(bias1);
      // wPanel = filter + panel · taps · cin · 32
      f.get(P.filter).get(panel).get(P.taps).op(OP.i32Mul).get(P.cin).op(OP.i32Mul).i32(5).op(OP.i32Shl)
        .op(OP.i32Add).set(wPanel);
      f.get(block).set(group);
      f.doWhile(() => {
        for (let r = 0; r < ROWS; r++) {
          f.get(bias0).set(acc[2 * r]!);
          f.get(bias1).set(acc[2 * r + 1]!);
        }
        f.get(wPanel).set(w);
        // rowPtrs = table + group · taps · ROWS · 4
        f.get(P.table).get(group).get(P.taps).op(OP.i32Mul).i32(ROWS * 4).op(OP.i32Mul).op(OP.i32Add).set(
          rowPtrs,
        );
        f.i32(0).set(tap);
        f.doWhile(() => {
          for (let r = 0; r < ROWS; r++) f.get(rowPtrs).op(OP.i32Load, 2, ...uleb(r * 4)).set(src[r]!);
          f.get(w).get(P.cin).i32(5).op(OP.i32Shl).op(OP.i32Add).set(wEnd); // w + cin · 32
          f.doWhile(() => {
            for (let u = 0; u < CIN_STEP; u++) {
              f.get(w).mem(SIMD.load, u * 32).set(b0);
              f.get(w).mem(SIMD.load, u * 32 + 16).set(b1);
              for (let r = 0; r < ROWS; r++) {
                f.get(src[r]!).mem(SIMD.load32Splat, u * 4).set(a);
                for (const [h, b] of [[0, b0], [1, b1]] as const) {
                  const t = acc[2 * r + h]!;
                  if (fma) f.get(a).get(b).get(t).simd(SIMD.f32x4RelaxedMadd); // a·b + t
                  else f.get(t).get(a).get(b).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
                  f.set(t);
                }
              }
            }
            for (let r = 0; r < ROWS; r++) f.get(src[r]!).i32(CIN_STEP * 4).op(OP.i32Add).set(src[r]!);
          }, () => f.get(w).i32(CIN_STEP * 32).op(OP.i32Add).tee(w).get(wEnd).op(OP.i32LtU));
          f.get(rowPtrs).i32(ROWS * 4).op(OP.i32Add).set(rowPtrs);
        }, () => f.stepLess(tap, 1, P.taps));
        // Epilogue: + residual, ReLU, store the rows that exist.
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
                const t = acc[2 * r + h]!;
                f.when(() => f.get(P.residual), () => {
                  f.get(t).get(P.residual).get(o).op(OP.i32Add).mem(SIMD.load, h * 16).simd(SIMD.f32x4Add)
                    .set(t);
                });
                f.when(() => f.get(P.relu), () => {
                  f.get(t).simd(SIMD.const, ...zero16).simd(SIMD.f32x4Pmax).set(t); // pmax(t, 0): t < 0 ? 0 : t
                });
                f.get(P.out).get(o).op(OP.i32Add).get(t).mem(SIMD.store, h * 16);
              }
            },
          );
        }
      }, () => f.stepLess(group, 1, blockEnd));
    }, () => f.stepLess(panel, 1, panels));
    f.get(blockEnd).set(block);
  }, () => f.get(block).get(groups).op(OP.i32LtU));
  f.op(OP.end);

  const locals = [...uleb(f.localTypes.length), ...f.localTypes.flatMap((t) => [1, t])];
  const body = [...locals, ...f.code];
  const ascii = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, CONV_PARAMS.length, ...CONV_PARAMS.map(() => I32), 0]), // type: (i32 × 11) → ()
    ...section(2, [1, ...ascii("env"), ...ascii("memory"), 0x02, 0x00, 0x01]), // import memory, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...ascii("conv"), 0x00, 0x00]), // export it as "conv"
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** Whether this runtime validates relaxed SIMD (the FMA kernel). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(convModuleBytes({ fma: true }) as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}
