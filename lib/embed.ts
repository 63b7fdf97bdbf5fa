/**
 * The embedding step: photo files → 2048-d embeddings, one view each.
 *
 *   file bytes ─decode (scaled)─▶ RGB ─view─▶ 224×224 ─caffe─▶ trunk ─▶ [2048]
 *
 * A view is named by a string, so it can key a cache or cross to a worker:
 * `"centre"` (shorter side to 224, centre crop) or `"crop:<seed>"` (the
 * torchvision RandomResizedCrop drawn from that seed on the upright photo).
 * A photo that cannot be read or decoded gives an `error` in its place; the
 * others go on.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { decodeImage, DEFAULT_MAX_PIXELS, readHeader, type RgbImage } from "./decode.ts";
import { RocksError } from "./errors.ts";
import { toInputTensor } from "./preprocess.ts";
import type { Trunk } from "./resnet50.ts";
import { createRng } from "./rng.ts";
import { centreRegion, randomResizedCrop, type Region, resample, VIEW_SIZE } from "./view.ts";

/** A view name: `"centre"` or `"crop:<seed>"`. */
export type ViewName = "centre" | `crop:${number}`;

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
  if (view === "centre") return centreRegion(width, height);
  const seed = Number(view.slice(5));
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
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new RocksError("input", `${path} does not exist`, path);
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new RocksError("input", `${path} cannot be read`, path);
    }
    if (e instanceof Deno.errors.IsADirectory) throw new RocksError("input", `${path} is a folder`, path);
    throw new RocksError("input", `${path} cannot be read: ${e instanceof Error ? e.message : e}`, path);
  }
  if (bytes.length === 0) throw new RocksError("input", `${path} is empty`, path);
  // The region is drawn on the full-size upright photo, then a JPEG is
  // decoded at the smallest scale that keeps the region ≥ 224 px a side.
  const header = readHeader(bytes, path);
  const swap = header.orientation >= 5;
  const region = viewRegion(view, swap ? header.height : header.width, swap ? header.width : header.height);
  const img: RgbImage = await decodeImage(bytes, {
    name: path,
    maxPixels,
    fits: (w, h) => region.w * w >= VIEW_SIZE && region.h * h >= VIEW_SIZE,
  });
  return resample(img, region, VIEW_SIZE, VIEW_SIZE);
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
  for (let start = 0; start < jobs.length; start += batchSize) {
    const chunk = jobs.slice(start, start + batchSize);
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
      const flat = tf.tidy(() => trunk.embed(toInputTensor(views, VIEW_SIZE)));
      const data = await flat.data() as Float32Array;
      flat.dispose();
      const width = data.length / views.length;
      slots.forEach((slot, k) => {
        results[slot] = { embedding: data.slice(k * width, (k + 1) * width) };
      });
    }
    done += chunk.length;
    options.onProgress?.(done, jobs.length);
  }
  return results;
}
