/**
 * The embed stage: photo views → 2048-d embeddings. An {@linkcode Embedder}
 * runs the trunk in this thread or in a pool of workers (one trunk each),
 * optionally behind the content-addressed embedding cache; every layer has
 * the same shape ({@linkcode EmbedFn}), so they stack. The cache's pack
 * files, their merge and checks, and the sharding of an archive over
 * machines ({@linkcode embedShare}) are here too.
 *
 * ```ts
 * import { openEmbedder } from "./mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const [r] = await embedder.embed([{ path: "../shared/data/space-rocks/Basalt/Basalt_Cristobalite_s69-45539.jpg", view: "centre" }]);
 * if (!r || !("embedding" in r) || r.embedding.length !== 2048) throw new Error("one embedding");
 * embedder.close();
 * ```
 * @module
 */
export { cutJobs, type EmbedFn, type EmbedJob, type EmbedResult } from "./job.ts";
export { embedFiles, type EmbedOptions } from "./embed_files.ts";
export {
  cachedEmbedder,
  type CacheStats,
  defaultCacheDir,
  type EmbedCache,
  type OpenCacheOptions,
  openEmbedCache,
  photoSha256,
} from "./cache.ts";
export {
  type Appended,
  type CacheScan,
  type Damage,
  decodeRecord,
  encodeRecord,
  type IndexEntry,
  openPackStore,
  PACK_BYTES,
  type PackRecord,
  PACKS,
  type PackStore,
  type ParsedIndex,
  parseIndex,
  RECORD_BYTES,
  type RecordAbout,
  recordKey,
  scanCache,
} from "./pack.ts";
export {
  type CacheSummary,
  cacheSummary,
  mergeCaches,
  type MergeOptions,
  type MergeReport,
} from "./cache_tools.ts";
export {
  MAX_SHARDS,
  parseShard,
  photoShard,
  type Shard,
  type ShardChoice,
  shardFromEnv,
  shardKey,
  shardOfKey,
} from "./shard.ts";
export {
  embedShare,
  type EmbedShareOptions,
  type ShareCounts,
  type SharePhoto,
  type ShareResult,
} from "./share.ts";
export { createPool, type Pool, type PoolOptions } from "./pool.ts";
export {
  countingEmbedder,
  type Embedder,
  openEmbedder,
  type OpenEmbedderOptions,
  trunkEmbedder,
  wrapEmbedder,
} from "./embedder.ts";
export { EMBED_CHUNK, embedInRuns, type EmbedInRunsOptions } from "./schedule.ts";
