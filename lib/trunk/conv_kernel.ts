/**
 * A faster convolution for the WASM backend: the kernel of `conv_wasm.ts`
 * registered with tfjs as `RocksConv2D`, running on the tfjs-wasm heap itself
 * (the module imports that memory, so no tensor is copied).
 *
 * With `winograd`, a 3×3 convolution (stride 1, pad 1) runs as Winograd
 * F(2×2, 3×3) on a filter packed by `packWinogradFilter`.
 *
 * Supports what the trunk needs past its stem: square `k × k` filters, equal
 * strides, symmetric zero padding, `cin` a multiple of 4, `cout` a multiple of
 * 8, bias, an optional residual added before an optional ReLU.
 * @module
 */
import { releaseArrays } from "./release.ts";
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { CIN_STEP, convModuleBytes, hasRelaxedSimd, I8_CIN_STEP, PANEL, ROWS } from "./conv_wasm.ts";

/** Name the kernel is registered under (backend `wasm` only). */
export const FAST_CONV = "RocksConv2D";
/** The int8 convolution's kernel name (backend `wasm`, relaxed SIMD only). */
export const FAST_CONV_I8 = "RocksConv2DInt8";
/** The float32 → 7-bit activation kernel's name. */
export const QUANTIZE = "RocksQuantize";

/** Bytes of input rows a cache block aims for (tuned on a 2 MB-L2 Xeon). */
const BLOCK_BYTES = 256 * 1024;

/** What a kernel on tfjs-wasm's heap needs from its backend object (its public-in-practice fields). */
export interface WasmBackendLike {
  wasm: {
    asm: { memory: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32" | "int32"): tf.TensorInfo;
}

type WasmFn = (...args: number[]) => void;
/** The module's functions (see `conv_wasm.ts`). */
interface Kernels {
  conv: WasmFn;
  winogradIn: WasmFn;
  winogradOut: WasmFn;
  /** Only in the relaxed-SIMD build. */
  convI8?: WasmFn;
  /** Only in the relaxed-SIMD build. */
  quantize?: WasmFn;
}
const instances = new WeakMap<WebAssembly.Memory, Map<boolean, Kernels>>();
let relaxed: boolean | undefined;

/**
 * Whether the trunk should use this kernel on the `wasm` backend: yes, unless
 * the environment says `ROCKS_CONV=tfjs` (tfjs's own convolutions, for
 * comparison or to rule this kernel out). Without --allow-env: yes.
 */
export function fastConvEnabled(): boolean {
  try {
    return Deno.env.get("ROCKS_CONV") !== "tfjs";
  } catch {
    return true;
  }
}

/** One line on the convolutions the `wasm` backend's trunk runs, for `rocks info`. */
export function describeConvKernel(): string {
  if (!fastConvEnabled()) return "tfjs-wasm's own (XNNPACK), as ROCKS_CONV=tfjs asks";
  return fastConvUsesFma()
    ? "rocks' FMA kernel (relaxed SIMD), Winograd for 3×3, the stem as a 4×4 convolution of 2×2 blocks"
    : "rocks' kernel with mul + add (no relaxed SIMD here), Winograd for 3×3, the stem on 2×2 blocks";
}

/** Whether the FMA build runs here (otherwise the kernel uses `mul` + `add`). */
export function fastConvUsesFma(): boolean {
  return relaxed ??= hasRelaxedSimd();
}

/** The kernel instantiated on `memory` (one per tfjs-wasm heap and build). */
function kernelsFor(memory: WebAssembly.Memory, fma: boolean): Kernels {
  let builds = instances.get(memory);
  if (!builds) instances.set(memory, builds = new Map());
  let fns = builds.get(fma);
  if (!fns) {
    const bytes = convModuleBytes({ fma }) as Uint8Array<ArrayBuffer>;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    fns = instance.exports as unknown as Kernels;
    builds.set(fma, fns);
  }
  return fns;
}

/**
 * Reorders a `[k, k, cin, cout]` filter into the kernel's panels
 * `[cout/8][k·k][cin][8]`.
 * @param filter The filter's values, HWIO order.
 * @param shape `[k, k, cin, cout]`.
 * @returns The packed copy.
 */
export function packFilter(
  filter: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [kh, kw, cin, cout] = shape;
  const taps = kh * kw;
  const out = new Float32Array(filter.length);
  let i = 0;
  for (let p = 0; p < cout / PANEL; p++) {
    for (let t = 0; t < taps; t++) {
      for (let c = 0; c < cin; c++) {
        const from = (t * cin + c) * cout + p * PANEL;
        for (let j = 0; j < PANEL; j++) out[i++] = filter[from + j]!;
      }
    }
  }
  return out;
}

/**
 * Winograd F(2×2, 3×3) weights of a `[3, 3, cin, cout]` filter:
 * U = G g Gᵀ for each (cin, cout), G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]],
 * stored as 16 matrices `[cin, cout]` (ξ = 4·row + column), each packed by
 * {@linkcode packFilter}.
 * @param filter The filter's values, HWIO order.
 * @param cin Input channels.
 * @param cout Output channels.
 * @returns `16 · cin · cout` floats.
 */
export function packWinogradFilter(filter: Float32Array, cin: number, cout: number): Float32Array {
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  const u = Array.from({ length: 16 }, () => new Float32Array(cin * cout));
  const g = new Float64Array(9);
  const gg = new Float64Array(12); // G g: [4, 3]
  for (let c = 0; c < cin; c++) {
    for (let o = 0; o < cout; o++) {
      for (let k = 0; k < 9; k++) g[k] = filter[k * cin * cout + c * cout + o]!;
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 3; j++) {
          gg[i * 3 + j] = G[i]![0]! * g[j]! + G[i]![1]! * g[3 + j]! + G[i]![2]! * g[6 + j]!;
        }
      }
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          u[i * 4 + j]![c * cout + o] = gg[i * 3]! * G[j]![0]! + gg[i * 3 + 1]! * G[j]![1]! +
            gg[i * 3 + 2]! * G[j]![2]!;
        }
      }
    }
  }
  const out = new Float32Array(16 * cin * cout);
  u.forEach((m, xi) => {
    const packed = packFilter(m, [1, 1, cin, cout]);
    out.set(packed, xi * cin * cout);
    releaseArrays(m, packed); // 2 × 16 temporaries of cin · cout floats: freed now, not at some later collection
  });
  return out;
}

/** Whether a `[k, k, cin, cout]` convolution fits the kernel. */
export function fastConvFits(cin: number, cout: number): boolean {
  return cin % CIN_STEP === 0 && cout % PANEL === 0;
}

/** Attributes of a `RocksConv2D` call. */
export interface FastConvAttrs {
  /** Filter side `k`. */
  kernelSize: number;
  /** Stride (both axes). */
  stride: number;
  /** Zero padding on every side. */
  pad: number;
  /** Output channels. */
  outChannels: number;
  /** Apply max(0, ·) last. */
  relu: boolean;
  /** Use the FMA build (ignored where relaxed SIMD is missing). @default true */
  fma?: boolean;
  /**
   * The filter is packed by {@linkcode packWinogradFilter}: run Winograd
   * F(2×2, 3×3) (3×3, stride 1, pad 1, no residual; 2.25× fewer multiplies).
   */
  winograd?: boolean;
  /**
   * Read each filter row's k pixels as one run of k·cin channels (stride 1 and no padding only, where
   * they lie side by side): the same sums, k taps instead of k². The filter is packed as for
   * {@linkcode packFilter} (a `[k, k, cin, cout]` filter is already `[k, 1, k·cin, cout]` in memory).
   */
  rowWindow?: boolean;
}

/** Mallocs `bytes[i]` for each i, runs `use`, frees them all. */
function withScratch(be: WasmBackendLike, bytes: number[], use: (ptrs: number[]) => void): void {
  const ptrs: number[] = [];
  try {
    for (const b of bytes) ptrs.push(be.wasm._malloc(b) >>> 0);
    use(ptrs);
  } finally {
    for (const p of ptrs) be.wasm._free(p);
  }
}

/** What both paths need: sizes, pointers, the kernels. */
interface ConvCall {
  be: WasmBackendLike;
  fns: Kernels;
  x: number;
  filter: number;
  bias: number;
  out: number;
  residual: number;
  n: number;
  h: number;
  w: number;
  cin: number;
  oh: number;
  ow: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  relu: boolean;
  /** Bytes per input pixel: `cin · 4` (float32) or `cin` (int8). */
  rowBytes: number;
  /** The int8 GEMM's per-channel scales (0: the float32 GEMM). */
  scale: number;
  /** int8 only: where the output goes quantized for the next convolution (0: nowhere), and its 1 / scales. */
  outQ: number;
  outInv: number;
  /** Each filter row is one tap (see {@linkcode FastConvAttrs.rowWindow}). */
  rowWindow: boolean;
}

/** Byte offset of input pixel (img, iy, ix)'s channel row, or `zero` (the padding row) outside the image. */
function inputRow(c: ConvCall, zero: number, img: number, iy: number, ix: number): number {
  return iy < 0 || iy >= c.h || ix < 0 || ix >= c.w ? zero : c.x + ((img * c.h + iy) * c.w + ix) * c.rowBytes;
}

/** A direct convolution's row pointers and padding row, kept in the heap between calls (see `rowTable`). */
interface RowTable {
  /** The padding row: `rowBytes` zeros. */
  zero: number;
  /** `[groups, taps, ROWS]` pointers into the input (or to `zero`). */
  table: number;
}

/** Row tables by heap, then by layout and input address, oldest first. */
const rowTables = new WeakMap<WebAssembly.Memory, Map<string, RowTable>>();
/** Tables kept per heap: a trunk call at one view size needs about 50 (at 448 px, about 2.5 MB in all). */
const MAX_ROW_TABLES = 160;

/**
 * The row pointers of a direct convolution (one per output pixel and tap), made once per layout and input
 * address and then kept: a trunk call's activations land at the same heap addresses call after call, and
 * building the tables took about 3 % of an int8 call (JavaScript, a division and a modulo per pixel).
 * Evicted oldest first past {@linkcode MAX_ROW_TABLES}; the pointers are right for any input tensor of
 * this layout at this address, whatever it holds.
 */
function rowTable(c: ConvCall, across: number, rowBytes: number): RowTable {
  const { n, oh, ow, k, stride, pad } = c;
  const memory = c.be.wasm.asm.memory;
  let tables = rowTables.get(memory);
  if (!tables) rowTables.set(memory, tables = new Map());
  const key = [c.x, n, c.h, c.w, c.rowBytes, oh, ow, k, across, stride, pad].join();
  const kept = tables.get(key);
  if (kept) {
    tables.delete(key); // most recent last
    tables.set(key, kept);
    return kept;
  }
  const pixels = n * oh * ow;
  const taps = k * across;
  const groups = Math.ceil(pixels / ROWS);
  const zero = c.be.wasm._malloc(rowBytes + groups * taps * ROWS * 4) >>> 0;
  const entry = { zero, table: zero + Math.ceil(rowBytes / 4) * 4 };
  new Uint8Array(memory.buffer, zero, rowBytes).fill(0);
  const rows = new Int32Array(memory.buffer, entry.table, groups * taps * ROWS);
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < ROWS; r++) {
      const q = Math.min(g * ROWS + r, pixels - 1); // the last group repeats its last pixel
      const ox = q % ow;
      const rest = (q - ox) / ow;
      const oy = rest % oh;
      const img = (rest - oy) / oh;
      let slot = g * taps * ROWS + r;
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride - pad + ky;
        for (let kx = 0; kx < across; kx++, slot += ROWS) {
          rows[slot] = inputRow(c, zero, img, iy, ox * stride - pad + kx);
        }
      }
    }
  }
  tables.set(key, entry);
  for (const [old, t] of tables) {
    if (tables.size <= MAX_ROW_TABLES) break;
    c.be.wasm._free(t.zero);
    tables.delete(old);
  }
  return entry;
}

/**
 * The implicit GEMM straight on the input: one row pointer per (output pixel, tap). With `rowWindow`
 * (stride 1, no padding) a tap is a whole filter row: its k pixels lie side by side in memory, so it is
 * read as one run of k·cin channels (k taps of k·cin instead of k² of cin: the same products in the same
 * order, with a quarter of the per-tap work for the stem's 4×4 filter on 12 channels).
 */
function directConv(c: ConvCall): void {
  const { n, oh, ow, cout, k } = c;
  const pixels = n * oh * ow;
  const across = c.rowWindow ? 1 : k; // taps along x
  const taps = k * across;
  const cin = c.rowWindow ? c.cin * k : c.cin; // channels read per tap
  const rowBytes = c.rowWindow ? c.rowBytes * k : c.rowBytes; // bytes read per tap
  const { table } = rowTable(c, across, rowBytes);
  const blockGroups = Math.max(1, Math.floor(BLOCK_BYTES / (ROWS * taps * rowBytes)));
  const rest = [c.bias, c.out, c.residual, table, pixels, cin, cout, taps, c.relu ? 1 : 0, blockGroups];
  if (c.scale) c.fns.convI8!(c.filter, c.scale, ...rest, c.outQ, c.outInv);
  else c.fns.conv(c.filter, ...rest);
}

/**
 * Winograd F(2×2, 3×3) (3×3, stride 1, pad 1): each 4×4 input tile → 16
 * transformed rows (`winogradIn`), 16 GEMMs of the tiles by U[ξ] (the same
 * `conv` with one tap), then 2×2 output pixels per tile (`winogradOut`).
 */
function winogradConv(c: ConvCall): void {
  const { n, cin, oh, ow, cout } = c;
  const th = Math.ceil(oh / 2), tw = Math.ceil(ow / 2);
  const tiles = n * th * tw;
  const groups = Math.ceil(tiles / ROWS);
  const sizes = [
    Math.max(cin, cout) * 4, // zeros: the padding row, and the GEMMs' bias
    tiles * 16 * 4, // input row pointers per tile
    16 * tiles * cin * 4, // V
    16 * tiles * cout * 4, // M
    16 * groups * ROWS * 4, // the GEMMs' row pointers into V
    tiles * 4 * 4, // output row pointers per tile
  ];
  withScratch(c.be, sizes, ([zero, inTable, v, m, gemmTable, outTable]) => {
    const memory = c.be.wasm.asm.memory;
    new Float32Array(memory.buffer, zero!, Math.max(cin, cout)).fill(0);
    const ins = new Int32Array(memory.buffer, inTable!, tiles * 16);
    const outs = new Int32Array(memory.buffer, outTable!, tiles * 4);
    for (let t = 0; t < tiles; t++) {
      const tx = t % tw;
      const rest = (t - tx) / tw;
      const ty = rest % th;
      const img = (rest - ty) / th;
      for (let i = 0; i < 4; i++) {
        const iy = 2 * ty - 1 + i;
        for (let j = 0; j < 4; j++) ins[t * 16 + i * 4 + j] = inputRow(c, zero!, img, iy, 2 * tx - 1 + j);
      }
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const oy = 2 * ty + a, ox = 2 * tx + b;
          outs[t * 4 + a * 2 + b] = oy < oh && ox < ow ? c.out + ((img * oh + oy) * ow + ox) * cout * 4 : 0;
        }
      }
    }
    const gemmRows = new Int32Array(memory.buffer, gemmTable!, 16 * groups * ROWS);
    for (let xi = 0; xi < 16; xi++) {
      for (let q = 0; q < groups * ROWS; q++) {
        gemmRows[xi * groups * ROWS + q] = v! + (xi * tiles + Math.min(q, tiles - 1)) * cin * 4;
      }
    }
    c.fns.winogradIn(inTable!, v!, tiles, cin);
    const blockGroups = Math.max(1, Math.floor(BLOCK_BYTES / (ROWS * cin * 4)));
    for (let xi = 0; xi < 16; xi++) {
      c.fns.conv(
        c.filter + xi * cin * cout * 4,
        zero!,
        m! + xi * tiles * cout * 4,
        0,
        gemmTable! + xi * groups * ROWS * 4,
        tiles,
        cin,
        cout,
        1,
        0,
        blockGroups,
      );
    }
    c.fns.winogradOut(m!, outTable!, tiles, cout, c.bias, c.relu ? 1 : 0);
  });
}

/**
 * What both kernels share: the inputs' offsets on the heap, the output's
 * shape (allocated here), the call for `directConv` / `winogradConv`.
 * @param int8 The input holds 7-bit values, 4 channels to an int32 word.
 */
function prepareCall(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
  int8: boolean,
): { call: ConvCall; outs: tf.TensorInfo[]; winograd: boolean } {
  const be = backend as WasmBackendLike;
  const { x, filter, bias, residual, scale, outInv } = inputs as Record<string, tf.TensorInfo>;
  const { kernelSize: k, stride, pad, outChannels: cout, relu, fma, winograd, floatOutput, rowWindow } =
    attrs as unknown as FastConvAttrs & { floatOutput?: boolean };
  const [n, h, w, last] = x!.shape as [number, number, number, number];
  const cin = int8 ? last * 4 : last;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  if (rowWindow && (winograd || stride !== 1 || pad !== 0)) {
    throw new Error(`A row window takes stride 1 and no padding, not Winograd; got ${stride}, ${pad}`);
  }
  if (winograd && (int8 || k !== 3 || stride !== 1 || pad !== 1 || residual)) {
    throw new Error(
      `Winograd takes float32 3×3 filters, stride 1, pad 1, no residual; got ${k}×${k}, ${stride}, ${pad}`,
    );
  }
  // int8 may leave out the float32 output (floatOutput false) and add a quantized one (outInv given).
  const out = !int8 || floatOutput !== false || !outInv
    ? be.makeOutput([n, oh, ow, cout], "float32")
    : undefined;
  const outQ = int8 && outInv ? be.makeOutput([n, oh, ow, cout / 4], "int32") : undefined;
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset >>> 0;
  const call: ConvCall = {
    be,
    fns: kernelsFor(be.wasm.asm.memory, int8 || (fma !== false && fastConvUsesFma())),
    x: offset(x!),
    filter: offset(filter!),
    bias: offset(bias!),
    out: out ? offset(out) : 0,
    residual: residual ? offset(residual) : 0,
    n,
    h,
    w,
    cin,
    oh,
    ow,
    cout,
    k,
    stride,
    pad,
    relu,
    rowBytes: int8 ? cin : cin * 4,
    scale: int8 ? offset(scale!) : 0,
    outQ: outQ ? offset(outQ) : 0,
    outInv: outQ ? offset(outInv!) : 0,
    rowWindow: rowWindow === true,
  };
  return { call, outs: [out, outQ].filter((t) => t !== undefined), winograd: winograd === true };
}

function fastConvKernel(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const { call, outs, winograd } = prepareCall(args, false);
  if (winograd) winogradConv(call);
  else directConv(call);
  return outs[0]!;
}

/**
 * The int8 convolution: x is `[N, H, W, cin/4]` int32 words, each holding 4
 * channels' 7-bit values (from {@linkcode quantizeActivations}); the filter is
 * `packFilterInt8`'s bytes (pack_int8.ts); the output is float32, or its quantized
 * words for the next convolution (input `outInv`), or both (in that order).
 */
function fastConvI8Kernel(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo | tf.TensorInfo[] {
  const { call, outs } = prepareCall(args, true);
  directConv(call);
  return outs.length === 1 ? outs[0]! : outs;
}

/** float32 `[N, H, W, C]` → int32 `[N, H, W, C/4]` of packed 7-bit values, by per-channel 1/scale. */
function quantizeKernel(
  { inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown },
): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x, inv } = inputs as Record<string, tf.TensorInfo>;
  const [n, h, w, c] = x!.shape as [number, number, number, number];
  const out = be.makeOutput([n, h, w, c / 4], "int32");
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset >>> 0;
  kernelsFor(be.wasm.asm.memory, true).quantize!(offset(x!), offset(out), n * h * w, c, offset(inv!));
  return out;
}

let registered = false;

/** Registers `RocksConv2D` (and, where relaxed SIMD runs, the int8 kernels) for the `wasm` backend (once). */
export function registerFastConv(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: FAST_CONV, backendName: "wasm", kernelFunc: fastConvKernel });
  if (fastConvUsesFma()) {
    tf.registerKernel({ kernelName: FAST_CONV_I8, backendName: "wasm", kernelFunc: fastConvI8Kernel });
    tf.registerKernel({ kernelName: QUANTIZE, backendName: "wasm", kernelFunc: quantizeKernel });
  }
  registered = true;
}

/** Whether a convolution fits the int8 kernel (its `cin` a multiple of 16, `cout` of 8). */
export function int8ConvFits(cin: number, cout: number): boolean {
  return cin % I8_CIN_STEP === 0 && cout % PANEL === 0;
}

/** Inputs of {@linkcode fastConv2dInt8}. */
export interface FastConvInt8Inputs extends Omit<FastConvAttrs, "fma" | "winograd"> {
  /** `[N, H, W, cin/4]` from {@linkcode quantizeActivations}. */
  x: tf.Tensor4D;
  /** `Int8Filter.words` (pack_int8.ts). */
  filter: tf.Tensor1D;
  /** `Int8Filter.scale` (pack_int8.ts). */
  scale: tf.Tensor1D;
  /** `[cout]`. */
  bias: tf.Tensor1D;
  /** `[N, OH, OW, cout]` float32, added before the ReLU. */
  residual?: tf.Tensor4D;
}

/**
 * The int8 convolution (the `wasm` backend active, relaxed SIMD present,
 * {@linkcode registerFastConv} called).
 * @param inputs Tensors and attributes.
 * @returns `[N, OH, OW, cout]` float32.
 */
export function fastConv2dInt8(inputs: FastConvInt8Inputs): tf.Tensor4D {
  const { x, filter, scale, bias, residual, ...attrs } = inputs;
  return tf.engine().runKernel(
    FAST_CONV_I8,
    residual ? { x, filter, scale, bias, residual } : { x, filter, scale, bias },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

/** Inputs of {@linkcode fastConv2dInt8Quantized}: those of {@linkcode fastConv2dInt8}, and the next convolution's scales. */
export interface FastConvInt8QuantizedInputs extends FastConvInt8Inputs {
  /** `[cout]`: 1 / the next convolution's activation scales (its `quantizeActivations` argument). */
  nextInverseScale: tf.Tensor1D;
  /** Also return the float32 output (a residual or the pool reads it). */
  keepFloat: boolean;
}

/**
 * The int8 convolution whose output goes on, already quantized, to another
 * int8 convolution: the same bytes as `quantizeActivations(fastConv2dInt8(…),
 * nextInverseScale)`, made in the kernel's epilogue without that pass (and
 * without the float32 tensor unless `keepFloat`).
 * @param inputs Tensors, attributes, the next convolution's scales.
 * @returns `quantized` (`[N, OH, OW, cout/4]` int32 words), and `float` when `keepFloat`.
 */
export function fastConv2dInt8Quantized(
  inputs: FastConvInt8QuantizedInputs,
): { quantized: tf.Tensor4D; float?: tf.Tensor4D } {
  const { x, filter, scale, bias, residual, nextInverseScale, keepFloat, ...attrs } = inputs;
  const outs = tf.engine().runKernel(
    FAST_CONV_I8,
    { x, filter, scale, bias, ...(residual ? { residual } : {}), outInv: nextInverseScale },
    { ...attrs, floatOutput: keepFloat } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D | tf.Tensor4D[];
  if (!Array.isArray(outs)) return { quantized: outs };
  return { float: outs[0]!, quantized: outs[1]! };
}

/**
 * float32 activations → 7-bit values, 4 channels to an int32 word:
 * q = clamp(round(x / scale[c]), 0, 127).
 * @param x `[N, H, W, C]`, C a multiple of 16.
 * @param inverseScale `[C]`: 1 / each channel's scale.
 * @returns `[N, H, W, C/4]` int32.
 */
export function quantizeActivations(x: tf.Tensor4D, inverseScale: tf.Tensor1D): tf.Tensor4D {
  return tf.engine().runKernel(QUANTIZE, { x, inv: inverseScale }) as tf.Tensor4D;
}

/** Inputs of {@linkcode fastConv2d}. */
export interface FastConvInputs extends FastConvAttrs {
  /** `[N, H, W, cin]`. */
  x: tf.Tensor4D;
  /** Packed by {@linkcode packFilter}. */
  filter: tf.Tensor1D;
  /** `[cout]`. */
  bias: tf.Tensor1D;
  /** `[N, OH, OW, cout]` added before the ReLU. */
  residual?: tf.Tensor4D;
}

/**
 * Runs the kernel (the `wasm` backend must be active; call
 * {@linkcode registerFastConv} first).
 * @param inputs Tensors and attributes.
 * @returns `[N, OH, OW, cout]`, owned by the caller (or the enclosing tidy).
 */
export function fastConv2d(inputs: FastConvInputs): tf.Tensor4D {
  const { x, filter, bias, residual, ...attrs } = inputs;
  return tf.engine().runKernel(
    FAST_CONV,
    residual ? { x, filter, bias, residual } : { x, filter, bias },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}
