/**
 * IEEE 754 half precision (float16), as the converted weights store their
 * kernels: 1 sign bit, 5 exponent bits, 10 fraction bits. Encoding rounds to
 * the nearest representable value, ties to even (as numpy's `astype(float16)`
 * does); decoding is exact.
 * @module
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The float16 bits nearest to `value` (ties to even; overflow to ±Infinity, NaN kept).
 * @param value Any number (taken as float32 first).
 * @returns The 16 bits.
 * @example
 * ```ts
 * import { toFloat16Bits } from "./float16.ts";
 * if (toFloat16Bits(1) !== 0x3c00 || toFloat16Bits(-2) !== 0xc000 || toFloat16Bits(65520) !== 0x7c00) throw new Error("bits");
 * ```
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Infinity or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal (or zero): shift the implicit 1 in, round to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent, even to Infinity: right
  return sign | r;
}

let table: Float32Array | undefined;

/**
 * Every float16 value by its bits, for decoding many at once.
 * @returns 65,536 float32 values (NaNs included).
 */
function float16Table(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const frac = h & 0x3ff;
    table[h] = exp === 0
      ? sign * frac * 2 ** -24
      : exp === 0x1f
      ? (frac ? NaN : sign * Infinity)
      : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
}

/**
 * Decodes float16 values (little-endian bytes) to float32.
 * @param bytes `2 × n` bytes.
 * @returns The `n` values.
 * @example
 * ```ts
 * import { decodeFloat16, toFloat16Bits } from "./float16.ts";
 * const bits = new Uint16Array([0.5, -3, 1e-7].map(toFloat16Bits));
 * const back = decodeFloat16(new Uint8Array(bits.buffer));
 * if (back[0] !== 0.5 || back[1] !== -3 || Math.abs(back[2]! - 1e-7) > 6e-8) throw new Error("round trip");
 * ```
 */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const lut = float16Table();
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = lut[view.getUint16(2 * i, true)]!;
  return out;
}
