/**
 * Embedding in this thread: photo files → 2048-d embeddings, one view each.
 *
 *   file bytes ─decode (scaled)─▶ RGB ─view─▶ 224×224 ─caffe─▶ trunk ─▶ [2048]
 *
 * Views of one size go to the trunk in batches; a photo that cannot be read
 * or decoded gives an `error` in its place and the others go on. The pool's
 * workers each run this, and so does an embedder without workers.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { loadViews } from "../image/load_view.ts";
import { VIEW_SIZE, viewSize } from "../image/view.ts";
import { toInputTensor } from "../trunk/preprocess.ts";
import type { Trunk } from "../trunk/resnet50.ts";
import { RocksError } from "../util/errors.ts";
import type { EmbedJob, EmbedResult } from "./job.ts";

/** Options for {@linkcode embedFiles}. */
export interface EmbedOptions {
  /** Photos per trunk call. @default 4 (best on WASM) */
  batchSize?: number;
  /** Refuse photos with more pixels. @default DEFAULT_MAX_PIXELS */
  maxPixels?: number;
  /** Called after each photo with the count done so far. */
  onProgress?: (done: number, total: number) => void;
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
