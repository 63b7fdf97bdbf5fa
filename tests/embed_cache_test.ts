import { assert, assertEquals } from "./_assert.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed/cache.ts";
import { crc32 } from "../lib/util/hash.ts";
import type { EmbedJob, EmbedResult } from "../lib/embed/job.ts";
import { RocksError } from "../lib/util/errors.ts";
import { assertRejects } from "./_assert.ts";
import { tempDir, texturePng } from "./_helpers.ts";
import { readCacheFiles } from "./_cache_files.ts";

/** A stand-in embedder that counts calls: its "embedding" is derived from the path and view. */
function countingEmbedder() {
  const calls: EmbedJob[] = [];
  const embed = (jobs: EmbedJob[]): Promise<EmbedResult[]> => {
    calls.push(...jobs);
    return Promise.resolve(jobs.map((j) => {
      if (j.path.endsWith("bad.png")) return { error: "bad photo" };
      const e = new Float32Array(2048);
      e[0] = j.view.length;
      e[1] = j.path.length;
      return { embedding: e };
    }));
  };
  return { calls, embed };
}

Deno.test("crc32() matches the IEEE check value", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("cachedEmbedder() computes each (photo bytes, view, trunk) once and keys by content", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a.png`, texturePng("stripes", 1));
  await Deno.writeFile(`${dir.path}/copy-of-a.png`, texturePng("stripes", 1));
  await Deno.writeFile(`${dir.path}/b.png`, texturePng("speckle", 1));
  await Deno.writeTextFile(`${dir.path}/bad.png`, "x");
  const cache = await openEmbedCache(`${dir.path}/cache`);
  const inner = countingEmbedder();
  const embed = cachedEmbedder(inner.embed, cache, "trunk-1");
  const jobs: EmbedJob[] = [
    { path: `${dir.path}/a.png`, view: "centre" },
    { path: `${dir.path}/b.png`, view: "crop:5" },
    { path: `${dir.path}/bad.png`, view: "centre" },
  ];
  const first = await embed(jobs);
  assertEquals(inner.calls.length, 3);
  const second = await embed([...jobs, { path: `${dir.path}/copy-of-a.png`, view: "centre" }]);
  // Only the bad photo (never cached) is computed again; the copy has the same bytes as a.png.
  assertEquals(inner.calls.length, 4);
  assertEquals(second.slice(0, 3), first);
  assertEquals(second[3], first[0]);
  assertEquals(cache.stats.hits, 3);
  // Another view, another trunk: computed.
  await embed([{ path: `${dir.path}/a.png`, view: "crop:6" }]);
  await cachedEmbedder(inner.embed, cache, "trunk-2")([{ path: `${dir.path}/a.png`, view: "centre" }]);
  assertEquals(inner.calls.length, 6);
});

Deno.test("openEmbedCache() drops a damaged or half-written record and recomputes it", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a.png`, texturePng("stripes", 2));
  const cache = await openEmbedCache(`${dir.path}/cache`);
  const inner = countingEmbedder();
  const embed = cachedEmbedder(inner.embed, cache, "t");
  const [first] = await embed([{ path: `${dir.path}/a.png`, view: "centre" }]);
  // One pack holding one record (header 8 bytes, record 128 + 2048 × 4 + 4), and its index.
  const written = readCacheFiles(`${dir.path}/cache`);
  assertEquals(written.records.length, 1);
  assertEquals(written.entries.length, 1);
  const pack = `${dir.path}/cache/${written.records[0]!.pack}`;
  const bytes = await Deno.readFile(pack);
  assertEquals(bytes.length, 8 + 128 + 2048 * 4 + 4);
  // Cut short (a write killed half-way), then one bit flipped in the values.
  for (const damage of [bytes.subarray(0, 5000), bytes.map((b, i) => (i === 8 + 128 + 100 ? b ^ 1 : b))]) {
    await Deno.writeFile(pack, damage);
    const before = inner.calls.length;
    const [again] = await embed([{ path: `${dir.path}/a.png`, view: "centre" }]);
    assertEquals(inner.calls.length, before + 1);
    assertEquals(again, first);
  }
  assertEquals(cache.stats.corrupt, 2);
  // The record was written again, whole, after the damaged bytes; a new process reads it without the trunk.
  const after = readCacheFiles(`${dir.path}/cache`);
  assert(after.records.some((r) => r.crcOk && r.offset > 8), "the record was written again");
  const reopened = await openEmbedCache(`${dir.path}/cache`);
  const fresh = countingEmbedder();
  const [read] = await cachedEmbedder(fresh.embed, reopened, "t")([{
    path: `${dir.path}/a.png`,
    view: "centre",
  }]);
  assertEquals([fresh.calls.length, reopened.stats.hits, reopened.stats.corrupt], [0, 1, 0]);
  assertEquals(read, first);
});

Deno.test("openEmbedCache() refuses a folder it cannot write", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  await assertRejects(() => openEmbedCache(`${dir.path}/file/cache`), RocksError, "is not writable");
});
