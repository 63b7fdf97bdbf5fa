import { assert, assertEquals } from "./_assert.ts";
import { createPool } from "../lib/embed/pool.ts";
import { countingEmbedder, openEmbedder } from "../lib/embed/embedder.ts";
import type { EmbedJob, EmbedResult } from "../lib/embed/job.ts";
import { manifestSha256 } from "../lib/trunk/weights.ts";
import { resolveBackend } from "../lib/trunk/backend.ts";
import { fileTempDir, SPACE_ROCKS, tempDir, writeTextureDataset } from "./_helpers.ts";
import { testEmbedder } from "./_trunk.ts";

const dir = { path: fileTempDir("rocks-pool-") };
await writeTextureDataset(dir.path, 4);
const photos = [
  ...[...Deno.readDirSync(`${dir.path}/stripes`)].map((e) => `${dir.path}/stripes/${e.name}`).sort(),
  `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`,
  `${SPACE_ROCKS}/Highland/Crustal_Anorthosite_s72-41777.jpg`,
];
const jobs: EmbedJob[] = [
  ...photos.map((path) => ({ path, view: "centre" as const })),
  { path: photos[4]!, view: "crop:12345" },
  { path: `${dir.path}/missing.png`, view: "centre" },
  ...photos.slice(0, 2).map((path) => ({ path, view: "crop:7" as const })),
];
/** What one thread gives for `jobs` (float32, as the pools here run): the results every pool run must equal. */
let referenceRun: Promise<EmbedResult[]> | undefined;
const reference = async () => await (referenceRun ??= testEmbedder().then((e) => e.embed(jobs)));

function sameResults(a: EmbedResult[], b: EmbedResult[], what: string) {
  assertEquals(a.length, b.length, what);
  a.forEach((r, i) => {
    const s = b[i]!;
    if ("error" in r) assert("error" in s && s.error === r.error, `${what} ${i}: ${JSON.stringify(s)}`);
    else {
      assert("embedding" in s, `${what} ${i}: ${JSON.stringify(s)}`);
      assertEquals(Array.from(s.embedding), Array.from(r.embedding), `${what} ${i}`);
    }
  });
}

Deno.test("createPool() gives the same embeddings, in the same order, as one thread", async () => {
  const pool = await createPool({ workers: 2, precision: "fp32" }); // as the reference
  try {
    assertEquals(pool.size, 2);
    const progress: number[] = [];
    const got = await pool.embed(jobs, (done) => progress.push(done));
    sameResults(await reference(), got, "pool");
    assertEquals(progress.at(-1), jobs.length);
    assert("error" in got[7]! && got[7].error.includes("missing.png does not exist"));
  } finally {
    pool.close();
  }
});

Deno.test("createPool() decides `auto` once, in this thread: its workers are given the backend's name and ask no GPU themselves", async () => {
  const pool = await createPool({ workers: 1, precision: "fp32" });
  try {
    // A worker asked for a backend by name does not look for an adapter (`adapter` stays unset); one
    // given `auto` would have, loading the GPU driver in its own thread.
    assertEquals(pool.backend.name, await resolveBackend("auto"));
    assert(pool.backend.requested !== "auto", `the worker was asked for ${pool.backend.requested}`);
    assertEquals(pool.backend.adapter, undefined);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() loses no photo when a worker dies mid-run", async () => {
  const warnings: string[] = [];
  // The first worker dies on its first chunk, which it always gets (idle workers take chunks in order), while
  // the other goes on: whichever worker is faster, the crash happens (crashAfter 2 did not when the other
  // worker took 5 of the 6 chunks on a busy machine).
  const pool = await createPool({
    workers: 2,
    precision: "fp32",
    batchSize: 1,
    crashAfter: 0,
    onWorkerError: (m) => warnings.push(m),
  });
  try {
    const got = await pool.embed(jobs.slice(0, 6));
    sameResults((await reference()).slice(0, 6), got, "after crashes");
    assert(warnings.length >= 1 && warnings[0]!.includes("died"), warnings.join("; "));
    assert(pool.restarts >= 1, `restarts: ${pool.restarts}`);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() gives up on a worker that does not start in time, with an error naming it", async () => {
  const e = await createPool({ workers: 1, startTimeoutMs: 1 }).then(() => undefined, (e) => e);
  assert(
    e instanceof Error && /Embedding worker \d+ did not start within 0.001 s/.test(e.message),
    String(e),
  );
});

Deno.test("openEmbedder() starts its workers at the first photo the cache lacks, not before", async () => {
  await using dir = await tempDir("rocks-lazy-");
  const cache = dir.path;
  const some = jobs.slice(0, 3);
  const first = await openEmbedder({ workers: 2, backend: "wasm", cache, precision: "fp32" });
  assertEquals(first.started, false);
  assertEquals(first.trunk.sha256, await manifestSha256()); // the cache is keyed before any trunk loads
  sameResults(await first.embed(some), (await reference()).slice(0, 3), "cold");
  assertEquals(first.started, true);
  first.close();
  // Every embedding cached: no worker starts, the results are the same.
  const second = await openEmbedder({ workers: 2, backend: "wasm", cache, precision: "fp32" });
  const counted = countingEmbedder(second, () => {});
  sameResults(await counted.embed(some), (await reference()).slice(0, 3), "warm");
  assertEquals(counted.started, false);
  // One photo more: now the workers start, and the getter says so through the counting wrapper too.
  sameResults(await counted.embed(jobs.slice(0, 4)), (await reference()).slice(0, 4), "one more");
  assertEquals(counted.started, true);
  second.close();
});

Deno.test("countingEmbedder() counts overlapping calls without counting a view twice", async () => {
  const seen: number[] = [];
  const slow = {
    embed: async (js: EmbedJob[], onProgress?: (done: number, total: number) => void) => {
      for (let i = 1; i <= js.length; i++) {
        await new Promise((r) => setTimeout(r, 1));
        onProgress?.(i, js.length);
      }
      return js.map(() => ({ error: "not embedded" }));
    },
  };
  const counted = countingEmbedder(slow, (n) => seen.push(n));
  await Promise.all([counted.embed(jobs.slice(0, 5)), counted.embed(jobs.slice(0, 3))]);
  assertEquals(seen.at(-1), 8);
  assert(seen.every((n) => n <= 8), JSON.stringify(seen));
});
