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

/**
 * Views per trunk call on the CPU. One: at int8, a 224 px view alone runs
 * about 10 % faster than in a call of 4 (its activations stay in cache), and
 * float32 is as fast either way (measured 2026-11-30; bench/README.md).
 */
export const DEFAULT_BATCH = 1;

/** Options for {@linkcode embedFiles}. */
export interface EmbedOptions {
  /** 224 px views per trunk call (a 448 px view counts as four). @default DEFAULT_BATCH */
  batchSize?: number;
  /** Refuse photos with more pixels. @default DEFAULT_MAX_PIXELS */
  maxPixels?: number;
  /** Called as views are done (embedded or failed) with the count so far. */
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
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const results: EmbedResult[] = new Array(jobs.length);
  let done = 0;
  const report = (n: number) => options.onProgress?.(done += n, jobs.length);
  // Views waiting for the trunk: all of one size, at most a call's worth.
  let pending: { slot: number; view: Uint8Array }[] = [];
  let pendingSize = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const flat = tf.tidy(() => trunk.embed(toInputTensor(pending.map((p) => p.view), pendingSize)));
    const data = await flat.data() as Float32Array;
    flat.dispose();
    const width = data.length / pending.length;
    pending.forEach((p, k) => {
      results[p.slot] = { embedding: data.slice(k * width, (k + 1) * width) };
    });
    report(pending.length);
    pending = [];
  };
  for (let start = 0; start < jobs.length;) {
    // A photo's consecutive views: one read, one decode per JPEG scale they need.
    let end = start + 1;
    while (end < jobs.length && jobs[end]!.path === jobs[start]!.path) end++;
    let views: Uint8Array[] = [];
    try {
      views = await loadViews(
        jobs[start]!.path,
        jobs.slice(start, end).map((j) => j.view),
        options.maxPixels,
      );
    } catch (e) {
      if (!(e instanceof RocksError)) throw e;
      for (let i = start; i < end; i++) results[i] = { error: e.message };
      report(end - start);
    }
    for (const [k, view] of views.entries()) {
      // One trunk call takes views of one size. Larger views take proportionally fewer per call, so a
      // 448 px call needs no more memory than a 224 px one (tfjs-wasm's memory grows to the largest
      // batch and is never given back).
      const size = viewSize(jobs[start + k]!.view);
      if (size !== pendingSize) await flush();
      pendingSize = size;
      pending.push({ slot: start + k, view });
      if (pending.length >= Math.max(1, Math.floor(batchSize * (VIEW_SIZE / size) ** 2))) await flush();
    }
    start = end;
  }
  await flush();
  return results;
}
