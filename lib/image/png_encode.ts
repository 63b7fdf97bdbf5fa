/**
 * A small PNG encoder: raw samples → a valid PNG file (one IDAT chunk,
 * filter type 0 on every row, zlib deflate). Used for the report's
 * thumbnails and by the tests to draw photos.
 * @module
 */
import { deflateSync } from "node:zlib";
import { crc32 } from "../util/hash.ts";

/** The 8 bytes every PNG file starts with. */
const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG colour type of each channel count without a palette. */
const COLOR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** One chunk: length, type, body, CRC-32 of type + body. */
function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/**
 * Encodes raw samples as a PNG.
 *
 * @param data The samples, rows top to bottom, no padding; 16-bit samples big-endian.
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @param channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA; or 1 with a `palette` (indexed colour).
 * @param depth Bits per sample: 8 or 16.
 * @param palette RGB triples of an indexed-colour image.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When `channels` is not 1–4 or `data` is shorter than the size implies.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png_encode.ts";
 * const png = encodePng(new Uint8Array([255, 0, 0]), 1, 1);
 * if (png[1] !== 0x50) throw new Error("not a PNG");
 * ```
 */
export function encodePng(
  data: Uint8Array,
  width: number,
  height: number,
  channels = 3,
  depth = 8,
  palette?: Uint8Array,
): Uint8Array {
  const colorType = palette ? 3 : COLOR_TYPE[channels];
  if (colorType === undefined) throw new RangeError(`PNG channels must be 1 to 4, got ${channels}`);
  const rowBytes = (width * channels * depth) / 8;
  if (data.length < rowBytes * height) {
    throw new RangeError(`PNG data holds ${data.length} bytes, expected ${rowBytes * height}`);
  }
  // Each row is prefixed by its filter type (0: none).
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    raw.set(data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8); // depth, colour type, deflate, filter set 0, no interlace
  const parts = [
    SIGNATURE,
    pngChunk("IHDR", ihdr),
    ...(palette ? [pngChunk("PLTE", palette)] : []),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw))),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
