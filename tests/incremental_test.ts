import { assert, assertEquals } from "./_assert.ts";
import { flags, runCli, tempDir, texturePng, writeTextureDataset } from "./_helpers.ts";
import { cacheProblems, readCacheFiles } from "./_cache_files.ts";

interface TrainJson {
  trainCount: number;
  views: number;
  trunkRuns: number;
  cacheHits: number;
  testAccuracy: number | null;
}

async function train(data: string, cache: string, out: string, extra: string[] = []): Promise<TrainJson> {
  // The course's preset: random crops each epoch, which the cache keys by (seed, epoch, photo).
  const r = await runCli([
    "train",
    data,
    "--preset",
    "course",
    "--cache",
    cache,
    "--out",
    out,
    ...flags("--epochs 2 --batch 8 --workers 1 --json"),
    ...extra,
  ]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

Deno.test("a second train with the same seed runs no trunk, and adding one photo embeds only that photo", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 6);
  const cache = `${dir.path}/cache`;
  const noTest = ["--test-fraction", "0"];
  const first = await train(data, cache, `${dir.path}/m1`, noTest);
  assertEquals([first.trainCount, first.views, first.trunkRuns, first.cacheHits], [12, 24, 24, 0]);
  const again = await train(data, cache, `${dir.path}/m2`, noTest);
  assertEquals([again.views, again.trunkRuns, again.cacheHits], [24, 0, 24]);
  await Deno.writeFile(`${data}/stripes/stripes_new.png`, texturePng("stripes", 99));
  const grown = await train(data, cache, `${dir.path}/m3`, noTest);
  // 13 photos × 2 epochs of crops: only the new photo's 2 crops go through the trunk.
  assertEquals([grown.trainCount, grown.views, grown.trunkRuns, grown.cacheHits], [13, 26, 2, 24]);
  const other = await train(data, cache, `${dir.path}/m4`, [...noTest, "--seed", "2"]);
  assertEquals(other.trunkRuns, 26, "another seed draws other crops");
});

Deno.test("two train processes share one cache at once and both finish with the same model", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 5);
  const cache = `${dir.path}/cache`;
  const [a, b] = await Promise.all([
    train(data, cache, `${dir.path}/a`, ["--augment", "none"]),
    train(data, cache, `${dir.path}/b`, ["--augment", "none"]),
  ]);
  assertEquals(a.testAccuracy, b.testAccuracy);
  const wa = await Deno.readFile(`${dir.path}/a/weights.bin`);
  const wb = await Deno.readFile(`${dir.path}/b/weights.bin`);
  assertEquals(wa, wb);
  // Every record in the cache is complete: a third run reads them all.
  const c = await train(data, cache, `${dir.path}/c`, ["--augment", "none"]);
  assertEquals([c.trunkRuns, c.cacheHits], [0, 10]);
  // Each process wrote its own pack: every record in each is whole (magic, length, CRC) and indexed, and
  // no stray or temporary file is left. (A process may find some of the other's records and not write them
  // again, so there are 10 to 20 copies of the 10 keys.)
  assertEquals(cacheProblems(cache), "");
  const files = readCacheFiles(cache);
  assert(files.files.filter((f) => f.endsWith(".pack")).length <= 2, files.files.join());
  assertEquals(new Set(files.records.map((r) => r.key)).size, 10);
});

Deno.test("train --resume continues from a saved head and refuses other classes", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 5);
  const cache = `${dir.path}/cache`;
  await train(data, cache, `${dir.path}/m`, ["--augment", "none", "--epochs", "1"]);
  const resumed = await runCli([
    "train",
    data,
    "--resume",
    `${dir.path}/m`,
    "--cache",
    cache,
    "--out",
    `${dir.path}/m2`,
    ...flags("--epochs 1 --augment none --workers 1 --json"),
  ]);
  assertEquals(resumed.code, 0, resumed.stderr);
  const first = await Deno.readFile(`${dir.path}/m/weights.bin`);
  const second = await Deno.readFile(`${dir.path}/m2/weights.bin`);
  assert(first.length === second.length && first.some((b, i) => b !== second[i]), "training went on");
  await Deno.mkdir(`${data}/third`);
  await Deno.writeFile(`${data}/third/x.png`, texturePng("stripes", 5));
  const bad = await runCli([
    "train",
    data,
    "--resume",
    `${dir.path}/m`,
    "--cache",
    cache,
    "--out",
    `${dir.path}/m3`,
    "--workers",
    "1",
  ]);
  assertEquals(bad.code, 1);
  assert(bad.stderr.includes("Cannot resume: the model's classes are speckle, stripes"), bad.stderr);
});
