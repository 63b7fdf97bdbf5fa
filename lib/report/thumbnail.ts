/**
 * Small pictures of photos for the HTML report: the centre view the network
 * sees (shorter side, centred square), shrunk and encoded as a PNG `data:`
 * URI, so the report needs no other file.
 *
 *   file ─loadView("centre")─▶ 224×224 ─resample─▶ size×size ─PNG─▶ data:image/png;base64,…
 * @module
 */
import { Buffer } from "node:buffer";
import { DEFAULT_MAX_PIXELS } from "../image/decode.ts";
import { loadView } from "../image/load_view.ts";
import { encodePng } from "../image/png_encode.ts";
import { resample, VIEW_SIZE } from "../image/view.ts";

/** A thumbnail: its `data:` URI and size. */
export interface Thumbnail {
  /** `data:image/png;base64,…` */
  uri: string;
  /** Width and height in pixels (it is square). */
  size: number;
}

/**
 * Makes a square thumbnail of a photo's centre view.
 *
 * Requires --allow-read.
 * @param path The photo file (JPEG or PNG).
 * @param size Side in pixels, 8–224 (the view is 224; it is only shrunk).
 * @param maxPixels Photos larger than this are refused.
 * @returns The PNG as a `data:` URI.
 * @throws {RocksError} When the photo cannot be read or decoded.
 */
export async function thumbnail(
  path: string,
  size = 160,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<Thumbnail> {
  const side = Math.max(8, Math.min(VIEW_SIZE, Math.round(size)));
  const view = await loadView(path, "centre", maxPixels); // [224, 224, 3]
  const small = side === VIEW_SIZE
    ? view
    : resample({ width: VIEW_SIZE, height: VIEW_SIZE, data: view }, { x: 0, y: 0, w: 1, h: 1 }, side, side);
  return { uri: pngDataUri(encodePng(small, side, side)), size: side };
}

/**
 * A PNG file's bytes as a `data:` URI.
 * @param png The PNG file.
 * @returns `data:image/png;base64,…`
 *
 * @example
 * ```ts
 * import { pngDataUri } from "./thumbnail.ts";
 * if (pngDataUri(new Uint8Array([1, 2, 3])) !== "data:image/png;base64,AQID") throw new Error("wrong");
 * ```
 */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${
    Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64")
  }`;
}
