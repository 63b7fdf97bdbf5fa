/**
 * The embedding cache's files read by the tests' own parser of the format
 * (lib/embed/pack.ts's module doc), not by the library's: a pack is `RCKP`,
 * u32 version 1, then records (`RCK2`, u32 n, 120 bytes of key, photo,
 * trunk and view, n float32, CRC-32 of everything after n); an index is
 * `RCKX`, u32 version 1, then 48-byte entries (key, u64 offset, trunk tag,
 * CRC-32 of the 44 bytes before it).
 * @module
 */
import { crc32 } from "../lib/util/hash.ts";

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** One record found by walking a pack from its header. */
export interface FoundRecord {
  /** The pack's file name. */
  pack: string;
  /** Where it starts. */
  offset: number;
  /** Its key, hex. */
  key: string;
  /** Its length in bytes. */
  length: number;
  /** Whether its CRC-32 holds. */
  crcOk: boolean;
}

/** What a cache folder's packs and indexes hold, as the tests read them. */
export interface CacheFiles {
  /** Every file under the folder, relative. */
  files: string[];
  /** Records walked from each pack's header, in order. */
  records: FoundRecord[];
  /** Bytes at the end of packs that hold no whole record (a write cut short). */
  tornBytes: number;
  /** Index entries, with whether their CRC holds and whether a whole record with their key starts at their offset. */
  entries: { pack: string; key: string; offset: number; crcOk: boolean; pointsAtRecord: boolean }[];
  /** Packs and indexes whose header is not version 1's. */
  badHeaders: string[];
}

function filesUnder(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}${rel}`)) {
    if (e.isDirectory) out.push(...filesUnder(dir, `${rel}/${e.name}`));
    else out.push(`${rel}/${e.name}`.slice(1));
  }
  return out.sort();
}

/**
 * Reads a cache folder's packs and indexes with the tests' own parser.
 * @param dir The cache folder.
 */
export function readCacheFiles(dir: string): CacheFiles {
  const out: CacheFiles = { files: filesUnder(dir), records: [], tornBytes: 0, entries: [], badHeaders: [] };
  for (const f of out.files.filter((f) => f.startsWith("packs/") && f.endsWith(".pack"))) {
    const b = Deno.readFileSync(`${dir}/${f}`);
    if (b.length < 8 || u32(b, 0) !== 0x504b4352 || u32(b, 4) !== 1) {
      out.badHeaders.push(f);
      continue;
    }
    let at = 8;
    while (at < b.length) {
      const n = at + 8 <= b.length && u32(b, at) === 0x324b4352 ? u32(b, at + 4) : -1;
      const length = 128 + 4 * n + 4;
      if (n < 1 || at + length > b.length) {
        out.tornBytes += b.length - at;
        break;
      }
      const end = at + length - 4;
      out.records.push({
        pack: f,
        offset: at,
        key: hex(b.subarray(at + 8, at + 40)),
        length,
        crcOk: u32(b, end) === crc32(b.subarray(at + 8, end)),
      });
      at += length;
    }
  }
  for (const f of out.files.filter((f) => f.startsWith("packs/") && f.endsWith(".idx"))) {
    const b = Deno.readFileSync(`${dir}/${f}`);
    if (b.length < 8 || u32(b, 0) !== 0x584b4352 || u32(b, 4) !== 1) {
      out.badHeaders.push(f);
      continue;
    }
    const pack = f.replace(/\.idx$/, ".pack");
    for (let at = 8; at + 48 <= b.length; at += 48) {
      const key = hex(b.subarray(at, at + 32));
      const offset = u32(b, at + 32) + u32(b, at + 36) * 2 ** 32;
      out.entries.push({
        pack,
        key,
        offset,
        crcOk: u32(b, at + 44) === crc32(b.subarray(at, at + 44)),
        pointsAtRecord: out.records.some((r) =>
          r.pack === pack && r.offset === offset && r.key === key && r.crcOk
        ),
      });
    }
  }
  return out;
}

/**
 * Whether every record of a cache folder is whole and indexed, with no
 * temporary files: every pack walks to its end in whole records whose CRC
 * holds, and every index entry is whole and points at one.
 * @returns Why not, or an empty string.
 */
export function cacheProblems(dir: string): string {
  const c = readCacheFiles(dir);
  const problems: string[] = [];
  const strays = c.files.filter((f) => !/^packs\/[^/]+\.(pack|idx)$/.test(f));
  if (strays.length) problems.push(`files that are not packs or indexes: ${strays.join(", ")}`);
  if (c.badHeaders.length) problems.push(`bad headers: ${c.badHeaders.join(", ")}`);
  if (c.tornBytes) problems.push(`${c.tornBytes} torn bytes`);
  const bad = c.records.filter((r) => !r.crcOk);
  if (bad.length) problems.push(`${bad.length} records fail their CRC`);
  const entries = c.entries.filter((e) => !e.crcOk || !e.pointsAtRecord);
  if (entries.length) problems.push(`${entries.length} index entries are damaged or point at no record`);
  const indexed = new Set(c.entries.map((e) => `${e.pack}@${e.offset}`));
  const unindexed = c.records.filter((r) => !indexed.has(`${r.pack}@${r.offset}`));
  if (unindexed.length) problems.push(`${unindexed.length} records no index lists`);
  return problems.join("; ");
}
