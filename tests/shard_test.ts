/**
 * The shard rule (lib/embed/shard.ts): `--shard I/N`, the share a
 * Kubernetes Indexed Job or a Slurm job array gives through the environment,
 * and the content hash that deals photos to shards.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { parseShard, photoShard, shardFromEnv, shardKey, shardOfKey } from "../lib/embed/shard.ts";
import { RocksError } from "../lib/util/errors.ts";
import { createRng } from "../lib/util/rng.ts";
import { tempDir } from "./_helpers.ts";

Deno.test("parseShard() takes I/N with 0 ≤ I < N and refuses anything else", () => {
  assertEquals(parseShard("0/4"), { index: 0, count: 4 });
  assertEquals(parseShard(" 3 / 4 "), { index: 3, count: 4 });
  assertEquals(parseShard("0/1"), { index: 0, count: 1 });
  for (const bad of ["4/4", "5/4", "-1/4", "1/0", "a/b", "1/4/2", "1", "", "1.5/4"]) {
    assertThrows(() => parseShard(bad), RocksError, "--shard must be I/N with 0 ≤ I < N");
  }
});

Deno.test("shardFromEnv() reads a Kubernetes Indexed Job and a Slurm job array, and says which", () => {
  const from = (env: Record<string, string>) => shardFromEnv((name) => env[name]);
  assertEquals(from({}), undefined);
  assertEquals(from({ ROCKS_SHARDS: "4" }), undefined, "a count alone gives no share");
  assertEquals(from({ JOB_COMPLETION_INDEX: "2", ROCKS_SHARDS: "4" }), {
    index: 2,
    count: 4,
    source: "Kubernetes Indexed Job: JOB_COMPLETION_INDEX=2, ROCKS_SHARDS=4",
  });
  assertThrows(() => from({ JOB_COMPLETION_INDEX: "2" }), RocksError, "ROCKS_SHARDS is not set");
  assertThrows(() => from({ JOB_COMPLETION_INDEX: "4", ROCKS_SHARDS: "4" }), RocksError, 'got "4/4"');
  assertThrows(() => from({ JOB_COMPLETION_INDEX: "x", ROCKS_SHARDS: "4" }), RocksError, "whole number");
  // Slurm: --array=0-3 sets the id and the count.
  assertEquals(from({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "0" }), {
    index: 3,
    count: 4,
    source: "Slurm job array: SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_COUNT=4",
  });
  // --array=1-4: ids 1..4 are shards 0..3 (the count from MIN and MAX when COUNT is missing).
  const one = from({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_MAX: "4" });
  assertEquals([one?.index, one?.count], [0, 4]);
  // --array=0-6:2: ids 0, 2, 4, 6 are shards 0..3.
  const stepped = {
    SLURM_ARRAY_TASK_ID: "4",
    SLURM_ARRAY_TASK_MIN: "0",
    SLURM_ARRAY_TASK_MAX: "6",
    SLURM_ARRAY_TASK_STEP: "2",
  };
  assertEquals([from(stepped)?.index, from(stepped)?.count], [2, 4]);
  assertThrows(() => from({ ...stepped, SLURM_ARRAY_TASK_ID: "3" }), RocksError, "min + k × step");
  assertThrows(() => from({ SLURM_ARRAY_TASK_ID: "3" }), RocksError, "pass --shard I/N");
  // Kubernetes first, when both are set.
  const both = from({
    JOB_COMPLETION_INDEX: "1",
    ROCKS_SHARDS: "2",
    SLURM_ARRAY_TASK_ID: "0",
    SLURM_ARRAY_TASK_COUNT: "8",
  });
  assertEquals([both?.index, both?.count], [1, 2]);
});

Deno.test("a photo's shard depends on its bytes only, and N shards split photos exactly and about evenly", async () => {
  await using dir = await tempDir();
  const rng = createRng(5);
  const files: string[] = [];
  for (let i = 0; i < 400; i++) {
    // Sizes from a few bytes to 300 KB (past the 2 × 64 KiB that the key reads whole).
    const bytes = new Uint8Array(i % 10 === 0 ? 300_000 : 50 + rng.int(5000)).map(() => rng.int(256));
    const path = `${dir.path}/${String(i).padStart(3, "0")}.jpg`;
    await Deno.writeFile(path, bytes);
    files.push(path);
  }
  // A copy under another name and folder is in the same shard; the listing order does not matter.
  await Deno.mkdir(`${dir.path}/elsewhere`);
  await Deno.copyFile(files[10]!, `${dir.path}/elsewhere/renamed.png`);
  assertEquals(await shardKey(`${dir.path}/elsewhere/renamed.png`), await shardKey(files[10]!));
  const keys = await Promise.all(files.map((f) => shardKey(f)));
  assertEquals(new Set(keys.map(String)).size, 400, "distinct files, distinct keys");
  for (const n of [1, 2, 4, 7]) {
    const counts = new Array(n).fill(0);
    for (const k of keys) counts[shardOfKey(k, n)]++;
    assertEquals(counts.reduce((a, b) => a + b, 0), 400);
    assert(Math.min(...counts) > (400 / n) * 0.6, `${n} shards: ${counts}`);
  }
  // The key reads the size and the first and last 64 KiB: a change there moves it, one in the middle not.
  const big = await Deno.readFile(files[0]!);
  const change = async (at: number) => {
    const copy = big.slice();
    copy[at]! ^= 1;
    await Deno.writeFile(`${dir.path}/changed.jpg`, copy);
    return await shardKey(`${dir.path}/changed.jpg`);
  };
  const original = await shardKey(files[0]!);
  assert((await change(10)) !== original && (await change(big.length - 10)) !== original, "head and tail");
  assertEquals(await change(150_000), original);
  // An unreadable photo is shard 0's, which reports it.
  assertEquals(await photoShard(`${dir.path}/missing.jpg`, 4), 0);
  assertEquals(await shardKey(`${dir.path}/missing.jpg`), undefined);
});
