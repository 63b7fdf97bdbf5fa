import { assert, assertEquals } from "./_assert.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed/cache.ts";
import { crc32 } from "../lib/util/hash.ts";
import type { EmbedJob, EmbedResult } from "../lib/embed/job.ts";
import { RocksError } from "../lib/util/errors.ts";
import { assertRejects } from "./_assert.ts";
import { tempDir, texturePng } from "./_helpers.ts";

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
  const records: string[] = [];
  for (const sub of Deno.readDirSync(`${dir.path}/cache`)) {
    for (const f of Deno.readDirSync(`${dir.path}/cache/${sub.name}`)) {
      records.push(`${dir.path}/cache/${sub.name}/${f.name}`);
    }
  }
  assertEquals(records.length, 1);
  const bytes = await Deno.readFile(records[0]!);
  assertEquals(bytes.length, 12 + 2048 * 4);
  for (const damage of [bytes.subarray(0, 5000), bytes.map((b, i) => (i === 100 ? b ^ 1 : b))]) {
    await Deno.writeFile(records[0]!, damage);
    const before = inner.calls.length;
    const [again] = await embed([{ path: `${dir.path}/a.png`, view: "centre" }]);
    assertEquals(inner.calls.length, before + 1);
    assertEquals(again, first);
  }
  assertEquals(cache.stats.corrupt, 2);
  assert((await Deno.readFile(records[0]!)).length === 12 + 2048 * 4, "the record was written again");
});

Deno.test("openEmbedCache() refuses a folder it cannot write", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  await assertRejects(() => openEmbedCache(`${dir.path}/file/cache`), RocksError, "is not writable");
});
