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
import { decodeImage, DEFAULT_MAX_PIXELS, jpegReduction, readHeader, type RgbImage } from "./decode.ts";
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

/**
 * Cuts jobs into runs of about `size` for separate embedding calls, keeping
 * a photo's consecutive views in one run (so it is decoded once) unless the
 * run would pass `2 × size`.
 * @param jobs The jobs, in order.
 * @param size Views per run.
 * @returns The runs, in order; together they are `jobs`.
 */
export function cutJobs(jobs: EmbedJob[], size: number): EmbedJob[][] {
  const runs: EmbedJob[][] = [];
  for (let start = 0; start < jobs.length;) {
    let end = Math.min(start + size, jobs.length);
    while (end < jobs.length && end - start < 2 * size && jobs[end]!.path === jobs[end - 1]!.path) end++;
    runs.push(jobs.slice(start, end));
    start = end;
  }
  return runs;
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
    // Consecutive views of one photo share one read and one decode.
    for (let k = 0; k < chunk.length;) {
      let run = k + 1;
      while (run < chunk.length && chunk[run]!.path === chunk[k]!.path) run++;
      try {
        const cut = await loadViews(
          chunk[k]!.path,
          chunk.slice(k, run).map((j) => j.view),
          options.maxPixels,
        );
        views.push(...cut);
        for (let i = k; i < run; i++) slots.push(start + i);
      } catch (e) {
        if (!(e instanceof RocksError)) throw e;
        for (let i = k; i < run; i++) results[start + i] = { error: e.message };
      }
      k = run;
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
