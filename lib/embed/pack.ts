/**
 * The embedding cache on disk at archive scale: append-only pack files, one
 * set per writing process, each with an index.
 *
 * ```
 * <cache>/packs/<id>.pack   "RCKP" u32 version, then records, appended
 * <cache>/packs/<id>.idx    "RCKX" u32 version, then one 48-byte entry per record, appended
 * ```
 *
 * A record (little-endian): `RCK2`, u32 length n (2048), the 32-byte key,
 * the photo's sha256, the trunk's sha256 (32 bytes each, zeros when not
 * known), the view name (24 bytes of ASCII, zero-padded), n float32 values,
 * and the CRC-32 of everything after the length: 8,324 bytes for 2,048
 * values. The photo, trunk and view let `rocks cache verify` recompute the
 * key, so a record filed under another key is found, and let `stats` name
 * the trunks. An index entry: the key, the record's u64 offset, the first 4
 * bytes of the trunk's sha256, and the CRC-32 of those 44 bytes.
 *
 * Why packs: one file per record (the layout before, still read) costs an
 * inode and a 4 KiB-rounded 12 KiB of disk for each 8 KiB record, and every
 * copy or merge pays one create and one rename per record; at a million
 * photos that is a million inodes, 1.5× the bytes, and a copy to object
 * storage of a million PUTs (bench/README.md has the measured figures).
 * Packs make a cache a few large files that copy, merge and upload at disk
 * speed.
 *
 * How it stays whole:
 * - each process writes its own pack (a new `<id>` when it first writes, and
 *   again past {@linkcode PACK_BYTES}), so concurrent writers never
 *   interleave and need no lock; folders of caches copied into one stay a
 *   valid cache (ids carry a time, the pid and 32 random bits);
 * - a record is appended to the pack before its index entry is appended to
 *   the index, and only indexed records are read: a process killed between
 *   the two leaves a record nobody reads (`verify` counts it, `merge`
 *   recovers it); one killed inside a write leaves a torn tail, which fails
 *   the length or CRC check and is ignored; after a failed write the process
 *   starts a new pack;
 * - every read checks the magic, the length, the key and the CRC; a record
 *   that fails is dropped from the index in memory and recomputed, and the
 *   new copy, appended later, is read first from then on.
 * @module
 */
import { createHash } from "node:crypto";
import { crc32, toHex } from "../util/hash.ts";

/** The folder of pack files inside a cache folder. */
export const PACKS = "packs";
/** A pack grows to about this many bytes before its writer starts another (1 GiB). */
export const PACK_BYTES = 2 ** 30;
/** The bytes of a record before its values. */
export const RECORD_HEAD = 128;
/** The bytes of one index entry. */
export const INDEX_ENTRY = 48;
/** The bytes of a pack's and an index's header. */
export const FILE_HEAD = 8;
/** The width of the embeddings rocks stores. */
const WIDTH = 2048;
/** A record's bytes for 2,048 values (8,324). */
export const RECORD_BYTES: number = RECORD_HEAD + WIDTH * 4 + 4;

const RECORD_MAGIC = 0x324b4352; // "RCK2" little-endian
const PACK_MAGIC = 0x504b4352; // "RCKP"
const INDEX_MAGIC = 0x584b4352; // "RCKX"
const FORMAT_VERSION = 1;
/** Most values a record may hold: a larger length field is damage. */
const MAX_VALUES = 1 << 16;
/** How often a store looks for records other processes appended, at most (ms). */
const REFRESH_MS = 5000;
/** The key's last ingredient: bumped if what a key means ever changes. */
export const KEY_VERSION = 1;

/** What a record is of: its photo, view and trunk (each may be unknown). */
export interface RecordAbout {
  /** sha256 of the photo's bytes, 64 hex digits. */
  photo?: string;
  /** The view's name (`centre@448`, `crop:123`). */
  view?: string;
  /** The trunk's sha256, 64 hex digits. */
  trunk?: string;
}

/** A record read back and checked. */
export interface PackRecord {
  /** The key, 64 hex digits. */
  key: string;
  /** The values (a copy). */
  values: Float32Array;
  /** Photo, view and trunk, where the writer knew them. */
  about: RecordAbout;
  /** The record's bytes, as stored. */
  bytes: Uint8Array;
  /** The first 4 bytes of the trunk's sha256 as a number (0: unknown). */
  trunkTag: number;
}

const isHex64 = (s: string | undefined): s is string => s !== undefined && /^[0-9a-f]{64}$/.test(s);

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/**
 * A record's cache key: sha256 of `<photo sha256>|<view>|<trunk sha256>|1`.
 * @param photo sha256 of the photo's bytes.
 * @param view The view's name.
 * @param trunk The trunk's checksum.
 * @returns 64 hex digits.
 * @example
 * ```ts
 * import { recordKey } from "./pack.ts";
 * if (recordKey("a".repeat(64), "centre", "b".repeat(64)).length !== 64) throw new Error("sha256 hex");
 * ```
 */
export function recordKey(photo: string, view: string, trunk: string): string {
  return createHash("sha256").update(`${photo}|${view}|${trunk}|${KEY_VERSION}`).digest("hex");
}

/** The first 4 bytes of a trunk checksum as a number (0 when it is not a sha256). */
export function trunkTagOf(trunk: string | undefined): number {
  return isHex64(trunk) ? parseInt(trunk.slice(0, 8), 16) >>> 0 : 0;
}

/**
 * A record's bytes.
 * @param key 64 hex digits.
 * @param values The embedding.
 * @param about Photo, view and trunk, stored so the key can be checked.
 */
export function encodeRecord(key: string, values: Float32Array, about: RecordAbout = {}): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(RECORD_HEAD + n * 4 + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, RECORD_MAGIC, true);
  view.setUint32(4, n, true);
  bytes.set(hexBytes(key), 8);
  if (isHex64(about.photo)) bytes.set(hexBytes(about.photo), 40);
  if (isHex64(about.trunk)) bytes.set(hexBytes(about.trunk), 72);
  const name = new TextEncoder().encode(about.view ?? "");
  if (name.length <= 24 && /^[\x21-\x7e]*$/.test(about.view ?? "")) bytes.set(name, 104);
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, n * 4), RECORD_HEAD);
  view.setUint32(RECORD_HEAD + n * 4, crc32(bytes.subarray(8, RECORD_HEAD + n * 4)), true);
  return bytes;
}

/**
 * The length a record starting with `head` claims, or why it is no record.
 * @param head At least its first 8 bytes.
 */
export function recordLength(head: Uint8Array): number | string {
  if (head.length < 8) return "ends before its header";
  const v = new DataView(head.buffer, head.byteOffset, 8);
  if (v.getUint32(0, true) !== RECORD_MAGIC) return "does not start with RCK2";
  const n = v.getUint32(4, true);
  if (n < 1 || n > MAX_VALUES) return `claims ${n} values`;
  return RECORD_HEAD + n * 4 + 4;
}

/**
 * Checks and reads a record: magic, length, CRC, and the key when one is
 * expected. With photo, view and trunk stored, the key must also be theirs.
 * @param bytes Exactly the record's bytes (or more: the rest is ignored).
 * @param key The key it is filed under, if known.
 * @returns The record, or why it is damaged.
 */
export function decodeRecord(bytes: Uint8Array, key?: string): PackRecord | string {
  const length = recordLength(bytes);
  if (typeof length === "string") return length;
  if (bytes.length < length) return `ends after ${bytes.length} of its ${length} bytes`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, length);
  const end = length - 4;
  if (v.getUint32(end, true) !== crc32(bytes.subarray(8, end))) return "fails its CRC-32";
  const stored = toHex(bytes.subarray(8, 40));
  if (key !== undefined && stored !== key) {
    return `holds key ${stored.slice(0, 12)}…, not ${key.slice(0, 12)}…`;
  }
  const photo = bytes.subarray(40, 72);
  const trunk = bytes.subarray(72, 104);
  const name = bytes.subarray(104, 128);
  const nameEnd = name.indexOf(0) < 0 ? 24 : name.indexOf(0);
  const about: RecordAbout = {
    ...(isZero(photo) ? {} : { photo: toHex(photo) }),
    ...(nameEnd ? { view: new TextDecoder().decode(name.subarray(0, nameEnd)) } : {}),
    ...(isZero(trunk) ? {} : { trunk: toHex(trunk) }),
  };
  if (
    about.photo && about.view && about.trunk && recordKey(about.photo, about.view, about.trunk) !== stored
  ) {
    return "is filed under a key that is not its photo's, view's and trunk's";
  }
  const values = new Float32Array(bytes.slice(RECORD_HEAD, end).buffer);
  return { key: stored, values, about, bytes: bytes.subarray(0, length), trunkTag: trunkTagOf(about.trunk) };
}

function fileHead(magic: number): Uint8Array {
  const head = new Uint8Array(FILE_HEAD);
  const v = new DataView(head.buffer);
  v.setUint32(0, magic, true);
  v.setUint32(4, FORMAT_VERSION, true);
  return head;
}

/** Whether `bytes` start with the header of a pack (`"pack"`) or an index (`"idx"`) this version reads. */
function headerOk(bytes: Uint8Array, kind: "pack" | "idx"): boolean {
  if (bytes.length < FILE_HEAD) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, FILE_HEAD);
  return v.getUint32(0, true) === (kind === "pack" ? PACK_MAGIC : INDEX_MAGIC) &&
    v.getUint32(4, true) === FORMAT_VERSION;
}

/**
 * One index entry's bytes.
 * @param key 64 hex digits.
 * @param offset The record's offset in its pack.
 * @param trunkTag From {@linkcode trunkTagOf}.
 */
export function encodeIndexEntry(key: string, offset: number, trunkTag: number): Uint8Array {
  const e = new Uint8Array(INDEX_ENTRY);
  const v = new DataView(e.buffer);
  e.set(hexBytes(key), 0);
  v.setUint32(32, offset % 2 ** 32, true);
  v.setUint32(36, Math.floor(offset / 2 ** 32), true);
  v.setUint32(40, trunkTag >>> 0, true);
  v.setUint32(44, crc32(e.subarray(0, 44)), true);
  return e;
}

/** One entry of an index. */
export interface IndexEntry {
  /** The key, 64 hex digits. */
  key: string;
  /** The record's offset in its pack. */
  offset: number;
  /** The first 4 bytes of the trunk's sha256 (0: unknown). */
  trunkTag: number;
}

/** An index file's entries, and what was wrong with it. */
export interface ParsedIndex {
  /** Entries that pass their CRC. */
  entries: IndexEntry[];
  /** Entries that fail it (ignored). */
  damaged: number;
  /** Bytes after the last whole entry: a write cut short (ignored). */
  tornBytes: number;
  /** Bytes of whole entries read (the header's included). */
  whole: number;
}

/**
 * Reads index entries from `bytes`.
 * @param bytes Index bytes: a whole file (`start` 0: the header is checked) or what follows `start`.
 * @param start The file offset `bytes` begin at (a multiple of the entry size past the header).
 */
export function parseIndex(bytes: Uint8Array, start = 0): ParsedIndex {
  let at = 0;
  if (start === 0) {
    if (!headerOk(bytes, "idx")) {
      return { entries: [], damaged: 0, tornBytes: bytes.length, whole: 0 };
    }
    at = FILE_HEAD;
  }
  const entries: IndexEntry[] = [];
  let damaged = 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (; at + INDEX_ENTRY <= bytes.length; at += INDEX_ENTRY) {
    if (v.getUint32(at + 44, true) !== crc32(bytes.subarray(at, at + 44))) {
      damaged++;
      continue;
    }
    entries.push({
      key: toHex(bytes.subarray(at, at + 32)),
      offset: v.getUint32(at + 32, true) + v.getUint32(at + 36, true) * 2 ** 32,
      trunkTag: v.getUint32(at + 40, true),
    });
  }
  return { entries, damaged, tornBytes: bytes.length - at, whole: start + at };
}

/** A new pack id: the time (sorts in writing order), the pid and 32 random bits. */
export function newPackId(): string {
  const time = new Date().toISOString().replace(/[-:]/g, "").replace(/\.(\d{3})Z$/, "$1");
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `${time}-${Deno.pid}-${toHex(random)}`;
}

/**
 * Appends `bytes` to a file in one go and returns the offset they start at
 * (the file's size when opened, whatever anyone did to it before).
 */
async function appendAt(path: string, bytes: Uint8Array): Promise<number> {
  const file = await Deno.open(path, { append: true });
  try {
    const at = await file.seek(0, Deno.SeekMode.End);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    return at;
  } finally {
    file.close();
  }
}

/** Reads up to `length` bytes at `offset` of an open file (fewer at its end). */
export async function readFileAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Reads up to `length` bytes at `offset` of the file at `path` (fewer at its end). */
export async function readAt(path: string, offset: number, length: number): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    return await readFileAt(file, offset, length);
  } finally {
    file.close();
  }
}

/** Joins byte arrays. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The pack ids in a cache folder, in name (= writing) order; none when it has no `packs/`. */
export async function packIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${PACKS}`)) {
      if (e.isFile && e.name.endsWith(".idx")) ids.push(e.name.slice(0, -4));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return ids.sort();
}

/** A record to append: its bytes, key and trunk tag. */
export interface Appended {
  /** The record's bytes (from {@linkcode encodeRecord}, or copied from another pack). */
  bytes: Uint8Array;
  /** Its key. */
  key: string;
  /** Its trunk tag. */
  trunkTag: number;
}

/**
 * The records of a cache folder's packs: an index in memory (key → where),
 * reads that check every record, and this process's own pack to append to.
 */
export interface PackStore {
  /** The cache folder. */
  readonly dir: string;
  /** Distinct keys indexed. */
  readonly size: number;
  /** Whether `key` is indexed (its record is not read). */
  has(key: string): boolean;
  /**
   * The values stored under `key`: the newest copy that passes its checks.
   * Copies that fail are dropped from the index (`onDamaged` hears each).
   */
  get(key: string, onDamaged?: (reason: string) => void): Promise<Float32Array | undefined>;
  /**
   * Appends records to this process's pack, then their index entries, in one
   * write each; concurrent calls are queued and written together.
   * @throws When the pack or its index cannot be written (the next call starts a new pack).
   */
  append(records: Appended[]): Promise<void>;
  /** Reads the index entries other processes appended since the last look (at most every 5 s); returns how many. */
  refresh(): Promise<number>;
  /** The packs this store wrote to. */
  readonly written: readonly string[];
}

/**
 * Opens the packs of a cache folder: reads every index (entries that fail
 * their CRC, and a torn last entry, are left out).
 * @param dir The cache folder (its `packs/` is made at the first append).
 * @param options `packBytes`: start a new pack past this size; `refreshMs`: look for other
 *   processes' records at most this often (tests use small ones).
 */
export async function openPackStore(
  dir: string,
  options: { packBytes?: number; refreshMs?: number } = {},
): Promise<PackStore> {
  const limit = options.packBytes ?? PACK_BYTES;
  const refreshMs = options.refreshMs ?? REFRESH_MS;
  const folder = `${dir}/${PACKS}`;
  // Where each key's copies are, newest first: pack number × 2^36 + offset.
  const index = new Map<string, number | number[]>();
  const packs: string[] = [];
  const packNo = new Map<string, number>();
  const indexed = new Map<string, number>(); // index bytes read, per pack
  const own = new Set<string>();
  const written: string[] = [];
  const SPAN = 2 ** 36;
  const add = (key: string, pack: number, offset: number) => {
    const loc = pack * SPAN + offset;
    const at = index.get(key);
    if (at === undefined) index.set(key, loc);
    else if (typeof at === "number") index.set(key, [loc, at]);
    else at.unshift(loc);
  };
  const numberOf = (id: string) => {
    let n = packNo.get(id);
    if (n === undefined) {
      n = packs.length;
      packs.push(id);
      packNo.set(id, n);
    }
    return n;
  };
  const load = async (id: string): Promise<number> => {
    const from = indexed.get(id) ?? 0;
    const path = `${folder}/${id}.idx`;
    let bytes: Uint8Array;
    try {
      if (from === 0) bytes = await Deno.readFile(path);
      else {
        const size = (await Deno.stat(path)).size;
        if (size <= from) return 0;
        bytes = await readAt(path, from, size - from);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }
    if (from === 0 && bytes.length < FILE_HEAD) return 0; // being created: looked at again later
    const parsed = parseIndex(bytes, from);
    indexed.set(id, parsed.whole);
    const n = numberOf(id);
    for (const e of parsed.entries) add(e.key, n, e.offset);
    return parsed.entries.length;
  };
  for (const id of await packIds(dir)) await load(id);
  let lastRefresh = performance.now();

  // This process's pack: made at the first append, replaced past the limit or after a failed write.
  let current: { id: string; size: number } | undefined;
  let queue: { records: Appended[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let draining: Promise<void> | undefined;
  const writeBatch = async (records: Appended[]) => {
    const body = concat(records.map((r) => r.bytes));
    if (!current || (current.size > FILE_HEAD && current.size + body.length > limit)) {
      const id = newPackId();
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeFile(`${folder}/${id}.pack`, fileHead(PACK_MAGIC), { createNew: true });
      await Deno.writeFile(`${folder}/${id}.idx`, fileHead(INDEX_MAGIC), { createNew: true });
      own.add(id);
      written.push(id);
      indexed.set(id, FILE_HEAD);
      current = { id, size: FILE_HEAD };
    }
    const pack = current;
    let start: number;
    try {
      start = await appendAt(`${folder}/${pack.id}.pack`, body);
      pack.size = start + body.length;
      let offset = start;
      const entries = records.map((r) => {
        const e = encodeIndexEntry(r.key, offset, r.trunkTag);
        offset += r.bytes.length;
        return e;
      });
      await appendAt(`${folder}/${pack.id}.idx`, concat(entries));
    } catch (e) {
      current = undefined; // what is on disk is unknown now: the next write starts a new pack
      throw e;
    }
    indexed.set(pack.id, (indexed.get(pack.id) ?? FILE_HEAD) + records.length * INDEX_ENTRY);
    const n = numberOf(pack.id);
    let at = start;
    for (const r of records) {
      add(r.key, n, at);
      at += r.bytes.length;
    }
  };
  const drain = async () => {
    while (queue.length) {
      const batch = queue;
      queue = [];
      try {
        await writeBatch(batch.flatMap((b) => b.records));
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    draining = undefined;
  };

  return {
    dir,
    get size() {
      return index.size;
    },
    has: (key) => index.has(key),
    async get(key, onDamaged) {
      const at = index.get(key);
      if (at === undefined) return undefined;
      for (const loc of typeof at === "number" ? [at] : [...at]) {
        const pack = packs[Math.floor(loc / SPAN)]!;
        const offset = loc % SPAN;
        let record: PackRecord | string;
        try {
          let bytes = await readAt(`${folder}/${pack}.pack`, offset, RECORD_BYTES);
          const length = recordLength(bytes);
          if (typeof length === "number" && length > bytes.length && bytes.length === RECORD_BYTES) {
            bytes = await readAt(`${folder}/${pack}.pack`, offset, length);
          }
          record = decodeRecord(bytes, key);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          record = "is in a pack that is gone";
        }
        if (typeof record !== "string") return record.values;
        onDamaged?.(`${pack}.pack at ${offset}: the record ${record}`);
        const left = index.get(key);
        const rest = typeof left === "number" ? [] : (left ?? []).filter((l) => l !== loc);
        if (rest.length === 0) index.delete(key);
        else index.set(key, rest.length === 1 ? rest[0]! : rest);
      }
      return undefined;
    },
    append(records) {
      if (records.length === 0) return Promise.resolve();
      const done = new Promise<void>((resolve, reject) => queue.push({ records, resolve, reject }));
      draining ??= drain();
      return done;
    },
    async refresh() {
      if (performance.now() - lastRefresh < refreshMs) return 0;
      lastRefresh = performance.now();
      let added = 0;
      for (const id of await packIds(dir)) if (!own.has(id)) added += await load(id);
      return added;
    },
    written,
  };
}

/** One damaged record or index entry, as `verify` and `merge` report it. */
export interface Damage {
  /** The file, relative to the cache folder. */
  file: string;
  /** Where in it (packs and indexes), bytes. */
  offset?: number;
  /** What is wrong. */
  reason: string;
}

/** What one pass over a cache folder's records found. */
export interface CacheScan {
  /** The folder. */
  dir: string;
  /** Pack files. */
  packs: number;
  /** Whole records, copies included. */
  copies: number;
  /** Distinct keys among them. */
  records: number;
  /** Whole records no index lists (a process stopped between the record and its entry): `merge` recovers them. */
  unindexed: number;
  /** Bytes at the end of packs and indexes that hold no whole record or entry: writes cut short, ignored. */
  tornBytes: number;
  /** Records an index lists that fail their checks, index entries that fail theirs, old-layout records that fail. */
  damaged: Damage[];
  /** Records in the one-file-per-record layout of earlier versions (`<xx>/<key>.f32`). */
  legacy: number;
  /** Whole records by trunk checksum (`unknown` where the writer did not say). */
  trunks: Record<string, number>;
}

/**
 * Reads every record of a cache folder, in pack order (and then the old
 * one-file-per-record layout), checking each, and hands the whole ones to
 * `onRecord`. A record's length field that is damaged loses sync: the pass
 * goes on at the next offset an index lists, and what it skipped is damage.
 *
 * Requires --allow-read.
 * @param dir The cache folder.
 * @param onRecord Called with each whole record, in order (awaited).
 * @returns What was found.
 */
export async function scanCache(
  dir: string,
  onRecord?: (record: PackRecord) => Promise<void> | void,
): Promise<CacheScan> {
  const scan: CacheScan = {
    dir,
    packs: 0,
    copies: 0,
    records: 0,
    unindexed: 0,
    tornBytes: 0,
    damaged: [],
    legacy: 0,
    trunks: {},
  };
  const keys = new Set<string>();
  const take = async (r: PackRecord) => {
    scan.copies++;
    keys.add(r.key);
    const trunk = r.about.trunk ?? "unknown";
    scan.trunks[trunk] = (scan.trunks[trunk] ?? 0) + 1;
    await onRecord?.(r);
  };
  for (const id of await packIds(dir)) {
    const rel = `${PACKS}/${id}`;
    let idx: Uint8Array;
    try {
      idx = await Deno.readFile(`${dir}/${rel}.idx`);
    } catch {
      continue;
    }
    const parsed = parseIndex(idx);
    if (!headerOk(idx, "idx")) scan.damaged.push({ file: `${rel}.idx`, reason: "has no RCKX header" });
    if (parsed.damaged) {
      scan.damaged.push({ file: `${rel}.idx`, reason: `${parsed.damaged} entries fail their CRC-32` });
    }
    scan.tornBytes += headerOk(idx, "idx") ? parsed.tornBytes : 0;
    const listed = new Map<number, string>(parsed.entries.map((e) => [e.offset, e.key]));
    const starts = [...listed.keys()].sort((a, b) => a - b);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${dir}/${rel}.pack`);
    } catch {
      if (parsed.entries.length) {
        scan.damaged.push({ file: `${rel}.pack`, reason: `is missing (${parsed.entries.length} records)` });
      }
      continue;
    }
    scan.packs++;
    const size = (await file.stat()).size;
    // A window of the file, read forwards in blocks.
    let buf = new Uint8Array(0);
    let bufAt = 0;
    const window = async (at: number, length: number): Promise<Uint8Array> => {
      if (at < bufAt || at + length > bufAt + buf.length) {
        const want = Math.min(Math.max(length, 8 << 20), size - at);
        const next = new Uint8Array(Math.max(want, 0));
        await file.seek(at, Deno.SeekMode.Start);
        let got = 0;
        while (got < next.length) {
          const n = await file.read(next.subarray(got));
          if (n === null) break;
          got += n;
        }
        buf = next.subarray(0, got);
        bufAt = at;
      }
      return buf.subarray(at - bufAt, Math.min(at - bufAt + length, buf.length));
    };
    try {
      const head = await window(0, FILE_HEAD);
      if (!headerOk(head, "pack")) {
        scan.damaged.push({ file: `${rel}.pack`, reason: "has no RCKP header" });
        continue;
      }
      const seen = new Set<number>();
      let at = FILE_HEAD;
      while (at < size) {
        const length = recordLength(await window(at, 8));
        if (typeof length === "string" || at + length > size) {
          const next = firstAbove(starts, at);
          // No record starts here: resync at the next listed offset, or the rest is a torn tail.
          const why = typeof length === "string" ? length : `ends after ${size - at} of its ${length} bytes`;
          if (next === undefined) {
            if (listed.has(at)) {
              scan.damaged.push({ file: `${rel}.pack`, offset: at, reason: `the record ${why}` });
            } else scan.tornBytes += size - at;
            break;
          }
          scan.damaged.push({
            file: `${rel}.pack`,
            offset: at,
            reason: `${next - at} bytes hold no record (${why})`,
          });
          at = next;
          continue;
        }
        const record = decodeRecord(await window(at, length));
        const key = listed.get(at);
        if (typeof record === "string") {
          scan.damaged.push({ file: `${rel}.pack`, offset: at, reason: `the record ${record}` });
        } else if (key !== undefined && key !== record.key) {
          scan.damaged.push({ file: `${rel}.idx`, offset: at, reason: "an entry names another key" });
        } else {
          if (key === undefined) scan.unindexed++;
          await take(record);
        }
        seen.add(at);
        at += length;
      }
      for (const s of starts) {
        if (!seen.has(s) && !scan.damaged.some((d) => d.offset === s)) {
          scan.damaged.push({ file: `${rel}.idx`, offset: s, reason: "an entry points at no record" });
        }
      }
    } finally {
      file.close();
    }
  }
  // The layout of earlier versions: <xx>/<key>.f32, RCK1 records.
  for (const sub of await legacyFolders(dir)) {
    for await (const e of Deno.readDir(`${dir}/${sub}`)) {
      if (!e.isFile || !/^[0-9a-f]{64}\.f32$/.test(e.name)) continue;
      const file = `${sub}/${e.name}`;
      const values = decodeLegacyRecord(await Deno.readFile(`${dir}/${file}`));
      if (!values) {
        scan.damaged.push({ file, reason: "fails its RCK1 checks (magic, length, CRC-32)" });
        continue;
      }
      scan.legacy++;
      const key = e.name.slice(0, 64);
      await take({ key, values, about: {}, bytes: encodeRecord(key, values), trunkTag: 0 });
    }
  }
  scan.records = keys.size;
  return scan;
}

/** The first of the sorted `starts` above `at`, if any. */
function firstAbove(starts: number[], at: number): number | undefined {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! > at) hi = mid;
    else lo = mid + 1;
  }
  return starts[lo];
}

/** The two-hex-digit folders of the one-file-per-record layout in `dir`. */
export async function legacyFolders(dir: string): Promise<string[]> {
  const subs: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && /^[0-9a-f]{2}$/.test(e.name)) subs.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return subs.sort();
}

const LEGACY_MAGIC = 0x314b4352; // "RCK1"

/**
 * A record file of the one-file-per-record layout: `RCK1`, u32 length, the
 * float32 values, CRC-32 of the values.
 * @returns The values, or undefined when it fails its checks.
 */
export function decodeLegacyRecord(bytes: Uint8Array): Float32Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length >= 12 ? view.getUint32(4, true) : -1;
  const ok = bytes.length >= 12 && view.getUint32(0, true) === LEGACY_MAGIC && bytes.length === 12 + n * 4 &&
    view.getUint32(8 + n * 4, true) === crc32(bytes.subarray(8, 8 + n * 4));
  return ok
    ? new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8, bytes.byteOffset + 8 + n * 4))
    : undefined;
}
