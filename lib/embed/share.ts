/**
 * Embedding one shard's share of a long list of photos, for the cache: the
 * photos of the shard are found first (each photo's shard key read, several
 * at a time), then their views go to the embedder in calls of about
 * {@linkcode EMBED_CHUNK} views (a photo's views together, so it is decoded
 * once), two calls in flight, and only counts are kept: memory does not
 * grow with the archive. Views the cache holds are read back and counted as
 * cached; a stop request is heard between calls, and every record written
 * before it stays, so a second run does only what is missing.
 * @module
 */
import type { ViewName } from "../image/view.ts";
import { throwIfAborted } from "../util/errors.ts";
import type { EmbedCache } from "./cache.ts";
import type { EmbedFn, EmbedJob } from "./job.ts";
import { EMBED_CHUNK } from "./schedule.ts";
import { type Shard, shardKey, shardOfKey } from "./shard.ts";

/** A photo and the views of it to embed. */
export interface SharePhoto {
  /** The file. */
  path: string;
  /** How to name it in messages (relative to its data folder). */
  name: string;
  /** The views. */
  views: ViewName[];
}

/** Counts so far, as {@linkcode EmbedShareOptions.onProgress} hears them. */
export interface ShareCounts {
  /** Views done (embedded, cached or failed). */
  done: number;
  /** Views of the shard. */
  total: number;
  /** Views the trunk embedded. */
  embedded: number;
  /** Views found in the cache. */
  cached: number;
  /** Views of photos that could not be read. */
  failed: number;
}

/** Options for {@linkcode embedShare}. */
export interface EmbedShareOptions {
  /** The share to embed. @default all */
  shard?: Shard;
  /** Photos whose shard key is read at once. @default 16 */
  concurrency?: number;
  /** Called once the shard's photos are known. */
  onShard?: (photos: number, views: number) => void;
  /** Called after each embedding call with the counts so far. */
  onProgress?: (counts: ShareCounts) => void;
  /** A photo that could not be read, once, with the reason. */
  onSkip?: (skipped: { file: string; reason: string }) => void;
  /** A stop request, heard between calls; it throws an `interrupted` RocksError. */
  signal?: AbortSignal;
}

/** What {@linkcode embedShare} did. */
export interface ShareResult extends ShareCounts {
  /** Photos listed (all shards). */
  photos: number;
  /** Photos in this shard. */
  inShard: number;
  /** Photos of the shard that could not be read, with the reason. */
  skipped: { file: string; reason: string }[];
  /** Seconds spent finding the shard's photos. */
  shardSeconds: number;
  /** Seconds spent embedding them. */
  embedSeconds: number;
}

/**
 * Embeds the views of the photos in one shard, through `embedder` (whose
 * cache keeps them), keeping only counts.
 *
 * Requires --allow-read (and what the embedder needs).
 * @param embedder An embedding function and the cache in front of it (counts of hits come from it).
 * @param photos Every photo, with its views (all shards: the share is chosen here).
 * @param options The shard, progress, skips, stop request.
 * @returns Counts: photos, views embedded, cached and failed.
 * @throws {RocksError} (kind `interrupted`) on a stop request, after the calls in flight end.
 */
export async function embedShare(
  embedder: { embed: EmbedFn; cache?: EmbedCache | undefined },
  photos: SharePhoto[],
  options: EmbedShareOptions = {},
): Promise<ShareResult> {
  const count = options.shard?.count ?? 1;
  const index = options.shard?.index ?? 0;
  const t0 = performance.now();
  // 1. The shard's photos: shard keys read a few at a time, order kept.
  let mine: SharePhoto[] = photos;
  if (count > 1) {
    const keep = new Array<boolean>(photos.length);
    let next = 0;
    const worker = async () => {
      while (next < photos.length) {
        const i = next++;
        throwIfAborted(options.signal, "Embedding");
        keep[i] = shardOfKey(await shardKey(photos[i]!.path), count) === index;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
    mine = photos.filter((_, i) => keep[i]);
  }
  const total = mine.reduce((a, p) => a + p.views.length, 0);
  const t1 = performance.now();
  options.onShard?.(mine.length, total);

  // 2. Their views, in calls of about EMBED_CHUNK, two in flight.
  const counts: ShareCounts = { done: 0, total, embedded: 0, cached: 0, failed: 0 };
  const skipped: { file: string; reason: string }[] = [];
  const failedPaths = new Set<string>();
  const hits0 = embedder.cache?.stats.hits ?? 0;
  const names = new Map<string, string>();
  const runs = function* (): Generator<EmbedJob[]> {
    let run: EmbedJob[] = [];
    for (const p of mine) {
      if (run.length > 0 && run.length + p.views.length > 2 * EMBED_CHUNK) {
        yield run;
        run = [];
      }
      for (const view of p.views) run.push({ path: p.path, view });
      if (run.length >= EMBED_CHUNK) {
        yield run;
        run = [];
      }
    }
    if (run.length) yield run;
  };
  for (const p of mine) names.set(p.path, p.name);
  const call = async (jobs: EmbedJob[]) => {
    const results = await embedder.embed(jobs);
    results.forEach((r, i) => {
      if ("embedding" in r) return;
      counts.failed++;
      const path = jobs[i]!.path;
      if (failedPaths.has(path)) return;
      failedPaths.add(path);
      const entry = { file: names.get(path) ?? path, reason: r.error };
      skipped.push(entry);
      options.onSkip?.(entry);
    });
    counts.done += jobs.length;
    counts.cached = (embedder.cache?.stats.hits ?? 0) - hits0;
    counts.embedded = Math.max(0, counts.done - counts.cached - counts.failed); // the other call's hits may be in
    options.onProgress?.({ ...counts });
  };
  const inFlight: Promise<void>[] = [];
  try {
    for (const jobs of runs()) {
      throwIfAborted(options.signal, "Embedding");
      const p = call(jobs);
      p.catch(() => {}); // surfaces when awaited below
      inFlight.push(p);
      if (inFlight.length >= 2) await inFlight.shift();
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  for (const p of inFlight) await p; // a failed call's error, now that none runs
  return {
    ...counts,
    photos: photos.length,
    inShard: mine.length,
    skipped,
    shardSeconds: (t1 - t0) / 1000,
    embedSeconds: (performance.now() - t1) / 1000,
  };
}
