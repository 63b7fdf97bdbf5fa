/**
 * A content-addressed cache of embeddings on disk, so that no photo is run
 * through the trunk twice for the same view, on this machine or, once caches
 * are merged, on any other.
 *
 * Key: sha256 of (the file's bytes' sha256, the view name, the trunk's
 * checksum, the key version). A view name fixes the pixels exactly:
 * `centre`, or `crop:<seed>` where the seed is a hash of (training seed,
 * epoch, photo), so a training run caches one crop per photo per epoch and a
 * second run with the same seed finds them all. A record's key depends on
 * nothing a machine decides, so records made on different machines never
 * conflict: caches merge by keeping one copy of each key.
 *
 * Layout: append-only pack files, one per writing process, each with an
 * index (`pack.ts` has the format and why); each record is 8,324 bytes (154
 * photos × 5 epochs of crops is about 6 MiB a seed; a million centre views
 * about 8.3 GB). Records of the one-file-per-record layout of earlier
 * versions (`<xx>/<key>.f32`) are still read where they are; new records go
 * to packs, and `rocks cache merge` packs old ones. Every read checks the
 * record (magic, length, key, CRC-32); one that fails is counted, left
 * behind and recomputed.
 * @module
 */
import { maxPhotoBytes } from "../image/read_photo.ts";
import { userCacheDir } from "../util/dirs.ts";
import { RocksError } from "../util/errors.ts";
import { sha256Hex } from "../util/hash.ts";
import type { EmbedFn, EmbedJob, EmbedResult } from "./job.ts";
import {
  decodeLegacyRecord,
  encodeRecord,
  legacyFolders,
  openPackStore,
  type PackStore,
  type RecordAbout,
  recordKey,
  trunkTagOf,
} from "./pack.ts";

/** Counts of what the cache did. */
export interface CacheStats {
  /** Embeddings found on disk. */
  hits: number;
  /** Embeddings not found, computed by the trunk. */
  misses: number;
  /** Records found damaged, left behind and recomputed. */
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
  /** The record for `key`, or undefined (a damaged record is counted in `stats.corrupt` and not read again). */
  get(key: string): Promise<Float32Array | undefined>;
  /**
   * Stores a record: appended to this process's pack, then indexed, so no
   * process ever reads half of it. `about` (photo, view, trunk) is stored
   * with it, so `rocks cache verify` can recompute its key.
   */
  put(key: string, embedding: Float32Array, about?: RecordAbout): Promise<void>;
  /**
   * Reads what other processes have added to the folder since it was opened
   * (at most every 5 s); returns how many records that found.
   */
  refresh?(): Promise<number>;
}

/**
 * The embedding cache's default folder: the user's cache folder by the system's convention
 * (`$XDG_CACHE_HOME/rocks` or `~/.cache/rocks` on Linux; see `util/dirs.ts`). Requires --allow-env.
 */
export function defaultCacheDir(): string {
  return userCacheDir();
}

/** Options for {@linkcode openEmbedCache}. */
export interface OpenCacheOptions {
  /** Start a new pack past this many bytes. @default PACK_BYTES (1 GiB) */
  packBytes?: number;
  /** Look for records other processes added at most this often, in ms. @default 5000 */
  refreshMs?: number;
}

/**
 * Opens (creating) a cache folder, checks that it can be written, and reads
 * its pack indexes.
 *
 * Requires --allow-read and --allow-write for `dir`.
 * @param dir The folder.
 * @param options Pack size, how often to look for other processes' records.
 * @throws {RocksError} When the folder cannot be created or written.
 */
export async function openEmbedCache(dir: string, options: OpenCacheOptions = {}): Promise<EmbedCache> {
  let store: PackStore;
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.probe-${Deno.pid}-${crypto.randomUUID()}`;
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
    store = await openPackStore(dir, options);
  } catch (e) {
    throw new RocksError(
      "runtime",
      `Cache folder ${dir} is not writable: ${e instanceof Error ? e.message : e}`,
      dir,
    );
  }
  // Records of the one-file-per-record layout are looked for only where that layout is.
  const legacy = (await legacyFolders(dir)).length > 0;
  const stats: CacheStats = { hits: 0, misses: 0, corrupt: 0, writeErrors: 0 };
  const legacyPath = (key: string) => `${dir}/${key.slice(0, 2)}/${key}.f32`;
  return {
    dir,
    stats,
    async get(key) {
      const found = await store.get(key, () => stats.corrupt++);
      if (found || !legacy) return found;
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(legacyPath(key));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
      const values = decodeLegacyRecord(bytes);
      if (!values) {
        stats.corrupt++;
        await Deno.remove(legacyPath(key)).catch(() => {});
      }
      return values;
    },
    async put(key, embedding, about = {}) {
      try {
        await store.append([{
          key,
          bytes: encodeRecord(key, embedding, about),
          trunkTag: trunkTagOf(about.trunk),
        }]);
      } catch {
        stats.writeErrors++;
      }
    },
    refresh: () => store.refresh(),
  };
}

/**
 * sha256 of files' bytes, remembered per (path, size, mtime) for the life of the process: the
 * {@linkcode FILE_HASHES_KEPT} most recently hashed paths (a server hashes a new temporary path per
 * upload, so the map must not grow without end).
 */
const fileHashes = new Map<string, { size: number; mtime: number; sha: string }>();
/** Paths whose hash {@linkcode fileHashes} keeps at most (about 150 bytes each). */
const FILE_HASHES_KEPT = 10_000;

/**
 * sha256 of a photo file's bytes, as the cache keys it (remembered per path,
 * size and modification time); undefined when it cannot be read.
 *
 * Requires --allow-read.
 * @param path The file.
 */
export async function photoSha256(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path);
    // A pipe or device would block or never end, a huge file is no photo: the inner embedder says why.
    if (!st.isFile || st.size > maxPhotoBytes()) return undefined;
    const mtime = st.mtime?.getTime() ?? 0;
    const known = fileHashes.get(path);
    if (known && known.size === st.size && known.mtime === mtime) return known.sha;
    const sha = await sha256Hex(await Deno.readFile(path));
    fileHashes.delete(path); // re-inserted last: the oldest entry goes first
    fileHashes.set(path, { size: st.size, mtime, sha });
    if (fileHashes.size > FILE_HASHES_KEPT) fileHashes.delete(fileHashes.keys().next().value!);
    return sha;
  } catch {
    return undefined; // unreadable: the inner embedder reports why
  }
}

/**
 * Wraps an embedding function with the cache: hits are read from disk, the
 * rest are computed by `inner` (in one call, in order) and stored. Before
 * computing, it looks once for records other processes have added since.
 * @param inner The embedder behind the cache.
 * @param cache An open cache.
 * @param trunkSha256 The trunk's checksum (part of every key).
 */
export function cachedEmbedder(inner: EmbedFn, cache: EmbedCache, trunkSha256: string): EmbedFn {
  return async (jobs: EmbedJob[], onProgress) => {
    const results: EmbedResult[] = new Array(jobs.length);
    const shas = await Promise.all(jobs.map((job) => photoSha256(job.path)));
    const keys = jobs.map((job, i) => (shas[i] ? recordKey(shas[i], job.view, trunkSha256) : undefined));
    const lookUp = async (indices: number[]) => {
      const still: number[] = [];
      for (const i of indices) {
        const key = keys[i];
        const hit = key ? await cache.get(key) : undefined;
        if (hit) {
          results[i] = { embedding: hit };
          cache.stats.hits++;
        } else still.push(i);
      }
      return still;
    };
    let missing = await lookUp(jobs.map((_, i) => i));
    if (missing.length && cache.refresh && (await cache.refresh()) > 0) missing = await lookUp(missing);
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
        if (key && "embedding" in r) {
          await cache.put(key, r.embedding, { photo: shas[i]!, view: jobs[i]!.view, trunk: trunkSha256 });
        }
      }));
    }
    return results;
  };
}
