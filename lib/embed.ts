/**
 * The embedding step: photo files → 2048-d embeddings, one view each.
 *
 *   file bytes ─decode (scaled)─▶ RGB ─view─▶ 224×224 ─caffe─▶ trunk ─▶ [2048]
 *
 * A view is named by a string, so it can key a cache or cross to a worker:
 * `"centre"` (shorter side to 224, centre crop) or `"crop:<seed>"` (the
 * torchvision RandomResizedCrop drawn from that seed on the upright photo),
 * optionally with `@<size>` for a side other than 224 (`"centre@448"`: the
 * same centre square at twice the resolution; ResNet50 is fully
 * convolutional and its global pool averages over the larger map).
 * A photo that cannot be read or decoded gives an `error` in its place; the
 * others go on.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { decodeImage, DEFAULT_MAX_PIXELS, readHeader, type RgbImage } from "./decode.ts";
import { RocksError } from "./errors.ts";
import { maxPhotoBytes, readPhotoFile } from "./read_photo.ts";
import { toInputTensor } from "./preprocess.ts";
import type { Trunk } from "./resnet50.ts";
import { createRng } from "./rng.ts";
import { centreRegion, randomResizedCrop, type Region, resample, VIEW_SIZE } from "./view.ts";

/** A view name: `"centre"` or `"crop:<seed>"`, optionally followed by `@<size>`. */
export type ViewName = "centre" | `centre@${number}` | `crop:${number}` | `crop:${number}@${number}`;

/** The side, in pixels, of the square a view is resampled to (default 224). */
export function viewSize(view: ViewName): number {
  const at = view.indexOf("@");
  return at < 0 ? VIEW_SIZE : Number(view.slice(at + 1));
}

/** `view` resampled to `size` instead (224 gives the plain name). */
export function sizedView(view: ViewName, size: number): ViewName {
  const base = view.split("@")[0] as "centre" | `crop:${number}`;
  return size === VIEW_SIZE ? base : `${base}@${size}` as ViewName;
}

/** One photo and the view of it to embed. */
export interface EmbedJob {
  /** The file. */
  path: string;
  /** Which view. */
  view: ViewName;
}

/** The embedding of one job, or why there is none. */
export type EmbedResult = { embedding: Float32Array } | { error: string };

/** Options for {@linkcode embedFiles}. */
export interface EmbedOptions {
  /** Photos per trunk call. @default 4 (best on WASM) */
  batchSize?: number;
  /** Refuse photos with more pixels. @default DEFAULT_MAX_PIXELS */
  maxPixels?: number;
  /** Called after each photo with the count done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** The region a view covers on a `width × height` upright photo. */
export function viewRegion(view: ViewName, width: number, height: number): Region {
  const base = view.split("@")[0]!;
  if (base === "centre") return centreRegion(width, height);
  const seed = Number(base.slice(5));
  return randomResizedCrop(createRng(seed), width, height);
}

/**
 * Reads, decodes and cuts one view out of a photo.
 * @param path The file.
 * @param view Which view.
 * @param maxPixels Pixel limit.
 * @returns `224 × 224 × 3` RGB bytes.
 * @throws {RocksError} When the file cannot be read or decoded.
 */
export async function loadView(
  path: string,
  view: ViewName,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<Uint8Array> {
  // Missing, a link to nothing, a folder, a pipe, empty or huge: refused before reading.
  const bytes = await readPhotoFile(path, { maxBytes: maxPhotoBytes(maxPixels) });
  // The region is drawn on the full-size upright photo, then a JPEG is
  // decoded at the smallest scale that keeps the region ≥ 224 px a side.
  const header = readHeader(bytes, path);
  const swap = header.orientation >= 5;
  const region = viewRegion(view, swap ? header.height : header.width, swap ? header.width : header.height);
  const size = viewSize(view);
  const img: RgbImage = await decodeImage(bytes, {
    name: path,
    maxPixels,
    fits: (w, h) => region.w * w >= size && region.h * h >= size,
  });
  return resample(img, region, size, size);
}

/**
 * Embeds each job's view with the trunk, in order.
 * @param trunk The frozen ResNet50.
 * @param jobs Photos and views.
 * @param options Batch size, limits, progress.
 * @returns One result per job, in the same order.
 */
export async function embedFiles(
  trunk: Trunk,
  jobs: EmbedJob[],
  options: EmbedOptions = {},
): Promise<EmbedResult[]> {
  const batchSize = options.batchSize ?? 4;
  const results: EmbedResult[] = new Array(jobs.length);
  let done = 0;
  for (let start = 0; start < jobs.length;) {
    // One trunk call takes views of one size: a chunk ends where the size changes.
    const size = viewSize(jobs[start]!.view);
    // Larger views take proportionally fewer photos per call, so a 448 px batch needs no more memory than
    // a 224 px one (tfjs-wasm's memory grows to the largest batch and is never given back).
    const perCall = Math.max(1, Math.floor(batchSize * (VIEW_SIZE / size) ** 2));
    let end = start + 1;
    while (end < jobs.length && end - start < perCall && viewSize(jobs[end]!.view) === size) end++;
    const chunk = jobs.slice(start, end);
    const views: Uint8Array[] = [];
    const slots: number[] = [];
    for (const [k, job] of chunk.entries()) {
      try {
        views.push(await loadView(job.path, job.view, options.maxPixels));
        slots.push(start + k);
      } catch (e) {
        if (!(e instanceof RocksError)) throw e;
        results[start + k] = { error: e.message };
      }
    }
    if (views.length > 0) {
      const flat = tf.tidy(() => trunk.embed(toInputTensor(views, size)));
      const data = await flat.data() as Float32Array;
      flat.dispose();
      const width = data.length / views.length;
      slots.forEach((slot, k) => {
        results[slot] = { embedding: data.slice(k * width, (k + 1) * width) };
      });
    }
    done += chunk.length;
    options.onProgress?.(done, jobs.length);
    start = end;
  }
  return results;
}
