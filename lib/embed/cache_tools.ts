/**
 * Cache folders as wholes, for `rocks cache`: what one holds (read from its
 * indexes alone, so it answers at once for millions of records), and the
 * merge of many into one that checks every record on the way and keeps one
 * copy of each key. (Checking every record of a folder is
 * {@linkcode scanCache}.)
 *
 * A plain copy of cache folders into one also makes a valid cache (each
 * pack has a name of its own); a merge does that and more: it checks every
 * record, drops duplicates and damaged records, recovers records whose index
 * entry was never written, packs the old one-file-per-record layout, and
 * leaves a few large packs.
 * @module
 */
import { RocksError } from "../util/errors.ts";
import {
  type Appended,
  type CacheScan,
  decodeRecord,
  legacyFolders,
  openPackStore,
  packIds,
  PACKS,
  parseIndex,
  readAt,
  RECORD_BYTES,
  scanCache,
} from "./pack.ts";

/** What a cache folder holds, from its indexes and its file listing. */
export interface CacheSummary {
  /** The folder. */
  dir: string;
  /** Distinct keys: indexed records and old-layout record files. */
  records: number;
  /** Pack files. */
  packs: number;
  /** Index entries, copies of one key included. */
  entries: number;
  /** Record files of the one-file-per-record layout (`<xx>/<key>.f32`), still read. */
  legacyRecords: number;
  /** Files in the folder (packs, indexes, old records, anything else). */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** Index entries per trunk checksum (`unknown`: not recorded, as in old-layout records). */
  trunks: Record<string, number>;
}

/**
 * What a cache folder holds: records, bytes, files, trunks. Reads the
 * indexes and lists the folder; reads no record but one per trunk (to learn
 * its full checksum).
 *
 * Requires --allow-read.
 * @param dir The cache folder.
 * @throws {RocksError} (kind `input`) when the folder does not exist.
 */
export async function cacheSummary(dir: string): Promise<CacheSummary> {
  const st = await Deno.stat(dir).catch(() => null);
  if (!st?.isDirectory) throw new RocksError("input", `Cache folder ${dir} does not exist`, dir);
  const summary: CacheSummary = {
    dir,
    records: 0,
    packs: 0,
    entries: 0,
    legacyRecords: 0,
    files: 0,
    bytes: 0,
    trunks: {},
  };
  const keys = new Set<string>();
  const byTag = new Map<number, { count: number; pack: string; offset: number }>();
  for (const id of await packIds(dir)) {
    const parsed = parseIndex(await Deno.readFile(`${dir}/${PACKS}/${id}.idx`));
    if (await Deno.stat(`${dir}/${PACKS}/${id}.pack`).then(() => true, () => false)) summary.packs++;
    summary.entries += parsed.entries.length;
    for (const e of parsed.entries) {
      keys.add(e.key);
      const t = byTag.get(e.trunkTag);
      if (t) t.count++;
      else byTag.set(e.trunkTag, { count: 1, pack: id, offset: e.offset });
    }
  }
  for (const [tag, t] of byTag) {
    let name = "unknown";
    if (tag !== 0) {
      const r = decodeRecord(
        await readAt(`${dir}/${PACKS}/${t.pack}.pack`, t.offset, RECORD_BYTES).catch(() => new Uint8Array()),
      );
      name = typeof r !== "string" && r.about.trunk ? r.about.trunk : `${tag.toString(16).padStart(8, "0")}…`;
    }
    summary.trunks[name] = (summary.trunks[name] ?? 0) + t.count;
  }
  for (const sub of await legacyFolders(dir)) {
    for await (const e of Deno.readDir(`${dir}/${sub}`)) {
      if (e.isFile && /^[0-9a-f]{64}\.f32$/.test(e.name)) {
        summary.legacyRecords++;
        keys.add(e.name.slice(0, 64));
      }
    }
  }
  if (summary.legacyRecords) summary.trunks.unknown = (summary.trunks.unknown ?? 0) + summary.legacyRecords;
  const walk = async (path: string) => {
    for await (const e of Deno.readDir(path)) {
      if (e.isDirectory) await walk(`${path}/${e.name}`);
      else if (e.isFile) {
        summary.files++;
        summary.bytes += (await Deno.stat(`${path}/${e.name}`)).size;
      }
    }
  };
  await walk(dir);
  summary.records = keys.size;
  return summary;
}

/** What a merge did. */
export interface MergeReport {
  /** The folder merged into. */
  into: string;
  /** Each source: what the pass over it found (see {@linkcode scanCache}), and what it gave. */
  sources: (CacheScan & { copied: number; duplicates: number })[];
  /** Records copied into `into`. */
  copied: number;
  /** Records left out because `into` (or an earlier source) had their key. */
  duplicates: number;
  /** Damaged records and index entries found in the sources (left out). */
  damaged: number;
  /** Distinct keys in `into` after the merge. */
  records: number;
  /** The packs written to `into`. */
  packs: string[];
  /** Bytes written. */
  bytes: number;
}

/** Options for {@linkcode mergeCaches}. */
export interface MergeOptions {
  /** Records read so far, after each batch. */
  onProgress?: (records: number) => void;
  /** Start a new pack past this many bytes. @default PACK_BYTES (1 GiB) */
  packBytes?: number;
}

/**
 * Merges cache folders into one: reads every record of every source
 * (checking magic, length, key and CRC-32), keeps one copy of each key, and
 * appends those `into` lacks to a new pack there. Damaged records are
 * reported and left out; whole records an index does not list are
 * recovered; old one-file-per-record caches are packed. `into` may be new or
 * a cache already; its records are kept as they are.
 *
 * Requires --allow-read, and --allow-write for `into`.
 * @param sources Cache folders.
 * @param into The folder to merge into (not one of the sources).
 * @param options Progress, pack size.
 * @returns What each source held and gave, and the totals.
 * @throws {RocksError} (kind `usage`) when `into` is a source; (kind `input`) when a source does not exist.
 */
export async function mergeCaches(
  sources: string[],
  into: string,
  options: MergeOptions = {},
): Promise<MergeReport> {
  const real = async (p: string) => await Deno.realPath(p).catch(() => p);
  const target = await real(into);
  for (const s of sources) {
    const st = await Deno.stat(s).catch(() => null);
    if (!st?.isDirectory) throw new RocksError("input", `Cache folder ${s} does not exist`, s);
    if ((await real(s)) === target) {
      throw new RocksError("usage", `--into ${into} is one of the caches to merge: name another folder`);
    }
  }
  await Deno.mkdir(into, { recursive: true });
  const store = await openPackStore(into, options.packBytes ? { packBytes: options.packBytes } : {});
  const report: MergeReport = {
    into,
    sources: [],
    copied: 0,
    duplicates: 0,
    damaged: 0,
    records: 0,
    packs: [],
    bytes: 0,
  };
  let read = 0;
  let batch: Appended[] = [];
  let batchBytes = 0;
  const pending = new Set<string>();
  const flush = async () => {
    await store.append(batch);
    batch = [];
    batchBytes = 0;
    pending.clear();
    options.onProgress?.(read);
  };
  for (const dir of sources) {
    let copied = 0;
    let duplicates = 0;
    const scan = await scanCache(dir, async (r) => {
      read++;
      if (store.has(r.key) || pending.has(r.key)) {
        duplicates++;
        return;
      }
      pending.add(r.key);
      batch.push({ bytes: r.bytes.slice(), key: r.key, trunkTag: r.trunkTag });
      batchBytes += r.bytes.length;
      copied++;
      if (batchBytes >= 8 << 20) await flush();
    });
    await flush();
    report.sources.push({ ...scan, copied, duplicates });
    report.copied += copied;
    report.duplicates += duplicates;
    report.damaged += scan.damaged.length;
  }
  report.records = store.size;
  report.packs = [...store.written];
  for (const id of store.written) {
    report.bytes += (await Deno.stat(`${into}/${PACKS}/${id}.pack`)).size +
      (await Deno.stat(`${into}/${PACKS}/${id}.idx`)).size;
  }
  return report;
}
