/**
 * A content-addressed cache of embeddings on disk, so that no photo is run
 * through the trunk twice for the same view.
 *
 * Key: sha256 of (the file's bytes' sha256, the view name, the trunk's
 * checksum, the record version). A view name fixes the pixels exactly:
 * `centre`, or `crop:<seed>` where the seed is a hash of (training seed,
 * epoch, photo), so a training run caches one crop per photo per epoch and a
 * second run with the same seed finds them all. Distinct crops kept per
 * photo: epochs × seeds used; each record is 8 KiB (154 photos × 5 epochs is
 * about 6 MiB a seed).
 *
 * Record file: `RCK1`, uint32 length (2048), the float32 values, uint32 CRC-32
 * of the values (all little-endian). It is written under a temporary name
 * and renamed into place, so another process never reads half a record; a
 * record that fails its checks is deleted and recomputed.
 * @module
 */
import { maxPhotoBytes } from "../image/read_photo.ts";
import { userCacheDir } from "../util/dirs.ts";
import { RocksError } from "../util/errors.ts";
import { crc32, sha256Hex } from "../util/hash.ts";
import type { EmbedFn, EmbedJob, EmbedResult } from "./job.ts";

const MAGIC = 0x314b4352; // "RCK1" little-endian
const RECORD_VERSION = 1;

/** Counts of what the cache did. */
export interface CacheStats {
  /** Embeddings found on disk. */
  hits: number;
  /** Embeddings not found, computed by the trunk. */
  misses: number;
  /** Records found damaged, deleted and recomputed. */
  corrupt: number;
  /** Records that could not be written (the run goes on). */
  writeErrors: number;
}

/** An open cache folder. */
export interface EmbedCache {
  /** The folder. */
  readonly dir: string;
  /** What it did so far. */
  readonly stats: CacheStats;
  /** The record for `key`, or undefined (a damaged record is deleted). */
  get(key: string): Promise<Float32Array | undefined>;
  /** Stores a record atomically. */
  put(key: string, embedding: Float32Array): Promise<void>;
}

/**
 * The embedding cache's default folder: the user's cache folder by the system's convention
 * (`$XDG_CACHE_HOME/rocks` or `~/.cache/rocks` on Linux; see `util/dirs.ts`). Requires --allow-env.
 */
export function defaultCacheDir(): string {
  return userCacheDir();
}

/**
 * Opens (creating) a cache folder and checks that it can be written.
 *
 * Requires --allow-read and --allow-write for `dir`.
 * @param dir The folder.
 * @throws {RocksError} When the folder cannot be created or written.
 */
export async function openEmbedCache(dir: string): Promise<EmbedCache> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.probe-${Deno.pid}-${crypto.randomUUID()}`;
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
  } catch (e) {
    throw new RocksError(
      "runtime",
      `Cache folder ${dir} is not writable: ${e instanceof Error ? e.message : e}`,
      dir,
    );
  }
  const stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, writeErrors: 0 };
  const pathOf = (key: string) => `${dir}/${key.slice(0, 2)}/${key}.f32`;
  return {
    dir,
    stats,
    async get(key) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(pathOf(key));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = bytes.length >= 12 ? view.getUint32(4, true) : -1;
      const ok = bytes.length >= 12 && view.getUint32(0, true) === MAGIC && bytes.length === 12 + n * 4 &&
        view.getUint32(8 + n * 4, true) === crc32(bytes.subarray(8, 8 + n * 4));
      if (!ok) {
        stats.corrupt++;
        await Deno.remove(pathOf(key)).catch(() => {});
        return undefined;
      }
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8, bytes.byteOffset + 8 + n * 4));
    },
    async put(key, embedding) {
      const n = embedding.length;
      const bytes = new Uint8Array(12 + n * 4);
      const view = new DataView(bytes.buffer);
      view.setUint32(0, MAGIC, true);
      view.setUint32(4, n, true);
      bytes.set(new Uint8Array(embedding.buffer, embedding.byteOffset, n * 4), 8);
      view.setUint32(8 + n * 4, crc32(bytes.subarray(8, 8 + n * 4)), true);
      const path = pathOf(key);
      const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID()}`;
      try {
        await Deno.mkdir(`${dir}/${key.slice(0, 2)}`, { recursive: true });
        await Deno.writeFile(tmp, bytes);
        await Deno.rename(tmp, path);
      } catch {
        stats.writeErrors++;
        await Deno.remove(tmp).catch(() => {});
      }
    },
  };
}

/** sha256 of files' bytes, remembered per (path, size, mtime) for the life of the process. */
const fileHashes = new Map<string, { size: number; mtime: number; sha: string }>();

async function fileSha(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path);
    // A pipe or device would block or never end, a huge file is no photo: the inner embedder says why.
    if (!st.isFile || st.size > maxPhotoBytes()) return undefined;
    const mtime = st.mtime?.getTime() ?? 0;
    const known = fileHashes.get(path);
    if (known && known.size === st.size && known.mtime === mtime) return known.sha;
    const sha = await sha256Hex(await Deno.readFile(path));
    fileHashes.set(path, { size: st.size, mtime, sha });
    return sha;
  } catch {
    return undefined; // unreadable: the inner embedder reports why
  }
}

/**
 * Wraps an embedding function with the cache: hits are read from disk, the
 * rest are computed by `inner` (in one call, in order) and stored.
 * @param inner The embedder behind the cache.
 * @param cache An open cache.
 * @param trunkSha256 The trunk's checksum (part of every key).
 */
export function cachedEmbedder(inner: EmbedFn, cache: EmbedCache, trunkSha256: string): EmbedFn {
  return async (jobs: EmbedJob[], onProgress) => {
    const results: EmbedResult[] = new Array(jobs.length);
    const keys: (string | undefined)[] = await Promise.all(jobs.map(async (job) => {
      const sha = await fileSha(job.path);
      return sha
        ? await sha256Hex(new TextEncoder().encode(`${sha}|${job.view}|${trunkSha256}|${RECORD_VERSION}`))
        : undefined;
    }));
    const missing: number[] = [];
    for (const [i, key] of keys.entries()) {
      const hit = key ? await cache.get(key) : undefined;
      if (hit) {
        results[i] = { embedding: hit };
        cache.stats.hits++;
      } else missing.push(i);
    }
    const hits = jobs.length - missing.length;
    onProgress?.(hits, jobs.length);
    if (missing.length) {
      cache.stats.misses += missing.length;
      const computed = await inner(
        missing.map((i) => jobs[i]!),
        (done) => onProgress?.(hits + done, jobs.length),
      );
      await Promise.all(missing.map(async (i, k) => {
        const r = computed[k]!;
        results[i] = r;
        const key = keys[i];
        if (key && "embedding" in r) await cache.put(key, r.embedding);
      }));
    }
    return results;
  };
}
