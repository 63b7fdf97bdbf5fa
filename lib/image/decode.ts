/**
 * Photo bytes → RGB pixels, with JPEG's DCT scaling, EXIF orientation and a
 * pixel limit checked from the header before anything is allocated.
 *
 * JPEG and PNG are decoded by imagescript's WebAssembly codecs (no native
 * addon, no --allow-ffi). A JPEG can be decoded at 1/2, 1/4 or 1/8 scale,
 * which is both far faster and an exact box average of 8×8 blocks: a photo
 * that will become a 224 px view never needs its 3000 px decode.
 * @module
 */
import { RocksError } from "../util/errors.ts";
import { decodeJpegScaled } from "./jpeg_dc.ts";

/** Decoded pixels, 3 bytes per pixel (R, G, B), rows top to bottom. */
export interface RgbImage {
  /** Width in pixels, after orientation. */
  width: number;
  /** Height in pixels, after orientation. */
  height: number;
  /** `width × height × 3` bytes. */
  data: Uint8Array;
}

/** What a file's header says, read without decoding it. */
export interface ImageHeader {
  /** `jpeg` or `png`. */
  format: "jpeg" | "png";
  /** Stored width (before EXIF orientation). */
  width: number;
  /** Stored height (before EXIF orientation). */
  height: number;
  /** EXIF orientation 1–8 (1 = as stored). */
  orientation: number;
}

/** The 8 bytes every PNG file starts with. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Largest image decoded by default, in pixels (width × height): 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Options for {@linkcode decodeImage}. */
export interface DecodeOptions {
  /**
   * Says whether an upright decode of `width × height` pixels is still large
   * enough for the caller. A JPEG is then decoded at the smallest of 1/8, 1/4,
   * 1/2 and full scale that fits. Without it, the full size is decoded.
   */
  fits?: (width: number, height: number) => boolean;
  /** Refuse images with more pixels than this. @default DEFAULT_MAX_PIXELS */
  maxPixels?: number;
  /** File name used in error messages. */
  name?: string;
  /** Test aid: decode with imagescript even where `decodeJpegScaled` (jpeg_dc.ts) takes a 1/8- or 1/4-scale JPEG. */
  imagescriptOnly?: boolean;
}

interface JpegCodec {
  decode(buffer: Uint8Array, width?: number, height?: number): {
    width: number;
    height: number;
    format: number;
    buffer: Uint8Array;
  };
}
interface PngCodec {
  decode(
    buffer: Uint8Array,
  ): { width: number; height: number; framebuffer: Uint8Array };
}
/** imagescript's codec modules: `init()` compiles once, `new()` makes a fresh instance. */
interface CodecModule<T> {
  init(): Promise<T>;
  "new"(): T;
}

/**
 * The codecs' WebAssembly instances. A decoder that traps on a damaged file
 * (`unreachable`, out-of-bounds access) leaves its instance's memory and
 * stack as they were at the trap: later photos would then fail or, worse,
 * decode wrongly. So an instance that threw is dropped and the next photo
 * gets a fresh one (instantiating the compiled module takes about a
 * millisecond). An instance that decoded a large photo is dropped too, so
 * its grown memory goes back to the system.
 */
class Codecs {
  #modules: { jpeg: CodecModule<JpegCodec>; png: CodecModule<PngCodec> } | undefined;
  #jpeg: JpegCodec | undefined;
  #png: PngCodec | undefined;
  /** Instances dropped after a failure or a large photo. */
  renewed = 0;

  async load(): Promise<void> {
    if (this.#modules) return;
    // imagescript's wasm-only codecs (its main entry loads a native addon).
    const jpeg = (await import("npm:imagescript@1.3.1/wasm/node/jpeg.js")).default as CodecModule<JpegCodec>;
    const png = (await import("npm:imagescript@1.3.1/wasm/node/png.js")).default as CodecModule<PngCodec>;
    this.#jpeg = await jpeg.init();
    this.#png = await png.init();
    this.#modules = { jpeg, png };
  }

  /** Decodes a JPEG (optionally scaled to `width × height`) on a sound instance. */
  jpeg(bytes: Uint8Array, width?: number, height?: number): ReturnType<JpegCodec["decode"]> {
    const codec = this.#jpeg ??= this.#modules!.jpeg.new();
    return this.#guard(() => codec.decode(bytes, width, height), () => (this.#jpeg = undefined));
  }

  /** Decodes a PNG on a sound instance. */
  png(bytes: Uint8Array): ReturnType<PngCodec["decode"]> {
    const codec = this.#png ??= this.#modules!.png.new();
    return this.#guard(() => codec.decode(bytes), () => (this.#png = undefined));
  }

  /** Runs `f`; drops the instance (`drop`) when `f` throws or decoded a large photo. */
  #guard<R extends { width: number; height: number }>(f: () => R, drop: () => void): R {
    let result: R;
    try {
      result = f();
    } catch (e) {
      drop();
      this.renewed++;
      throw e;
    }
    if (result.width * result.height > RENEW_AFTER_PIXELS) {
      drop();
      this.renewed++;
    }
    return result;
  }
}

const codecs = new Codecs();

/** How many codec instances were dropped after a failure or a large photo (test aid). */
export function codecRenewals(): number {
  return codecs.renewed;
}

/** Photos with more pixels than this leave their codec instance behind (its memory grew). */
const RENEW_AFTER_PIXELS = 16_000_000;

const u16 = (b: Uint8Array, i: number, little: boolean): number =>
  little ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number, little: boolean): number =>
  little ? u16(b, i, true) + u16(b, i + 2, true) * 65536 : u16(b, i, false) * 65536 + u16(b, i + 2, false);

/** Reads the orientation tag from a TIFF block (the body of an EXIF APP1 segment). */
function exifOrientation(b: Uint8Array, start: number, end: number): number {
  if (end - start < 8) return 1;
  const little = b[start] === 0x49;
  if (!little && b[start] !== 0x4d) return 1;
  const ifd = start + u32(b, start + 4, little);
  if (ifd + 2 > end) return 1;
  const count = u16(b, ifd, little);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > end) break;
    if (u16(b, e, little) === 0x0112) {
      const v = u16(b, e + 8, little);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/**
 * Reads format, size and EXIF orientation from a file's first bytes.
 * @param bytes The whole file.
 * @param name The file name for error messages.
 * @throws {RocksError} When the bytes are not a JPEG or PNG with a readable header.
 */
export function readHeader(bytes: Uint8Array, name = "image"): ImageHeader {
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    // Signature, then the IHDR chunk: length 13, "IHDR", width, height.
    if (bytes.length < 33) {
      throw new RocksError("input", `${name} is a damaged PNG: it ends after ${bytes.length} bytes`, name);
    }
    if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
      throw new RocksError("input", `${name} is a damaged PNG: its 8-byte signature is altered`, name);
    }
    if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
      throw new RocksError("input", `${name} is a damaged PNG: expected the IHDR chunk first`, name);
    }
    return {
      format: "png",
      width: u32(bytes, 16, false),
      height: u32(bytes, 20, false),
      orientation: 1,
    };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new RocksError("input", `${name} is not a JPEG or PNG image`, name);
  }
  let orientation = 1;
  let sawExif = false;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) {
      throw new RocksError(
        "input",
        `${name} is a damaged JPEG: bad marker at byte ${i}`,
        name,
      );
    }
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = u16(bytes, i + 2, false);
    const body = i + 4;
    // The first APP1 "Exif\0\0" segment holds the orientation (later ones are ignored).
    if (
      !sawExif && marker === 0xe1 && bytes[body] === 0x45 && bytes[body + 1] === 0x78 &&
      bytes[body + 2] === 0x69
    ) {
      sawExif = true;
      orientation = exifOrientation(bytes, body + 6, Math.min(bytes.length, i + 2 + length));
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the size.
    if (
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc
    ) {
      if (body + 5 > bytes.length) break;
      // SOF9–SOF15 but DAC: arithmetic coding, which the decoder does not read.
      if (marker >= 0xc9) {
        throw new RocksError(
          "input",
          `${name} is an arithmetic-coded JPEG, which rocks cannot decode: expected Huffman coding ` +
            `(re-save it, e.g. with jpegtran)`,
          name,
        );
      }
      return {
        format: "jpeg",
        height: u16(bytes, body + 1, false),
        width: u16(bytes, body + 3, false),
        orientation,
      };
    }
    if (marker === 0xda) break;
    i += 2 + length;
  }
  throw new RocksError(
    "input",
    `${name} is a damaged JPEG: no frame header found`,
    name,
  );
}

/** Applies EXIF orientation 2–8 to RGB pixels, returning a new image. */
export function orient(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ox: number, oy: number;
      switch (orientation) {
        case 2:
          ox = w - 1 - x;
          oy = y;
          break; // mirror horizontally
        case 3:
          ox = w - 1 - x;
          oy = h - 1 - y;
          break; // rotate 180°
        case 4:
          ox = x;
          oy = h - 1 - y;
          break; // mirror vertically
        case 5:
          ox = y;
          oy = x;
          break; // transpose
        case 6:
          ox = h - 1 - y;
          oy = x;
          break; // rotate 90° clockwise
        case 7:
          ox = h - 1 - y;
          oy = w - 1 - x;
          break; // transverse
        default:
          ox = y;
          oy = w - 1 - x;
          break; // 8: rotate 90° counter-clockwise
      }
      const s = (y * w + x) * 3;
      const d = (oy * ow + ox) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * The scale `decodeImage` decodes at: the largest JPEG reduction (8, 4, 2 or
 * 1) whose upright size still fits; always 1 for a PNG.
 * @param header From `readHeader`.
 * @param fits As in {@linkcode DecodeOptions}.
 * @returns The reduction factor.
 */
export function jpegReduction(header: ImageHeader, fits: DecodeOptions["fits"]): number {
  if (!fits || header.format !== "jpeg") return 1;
  const swap = header.orientation >= 5;
  for (const s of [8, 4, 2]) {
    const w = Math.ceil(header.width / s);
    const h = Math.ceil(header.height / s);
    if (swap ? fits(h, w) : fits(w, h)) return s;
  }
  return 1;
}

/**
 * Decodes a JPEG or PNG into RGB pixels, upright (EXIF orientation applied).
 * Grayscale becomes three equal channels; alpha is dropped (as PIL's
 * `convert("RGB")` does, which the course's ImageFolder uses); CMYK is
 * converted to RGB.
 * @param bytes The whole file.
 * @param options Scale and limits.
 * @returns The pixels.
 * @throws {RocksError} When the file is not an image, is damaged, or is too large.
 * @example
 * ```ts
 * import { decodeImage } from "./mod.ts";
 * // A 1×1 red PNG.
 * const png = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"), (c) => c.charCodeAt(0));
 * const img = await decodeImage(png);
 * if (img.width !== 1 || img.data[0] !== 255) throw new Error("one red pixel");
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const name = options.name ?? "image";
  const header = readHeader(bytes, name);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (header.width < 1 || header.height < 1) {
    throw new RocksError(
      "input",
      `${name} has an empty size ${header.width}×${header.height}`,
      name,
    );
  }
  if (header.width * header.height > maxPixels) {
    throw new RocksError(
      "input",
      `${name} is ${header.width}×${header.height} pixels, over the limit of ${maxPixels} (raise it with --max-pixels)`,
      name,
    );
  }
  await codecs.load();
  let img: RgbImage;
  try {
    if (header.format === "png") {
      const fb = codecs.png(bytes);
      checkDecodedSize(fb, header, 1, name);
      const n = fb.width * fb.height;
      const data = new Uint8Array(n * 3);
      for (let p = 0; p < n; p++) {
        data[p * 3] = fb.framebuffer[p * 4]!;
        data[p * 3 + 1] = fb.framebuffer[p * 4 + 1]!;
        data[p * 3 + 2] = fb.framebuffer[p * 4 + 2]!;
      }
      img = { width: fb.width, height: fb.height, data };
    } else {
      let s = jpegReduction(header, options.fits);
      // At 1/8 and 1/4 scale the common JPEG needs only its first coefficients: rocks' own reader, else
      // imagescript's.
      const own = (s === 8 || s === 4) && !options.imagescriptOnly ? decodeJpegScaled(bytes, s) : undefined;
      let fb;
      if (own) fb = { ...own, format: 1, buffer: own.data };
      else {
        try {
          fb = s === 1
            ? codecs.jpeg(bytes)
            : codecs.jpeg(bytes, Math.ceil(header.width / s), Math.ceil(header.height / s));
        } catch (e) {
          // Some files decode whole but not scaled: try once at full size.
          if (s === 1 || !(e instanceof Error) || !e.message.includes("failed to scale")) throw e;
          s = 1;
          fb = codecs.jpeg(bytes);
        }
      }
      checkDecodedSize(fb, header, s, name);
      img = {
        width: fb.width,
        height: fb.height,
        data: toRgb(fb.buffer, fb.format, fb.width * fb.height, name),
      };
    }
  } catch (e) {
    if (e instanceof RocksError) throw e;
    // A trap inside the WebAssembly decoder means data it could not follow.
    const why = e instanceof WebAssembly.RuntimeError
      ? `the data is damaged (the decoder stopped: ${e.message})`
      : e instanceof Error && /failed to decode/.test(e.message)
      ? `the data is damaged or uses a feature the decoder lacks (${e.message})`
      : e instanceof Error
      ? e.message
      : String(e);
    throw new RocksError(
      "input",
      `${name} could not be decoded as ${header.format.toUpperCase()}: ${why}`,
      name,
    );
  }
  return orient(img, header.orientation);
}

/**
 * The decoder must give the size the header promised (at most that, for a
 * scaled JPEG decode): the pixel limit was checked against the header.
 */
function checkDecodedSize(
  fb: { width: number; height: number },
  header: ImageHeader,
  scale: number,
  name: string,
): void {
  const w = Math.ceil(header.width / scale);
  const h = Math.ceil(header.height / scale);
  if (fb.width < 1 || fb.height < 1 || fb.width > w || fb.height > h) {
    throw new RocksError(
      "input",
      `${name} is a damaged ${header.format.toUpperCase()}: its header says ${header.width}×${header.height} ` +
        `but it decodes to ${fb.width}×${fb.height}`,
      name,
    );
  }
}

/**
 * imagescript's JPEG formats: 0 gray, 1 RGB, 2 CMYK. The decoder has already
 * undone Adobe's inversion and any YCCK transform, so its CMYK is ink
 * amounts (0 = none): R = (255 − C)(255 − K) / 255, as libjpeg's djpeg and
 * ImageMagick convert it.
 */
function toRgb(buffer: Uint8Array, format: number, n: number, name: string): Uint8Array {
  const channels = format === 0 ? 1 : format === 1 ? 3 : format === 2 ? 4 : 0;
  if (channels === 0) {
    throw new RocksError("input", `${name} decodes to an unknown pixel format ${format}`, name);
  }
  if (buffer.length < n * channels) {
    throw new RocksError(
      "input",
      `${name} is a damaged JPEG: it decoded to ${buffer.length} bytes, expected ${n * channels}`,
      name,
    );
  }
  if (format === 1) {
    return buffer.length === n * 3 ? buffer : buffer.slice(0, n * 3);
  }
  const out = new Uint8Array(n * 3);
  if (format === 0) {
    for (let p = 0; p < n; p++) {
      out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = buffer[p]!;
    }
  } else {
    for (let p = 0; p < n; p++) {
      const white = 255 - buffer[p * 4 + 3]!;
      out[p * 3] = Math.round(((255 - buffer[p * 4]!) * white) / 255);
      out[p * 3 + 1] = Math.round(((255 - buffer[p * 4 + 1]!) * white) / 255);
      out[p * 3 + 2] = Math.round(((255 - buffer[p * 4 + 2]!) * white) / 255);
    }
  }
  return out;
}
