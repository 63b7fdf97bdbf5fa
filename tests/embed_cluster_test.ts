/**
 * A cluster simulated on one machine (`rocks embed --shard`, the
 * environments of a Kubernetes Indexed Job and a Slurm job array, `rocks
 * cache merge`, then `rocks train` on the merged cache), and a shard killed
 * with SIGKILL and run again. The recipe is the course's at 64 px views with
 * 2 epochs of crops, so every photo has three views and the test stays
 * within a few minutes.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { openPackStore, scanCache } from "../lib/embed/pack.ts";
import { cliCommand, flags, runCli, SPACE_ROCKS, tempDir, writeTextureDataset } from "./_helpers.ts";
import { readCacheFiles } from "./_cache_files.ts";

const RECIPE = flags("--preset course --view-size 64 --epochs 2 --seed 7");
const PHOTOS = 154; // the Learn photos
const VIEWS = PHOTOS * 3; // the centre and 2 crops each

interface EmbedJson {
  shard: { index: number; count: number; source: string } | null;
  photos: number;
  inShard: number;
  views: number;
  embedded: number;
  cached: number;
  failed: number;
  trunkRuns: number;
}

async function embed(cache: string, more: string[] = [], env?: Record<string, string>): Promise<EmbedJson> {
  const r = await runCli(
    ["embed", SPACE_ROCKS, ...RECIPE, "--cache", cache, "--json", ...more],
    env ? { env } : {},
  );
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Each record's key and the photo (sha256) it is of, read from a cache folder. */
async function records(cache: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const scan = await scanCache(cache, (r) => void out.set(r.key, r.about.photo ?? "?"));
  assertEquals([scan.damaged.length, scan.records], [0, out.size]);
  return out;
}

/** Runs four shards at once with `envOf(i)` or `--shard i/4`; checks they split the photos exactly. */
async function cluster(root: string, name: string, envOf?: (i: number) => Record<string, string>) {
  const runs = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      embed(`${root}/${name}-${i}`, [...(envOf ? [] : ["--shard", `${i}/4`]), "--workers", "1"], envOf?.(i))
    ),
  );
  const keys = await Promise.all([0, 1, 2, 3].map((i) => records(`${root}/${name}-${i}`)));
  runs.forEach((r, i) => {
    assertEquals([r.shard?.index, r.shard?.count, r.photos, r.failed, r.cached], [i, 4, PHOTOS, 0, 0]);
    assertEquals([r.views, r.embedded, keys[i]!.size], [r.inShard * 3, r.inShard * 3, r.inShard * 3]);
  });
  assertEquals(runs.reduce((a, r) => a + r.inShard, 0), PHOTOS);
  // Every photo in exactly one shard: the shards' photos are disjoint and together all 154.
  const photos = keys.map((k) => new Set(k.values()));
  assertEquals(new Set(photos.flatMap((p) => [...p])).size, PHOTOS);
  assertEquals(photos.reduce((a, p) => a + p.size, 0), PHOTOS);
  return { runs, keys };
}

Deno.test("4 shard processes at once, merged, equal the single-process cache; train on it runs no trunk and gives the same model", async (t) => {
  await using dir = await tempDir("rocks-cluster-");
  const root = dir.path;
  const single = await embed(`${root}/single`, ["--workers", "2"]);
  assertEquals([single.shard, single.photos, single.views, single.embedded, single.failed], [
    null,
    PHOTOS,
    VIEWS,
    VIEWS,
    0,
  ]);
  const reference = await records(`${root}/single`);
  assertEquals(reference.size, VIEWS);

  let byFlag: Map<string, string>[] = [];
  const split = await t.step(
    "--shard 0/4 … 3/4, each with its own cache, merged by rocks cache merge",
    async () => {
      const { runs, keys } = await cluster(root, "shard");
      assert(runs.every((r) => r.shard!.source === "--shard"));
      const merged = await runCli([
        "cache",
        "merge",
        ...[0, 1, 2, 3].map((i) => `${root}/shard-${i}`),
        "--into",
        `${root}/merged`,
        "--json",
      ]);
      assertEquals(merged.code, 0, merged.stderr);
      const report = JSON.parse(merged.stdout);
      assertEquals([report.copied, report.duplicates, report.damaged, report.records], [VIEWS, 0, 0, VIEWS]);
      // Record for record: the same keys, the same 2,048 floats, as the single process made.
      const m = await openPackStore(`${root}/merged`);
      const s = await openPackStore(`${root}/single`);
      assertEquals(m.size, VIEWS);
      for (const key of reference.keys()) {
        const [a, b] = [await m.get(key), await s.get(key)];
        assert(a && b && a.length === 2048 && a.every((v, i) => Object.is(v, b[i])), `record ${key} differs`);
      }
      const verify = await runCli(["cache", "verify", `${root}/merged`]);
      assertEquals(verify.code, 0, verify.stdout);
      assert(verify.stdout.includes(`OK: ${VIEWS} records checked`), verify.stdout);
      byFlag = keys;
    },
  );
  assert(split, "the --shard step passed");

  await t.step(
    "rocks train on the merged cache: no trunk run, the same model as on one machine",
    async () => {
      const train = async (cache: string, out: string) => {
        const r = await runCli([
          "train",
          SPACE_ROCKS,
          ...RECIPE,
          "--cache",
          cache,
          "--out",
          out,
          "--workers",
          "2",
          "--json",
        ]);
        assertEquals(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      const alone = await train(`${root}/train-alone`, `${root}/model-alone`);
      const merged = await train(`${root}/merged`, `${root}/model-merged`);
      assertEquals([alone.trunkRuns, alone.cacheHits], [alone.views, 0]);
      assertEquals([merged.trunkRuns, merged.cacheHits], [0, alone.views]);
      assertEquals(
        await Deno.readFile(`${root}/model-merged/weights.bin`),
        await Deno.readFile(`${root}/model-alone/weights.bin`),
      );
      assertEquals([merged.testAccuracy, merged.history], [alone.testAccuracy, alone.history]);
    },
  );

  for (
    const [engine, envOf] of [
      ["Kubernetes Indexed Job", (i: number) => ({ JOB_COMPLETION_INDEX: String(i), ROCKS_SHARDS: "4" })],
      [
        "Slurm job array (--array=1-4)",
        (i: number) => ({
          SLURM_ARRAY_TASK_ID: String(i + 1),
          SLURM_ARRAY_TASK_MIN: "1",
          SLURM_ARRAY_TASK_MAX: "4",
          SLURM_ARRAY_TASK_COUNT: "4",
        }),
      ],
    ] as const
  ) {
    await t.step(`the same shards from a ${engine}'s environment, said so`, async () => {
      const name = engine.startsWith("Kubernetes") ? "k8s" : "slurm";
      const { runs, keys } = await cluster(root, name, (i) => ({ ...Deno.env.toObject(), ...envOf(i) }));
      for (const [i, r] of runs.entries()) {
        assert(r.shard!.source.startsWith(engine.split(" (")[0]!), r.shard!.source);
        assertEquals(
          [...keys[i]!.keys()].sort(),
          [...byFlag[i]!.keys()].sort(),
          `shard ${i} is --shard ${i}/4's`,
        );
      }
      const merged = await runCli([
        "cache",
        "merge",
        ...[0, 1, 2, 3].map((i) => `${root}/${name}-${i}`),
        "--into",
        `${root}/${name}`,
      ]);
      assertEquals(merged.code, 0, merged.stderr);
      assertEquals((await records(`${root}/${name}`)).size, VIEWS);
    });
  }
});

Deno.test("a shard killed with SIGKILL keeps what it wrote, and run again embeds only what is missing", async () => {
  await using dir = await tempDir("rocks-kill-");
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 40);
  const cache = `${dir.path}/cache`;
  const args = [
    "embed",
    data,
    ...flags("--preset course --augment none --shard 1/2 --workers 1"),
    "--cache",
    cache,
  ];
  const child = cliCommand(args).spawn();
  void child.stdout.cancel();
  void child.stderr.cancel();
  // Kill it once at least one call's records (16 views) are indexed.
  const indexed = () => {
    try {
      return readCacheFiles(cache).entries.filter((e) => e.crcOk && e.pointsAtRecord).length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 120_000;
  while (indexed() < 16 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  const status = await child.status;
  assertEquals(status.signal, "SIGKILL", "killed before it finished");
  const before = new Set(
    readCacheFiles(cache).entries.filter((e) => e.crcOk && e.pointsAtRecord).map((e) => e.key),
  );
  assert(before.size >= 16, `${before.size} records written before the kill`);
  const scan = await scanCache(cache); // a write cut short leaves a torn tail, never a damaged record
  assertEquals(scan.damaged, []);
  const again = await runCli([...args, "--json"]);
  assertEquals(again.code, 0, again.stderr);
  const r: EmbedJson = JSON.parse(again.stdout);
  assert(before.size < r.views, `${before.size} of ${r.views} were done before the kill`);
  assertEquals([r.cached, r.embedded, r.failed], [before.size, r.views - before.size, 0]);
  const after = await scanCache(cache);
  assertEquals([after.records, after.damaged.length], [r.views, 0]);
  // A third run has nothing to do.
  const third = await runCli([...args, "--json"]);
  assertEquals([JSON.parse(third.stdout).embedded, JSON.parse(third.stdout).cached], [0, r.views]);
});

Deno.test("rocks embed and rocks cache answer wrong usage with what is expected (exit 2) and missing folders with exit 1", async () => {
  const cases: [string[], string, Record<string, string>?][] = [
    [
      ["embed", "d", "--shard", "4/4"],
      `--shard must be I/N with 0 ≤ I < N ≤ 1000000 (shard I of N, counted from 0), got "4/4"`,
    ],
    [["embed", "d", "--shard", "x"], `got "x"`],
    [["embed", "d", "--no-cache"], "Option --no-cache does not apply to embed"],
    [["embed"], "embed takes at least one data folder"],
    [["embed", "d"], "ROCKS_SHARDS is not set", { JOB_COMPLETION_INDEX: "1" }],
    [["embed", "d"], "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX", { SLURM_ARRAY_TASK_ID: "1" }],
    [["cache", "stats"], "cache takes an action (stats, verify or merge) and at least one cache folder"],
    [["cache", "shrink", "x"], `Unknown cache action "shrink": expected "stats", "verify" or "merge"`],
    [["cache", "merge", "a"], "cache merge needs --into DIR"],
    [["cache", "stats", "a", "--into", "b"], "--into applies to cache merge only"],
  ];
  for (const [args, message, env] of cases) {
    const r = await runCli(args, env ? { env: { ...Deno.env.toObject(), ...env } } : {});
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.includes(message), `${args.join(" ")}: ${r.stderr}`);
  }
  await using dir = await tempDir();
  for (
    const args of [["embed", `${dir.path}/none`], ["cache", "stats", `${dir.path}/none`], [
      "cache",
      "verify",
      `${dir.path}/none`,
    ]]
  ) {
    const r = await runCli([...args, "--cache", `${dir.path}/c`].slice(0, args[0] === "embed" ? 4 : 3));
    assertEquals(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.includes(`${dir.path}/none does not exist`), r.stderr);
  }
});
