/**
 * The cache's pack files (lib/embed/pack.ts) and the tools over whole cache
 * folders (lib/embed/cache_tools.ts): a torn tail, a damaged record, a
 * damaged length field, a record without its index entry, concurrent
 * writers in separate processes, packs rolling over, the old
 * one-file-per-record layout, merge and stats.
 * @module
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed/cache.ts";
import { cacheSummary, mergeCaches } from "../lib/embed/cache_tools.ts";
import { decodeRecord, encodeRecord, openPackStore, recordKey, scanCache } from "../lib/embed/pack.ts";
import { crc32 } from "../lib/util/hash.ts";
import { RocksError } from "../lib/util/errors.ts";
import { ROOT, tempDir, texturePng } from "./_helpers.ts";
import { cacheProblems, readCacheFiles } from "./_cache_files.ts";

const RECORD = 128 + 2048 * 4 + 4;

/** A key and an embedding made from a number. */
function record(i: number) {
  const photo = i.toString(16).padStart(64, "0");
  const trunk = "ab".repeat(32);
  const view = `crop:${i}`;
  const values = new Float32Array(2048).map((_, k) => i + k / 2048);
  return { key: recordKey(photo, view, trunk), values, about: { photo, view, trunk } };
}

async function putAll(dir: string, from: number, to: number, packBytes?: number) {
  const cache = await openEmbedCache(dir, packBytes ? { packBytes } : {});
  for (let i = from; i < to; i++) {
    const r = record(i);
    await cache.put(r.key, r.values, r.about);
  }
  return cache;
}

async function readAll(dir: string, from: number, to: number) {
  const cache = await openEmbedCache(dir);
  let found = 0;
  for (let i = from; i < to; i++) {
    const r = record(i);
    const got = await cache.get(r.key);
    if (got && got.every((v, k) => v === r.values[k])) found++;
  }
  return { found, cache };
}

const packOf = (dir: string) => `${dir}/${readCacheFiles(dir).files.find((f) => f.endsWith(".pack"))}`;
const indexOf = (dir: string) => packOf(dir).replace(/\.pack$/, ".idx");

Deno.test("a record holds its key, photo, view and trunk; one filed under another key is refused", () => {
  const r = record(7);
  const bytes = encodeRecord(r.key, r.values, r.about);
  assertEquals(bytes.length, RECORD);
  const back = decodeRecord(bytes, r.key);
  assert(typeof back !== "string", String(back));
  assertEquals(back.about, r.about);
  assertEquals(back.values, r.values);
  const wrong = encodeRecord(record(8).key, r.values, r.about); // CRC holds, the key is not this photo's
  assertEquals(decodeRecord(wrong), "is filed under a key that is not its photo's, view's and trunk's");
  assertEquals(decodeRecord(bytes, record(8).key).toString().startsWith("holds key"), true);
  assertEquals(decodeRecord(bytes.subarray(0, 8000)), "ends after 8000 of its 8324 bytes");
});

Deno.test("a torn tail (a writer killed inside a write) is ignored: every whole record is read", async () => {
  await using dir = await tempDir();
  await putAll(dir.path, 0, 3);
  // What a kill inside the next write leaves: half a record, and half an index entry.
  const half = encodeRecord(record(3).key, record(3).values, record(3).about).subarray(0, 3000);
  await Deno.writeFile(packOf(dir.path), half, { append: true });
  await Deno.writeFile(indexOf(dir.path), new Uint8Array(20), { append: true });
  const { found, cache } = await readAll(dir.path, 0, 4);
  assertEquals([found, cache.stats.corrupt], [3, 0]);
  const scan = await scanCache(dir.path);
  assertEquals([scan.records, scan.damaged.length, scan.tornBytes], [3, 0, 3000 + 20]);
  // Writing goes on in a new pack of this process's own.
  await putAll(dir.path, 3, 5);
  assertEquals((await readAll(dir.path, 0, 5)).found, 5);
  assertEquals(readCacheFiles(dir.path).files.filter((f) => f.endsWith(".pack")).length, 2);
});

Deno.test("a damaged record is not read, is reported by verify, left out by merge, and recomputed", async () => {
  await using dir = await tempDir();
  await putAll(dir.path, 0, 3);
  const pack = packOf(dir.path);
  const bytes = await Deno.readFile(pack);
  bytes[8 + RECORD + 500]! ^= 0x10; // a bit of the second record's values
  await Deno.writeFile(pack, bytes);
  const { found, cache } = await readAll(dir.path, 0, 3);
  assertEquals([found, cache.stats.corrupt], [2, 1]);
  const scan = await scanCache(`${dir.path}`);
  assertEquals(scan.damaged, [{
    file: scan.damaged[0]!.file,
    offset: 8 + RECORD,
    reason: "the record fails its CRC-32",
  }]);
  assertEquals(scan.records, 2);
  await using merged = await tempDir();
  const report = await mergeCaches([dir.path], merged.path);
  assertEquals([report.copied, report.damaged, report.records], [2, 1, 2]);
  // Through the cache: recomputed once, then read.
  const inner = { calls: 0 };
  await Deno.writeFile(`${dir.path}/p.png`, texturePng("stripes", 1));
  const embed = cachedEmbedder(
    async (jobs) => {
      inner.calls += jobs.length;
      return await Promise.resolve(jobs.map(() => ({ embedding: new Float32Array(2048).fill(1) })));
    },
    cache,
    "t",
  );
  await embed([{ path: `${dir.path}/p.png`, view: "centre" }]);
  await embed([{ path: `${dir.path}/p.png`, view: "centre" }]);
  assertEquals(inner.calls, 1);
});

Deno.test("a damaged length field: verify goes on at the next indexed record", async () => {
  await using dir = await tempDir();
  await putAll(dir.path, 0, 3);
  const pack = packOf(dir.path);
  const bytes = await Deno.readFile(pack);
  new DataView(bytes.buffer).setUint32(8 + RECORD + 4, 999_999, true); // record 2 claims 999,999 values
  await Deno.writeFile(pack, bytes);
  const scan = await scanCache(dir.path);
  assertEquals(scan.records, 2);
  assertEquals(scan.damaged.length, 1);
  assert(scan.damaged[0]!.reason.includes("hold no record (claims 999999 values)"), scan.damaged[0]!.reason);
  assertEquals((await readAll(dir.path, 0, 3)).found, 2);
});

Deno.test("a record whose index entry was never written is not read, and merge recovers it", async () => {
  await using dir = await tempDir();
  await putAll(dir.path, 0, 2);
  // A writer stopped between appending the record and appending its entry.
  const r = record(2);
  await Deno.writeFile(packOf(dir.path), encodeRecord(r.key, r.values, r.about), { append: true });
  assertEquals((await readAll(dir.path, 0, 3)).found, 2);
  const scan = await scanCache(dir.path);
  assertEquals([scan.records, scan.unindexed, scan.damaged.length], [3, 1, 0]);
  await using merged = await tempDir();
  await mergeCaches([dir.path], merged.path);
  assertEquals((await readAll(merged.path, 0, 3)).found, 3);
  assertEquals(cacheProblems(merged.path), "");
});

Deno.test("writers in three processes at once each append their own packs, never interleaved", async () => {
  await using dir = await tempDir();
  const script = `
    import { openEmbedCache } from "${ROOT}/lib/embed/cache.ts";
    import { recordKey } from "${ROOT}/lib/embed/pack.ts";
    const [dir, from, to] = Deno.args;
    const cache = await openEmbedCache(dir, { packBytes: 400_000 });
    const puts = [];
    for (let i = Number(from); i < Number(to); i++) {
      const photo = i.toString(16).padStart(64, "0");
      const values = new Float32Array(2048).map((_, k) => i + k / 2048);
      puts.push(cache.put(recordKey(photo, "crop:" + i, "ab".repeat(32)), values, { photo, view: "crop:" + i, trunk: "ab".repeat(32) }));
      if (puts.length === 7) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
    if (cache.stats.writeErrors) throw new Error("write errors");
  `;
  await Deno.writeTextFile(`${dir.path}/writer.ts`, script);
  const runs = [0, 1, 2].map((w) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${dir.path}/writer.ts`,
        `${dir.path}/cache`,
        String(w * 200),
        String(w * 200 + 200),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  for (const out of await Promise.all(runs)) assert(out.success, new TextDecoder().decode(out.stderr));
  assertEquals(cacheProblems(`${dir.path}/cache`), "");
  const files = readCacheFiles(`${dir.path}/cache`);
  // 200 records of 8,324 bytes a writer, at most 400 kB a pack: several packs each, every pack one writer's.
  const packs = new Map<string, Set<number>>();
  for (let i = 0; i < 600; i++) {
    const at = files.records.find((r) => r.key === record(i).key);
    assert(at, `record ${i} is in a pack`);
    const set = packs.get(at.pack) ?? new Set<number>();
    set.add(Math.floor(i / 200));
    packs.set(at.pack, set);
  }
  assert(packs.size >= 3 * 4, `${packs.size} packs`);
  for (const [pack, writers] of packs) assertEquals(writers.size, 1, `${pack} holds records of two writers`);
  assertEquals((await readAll(`${dir.path}/cache`, 0, 600)).found, 600);
});

Deno.test("a cache sees the records another process adds, once it looks again", async () => {
  await using dir = await tempDir();
  const reader = await openEmbedCache(dir.path, { refreshMs: 0 });
  await putAll(dir.path, 0, 2);
  assertEquals(await reader.get(record(0).key), undefined);
  assertEquals(await reader.refresh!(), 2);
  assertEquals(await reader.get(record(1).key), record(1).values);
  const slow = await openPackStore(dir.path, { refreshMs: 60_000 });
  await putAll(dir.path, 2, 3);
  assertEquals(await slow.refresh(), 0, "not before its interval");
});

Deno.test("the old one-file-per-record layout is still read, a damaged old record is recomputed, merge packs them", async () => {
  await using dir = await tempDir();
  // Two records as rocks 0.1 wrote them: <xx>/<key>.f32 holding RCK1, n, the values, CRC-32 of the values.
  const old = (i: number) => {
    const r = record(i);
    const bytes = new Uint8Array(12 + 2048 * 4);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 0x314b4352, true);
    v.setUint32(4, 2048, true);
    bytes.set(new Uint8Array(r.values.buffer), 8);
    v.setUint32(8 + 2048 * 4, crc32(bytes.subarray(8, 8 + 2048 * 4)), true);
    return { path: `${dir.path}/${r.key.slice(0, 2)}/${r.key}.f32`, bytes, ...r };
  };
  for (const i of [0, 1]) {
    const o = old(i);
    await Deno.mkdir(o.path.slice(0, o.path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(o.path, i === 1 ? o.bytes.subarray(0, 100) : o.bytes);
  }
  const { found, cache } = await readAll(dir.path, 0, 2);
  assertEquals([found, cache.stats.corrupt], [1, 1]);
  await assertRejects(() => Deno.stat(old(1).path), Deno.errors.NotFound); // the damaged old record is gone
  await cache.put(record(1).key, record(1).values, record(1).about); // recomputed: into a pack
  const summary = await cacheSummary(dir.path);
  assertEquals([summary.records, summary.legacyRecords, summary.packs], [2, 1, 1]);
  await using merged = await tempDir();
  const report = await mergeCaches([dir.path], merged.path);
  assertEquals([report.copied, report.sources[0]!.legacy], [2, 1]);
  assertEquals((await readAll(merged.path, 0, 2)).found, 2);
  assertEquals(cacheProblems(merged.path), "");
});

Deno.test("merge keeps one copy of each key from many caches, refuses to merge into a source; stats count", async () => {
  await using dir = await tempDir();
  await putAll(`${dir.path}/a`, 0, 30);
  await putAll(`${dir.path}/b`, 20, 50, 100_000); // 10 keys in common; small packs
  await putAll(`${dir.path}/b`, 45, 50); // a second copy of 5 keys in b itself
  const b = await cacheSummary(`${dir.path}/b`);
  assertEquals([b.records, b.entries], [30, 35]);
  assert(b.packs >= 3, `${b.packs} packs`);
  assertEquals(b.trunks, { ["ab".repeat(32)]: 35 });
  const report = await mergeCaches([`${dir.path}/a`, `${dir.path}/b`], `${dir.path}/m`);
  assertEquals([report.copied, report.duplicates, report.damaged, report.records], [50, 15, 0, 50]);
  assertEquals(report.packs.length, 1);
  const m = await cacheSummary(`${dir.path}/m`);
  assertEquals([m.records, m.entries, m.files, m.bytes], [50, 50, 2, 8 + 50 * RECORD + 8 + 50 * 48]);
  assertEquals((await readAll(`${dir.path}/m`, 0, 50)).found, 50);
  // Merging again adds nothing; merging into a source is refused.
  const again = await mergeCaches([`${dir.path}/a`], `${dir.path}/m`);
  assertEquals([again.copied, again.duplicates], [0, 30]);
  await assertRejects(
    () => mergeCaches([`${dir.path}/a`, `${dir.path}/m`], `${dir.path}/m`),
    RocksError,
    "is one of the caches to merge",
  );
  // A plain copy of two caches into one folder is a cache too.
  await Deno.mkdir(`${dir.path}/copy/packs`, { recursive: true });
  for (const src of ["a", "b"]) {
    for (const f of Deno.readDirSync(`${dir.path}/${src}/packs`)) {
      await Deno.copyFile(`${dir.path}/${src}/packs/${f.name}`, `${dir.path}/copy/packs/${f.name}`);
    }
  }
  assertEquals((await readAll(`${dir.path}/copy`, 0, 50)).found, 50);
});
