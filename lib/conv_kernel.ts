/**
 * A faster convolution for the WASM backend: the kernel of `conv_wasm.ts`
 * registered with tfjs as `RocksConv2D`, running on the tfjs-wasm heap itself
 * (the module imports that memory, so no tensor is copied).
 *
 * Supports what the trunk needs past its stem: square `k × k` filters, equal
 * strides, symmetric zero padding, `cin` a multiple of 4, `cout` a multiple of
 * 8, bias, an optional residual added before an optional ReLU.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { CIN_STEP, convModuleBytes, hasRelaxedSimd, PANEL, ROWS } from "./conv_wasm.ts";

/** Name the kernel is registered under (backend `wasm` only). */
export const FAST_CONV = "RocksConv2D";

/** Bytes of input rows a cache block aims for (tuned on a 2 MB-L2 Xeon). */
const BLOCK_BYTES = 256 * 1024;

/** What the kernel needs from tfjs-wasm's backend object (its public-in-practice fields). */
interface WasmBackendLike {
  wasm: {
    asm: { memory: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

type ConvFn = (...args: number[]) => void;
const instances = new WeakMap<WebAssembly.Memory, Map<boolean, ConvFn>>();
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
    ? "rocks' FMA kernel (relaxed SIMD), tfjs-wasm's for the stem"
    : "rocks' kernel with mul + add (no relaxed SIMD here), tfjs-wasm's for the stem";
}

/** Whether the FMA build runs here (otherwise the kernel uses `mul` + `add`). */
export function fastConvUsesFma(): boolean {
  return relaxed ??= hasRelaxedSimd();
}

/** The kernel instantiated on `memory` (one per tfjs-wasm heap and build). */
function convFor(memory: WebAssembly.Memory, fma: boolean): ConvFn {
  let builds = instances.get(memory);
  if (!builds) instances.set(memory, builds = new Map());
  let fn = builds.get(fma);
  if (!fn) {
    const bytes = convModuleBytes({ fma }) as Uint8Array<ArrayBuffer>;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    fn = instance.exports.conv as ConvFn;
    builds.set(fma, fn);
  }
  return fn;
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
}

function fastConvKernel(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x, filter, bias, residual } = inputs as Record<string, tf.TensorInfo>;
  const { kernelSize: k, stride, pad, outChannels: cout, relu, fma } = attrs as unknown as FastConvAttrs;
  const [n, h, w, cin] = x!.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const pixels = n * oh * ow;
  const taps = k * k;
  const out = be.makeOutput([n, oh, ow, cout], "float32");
  const offset = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset >>> 0;
  const groups = Math.ceil(pixels / ROWS);
  // Scratch: cin zeros (the padding row) and the row-pointer table.
  const zero = be.wasm._malloc(cin * 4) >>> 0;
  const table = be.wasm._malloc(groups * taps * ROWS * 4) >>> 0;
  try {
    const memory = be.wasm.asm.memory;
    new Float32Array(memory.buffer, zero, cin).fill(0);
    const rows = new Int32Array(memory.buffer, table, groups * taps * ROWS);
    const xBase = offset(x!);
    const rowBytes = cin * 4;
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
          for (let kx = 0; kx < k; kx++, slot += ROWS) {
            const ix = ox * stride - pad + kx;
            rows[slot] = iy < 0 || iy >= h || ix < 0 || ix >= w
              ? zero
              : xBase + ((img * h + iy) * w + ix) * rowBytes;
          }
        }
      }
    }
    const blockGroups = Math.max(1, Math.floor(BLOCK_BYTES / (ROWS * taps * rowBytes)));
    convFor(memory, fma !== false && fastConvUsesFma())(
      offset(filter!),
      offset(bias!),
      offset(out),
      residual ? offset(residual) : 0,
      table,
      pixels,
      cin,
      cout,
      taps,
      relu ? 1 : 0,
      blockGroups,
    );
  } finally {
    be.wasm._free(table);
    be.wasm._free(zero);
  }
  return out;
}

let registered = false;

/** Registers `RocksConv2D` for the `wasm` backend (once). */
export function registerFastConv(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: FAST_CONV, backendName: "wasm", kernelFunc: fastConvKernel });
  registered = true;
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
