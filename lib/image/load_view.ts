/**
 * A photo file and the views wanted of it → RGB pixels, one square per view:
 *
 *   file bytes ─read─▶ header ─regions─▶ decode (JPEG at the smallest DCT scale that fits) ─resample─▶ views
 *
 * A photo that cannot be read or decoded throws a `RocksError` naming the
 * file and the problem.
 * @module
 */
import { decodeImage, DEFAULT_MAX_PIXELS, jpegReduction, readHeader, type RgbImage } from "./decode.ts";
import { maxPhotoBytes, readPhotoFile } from "./read_photo.ts";
import { resample, type ViewName, viewRegion, viewSize } from "./view.ts";

/**
 * Reads, decodes and cuts one view out of a photo.
 * @param path The file.
 * @param view Which view.
 * @param maxPixels Pixel limit.
 * @returns `224 × 224 × 3` RGB bytes (or the view's own size).
 * @throws {RocksError} When the file cannot be read or decoded.
 */
export async function loadView(
  path: string,
  view: ViewName,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<Uint8Array> {
  return (await loadViews(path, [view], maxPixels))[0]!;
}

/**
 * Reads a photo once and cuts several views out of it (a training run's
 * random crops of one photo, say), decoding once per JPEG scale the views
 * need. Each view's pixels equal {@linkcode loadView}'s for it.
 * @param path The file.
 * @param views Which views, in the order wanted.
 * @param maxPixels Pixel limit.
 * @returns One RGB buffer per view, `size × size × 3`.
 * @throws {RocksError} When the file cannot be read or decoded.
 */
export async function loadViews(
  path: string,
  views: ViewName[],
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<Uint8Array[]> {
  // Missing, a link to nothing, a folder, a pipe, empty or huge: refused before reading.
  const bytes = await readPhotoFile(path, { maxBytes: maxPhotoBytes(maxPixels) });
  // Regions are drawn on the full-size upright photo, then a JPEG is decoded
  // at the smallest scale that keeps every region ≥ its view's size a side.
  const header = readHeader(bytes, path);
  const swap = header.orientation >= 5;
  const [width, height] = swap ? [header.height, header.width] : [header.width, header.height];
  const wanted = views.map((view) => {
    const region = viewRegion(view, width, height);
    const size = viewSize(view);
    const fits = (w: number, h: number) => region.w * w >= size && region.h * h >= size;
    return { region, size, fits, reduction: jpegReduction(header, fits) };
  });
  // A view's pixels depend on the photo and the view only: views that want the same JPEG scale share
  // one decode; a view never takes its pixels from a finer decode than it would alone.
  const out: Uint8Array[] = new Array(views.length);
  for (const reduction of new Set(wanted.map((v) => v.reduction))) {
    const group = wanted.flatMap((v, i) => (v.reduction === reduction ? [i] : []));
    const img: RgbImage = await decodeImage(bytes, { name: path, maxPixels, fits: wanted[group[0]!]!.fits });
    for (const i of group) out[i] = resample(img, wanted[i]!.region, wanted[i]!.size, wanted[i]!.size);
  }
  return out;
}
