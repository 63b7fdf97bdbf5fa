/**
 * `embedFiles`, the loop every worker runs: a photo's views read once,
 * trunk calls filled with views of one size up to the batch, each view's
 * embedding what it gets alone, and an unreadable photo an error in place.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "./_assert.ts";
import { DEFAULT_BATCH, embedFiles } from "../lib/embed/embed_files.ts";
import type { EmbedJob, EmbedResult } from "../lib/embed/job.ts";
import type { Trunk } from "../lib/trunk/resnet50.ts";
import { SPACE_ROCKS } from "./_helpers.ts";
import { testTrunk } from "./_trunk.ts";

const basalt = `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`;
const highland = `${SPACE_ROCKS}/Highland/Crustal_Anorthosite_s72-41777.jpg`;
const jobs: EmbedJob[] = [
  { path: basalt, view: "centre" },
  { path: basalt, view: "crop:1" },
  { path: basalt, view: "crop:2" },
  { path: basalt, view: "centre@64" },
  { path: `${SPACE_ROCKS}/missing.jpg`, view: "centre" },
  { path: highland, view: "centre@64" },
  { path: highland, view: "centre" },
];

/** The trunk, recording the shape of each call. */
async function recording(): Promise<{ trunk: Trunk; calls: number[][] }> {
  const inner = await testTrunk();
  const calls: number[][] = [];
  const trunk: Trunk = {
    ...inner,
    embed(x) {
      calls.push(x.shape.slice());
      return inner.embed(x);
    },
  };
  return { trunk, calls };
}

/** Runs `f` counting the photo files read (`Deno.readFile`) by path. */
async function countingReads<T>(f: () => Promise<T>): Promise<{ result: T; reads: Map<string, number> }> {
  const reads = new Map<string, number>();
  const original = Deno.readFile;
  Object.assign(Deno, {
    readFile: (path: string | URL, options?: Deno.ReadFileOptions) => {
      reads.set(String(path), (reads.get(String(path)) ?? 0) + 1);
      return original(path, options);
    },
  });
  try {
    return { result: await f(), reads };
  } finally {
    Object.assign(Deno, { readFile: original });
  }
}

Deno.test("embedFiles() reads a photo once for all its views, fills calls with views of one size, and gives each view its embedding alone", async () => {
  assertEquals(DEFAULT_BATCH, 1);
  const { trunk, calls } = await recording();
  const before = tf.memory().numTensors;
  const progress: number[] = [];
  const { result: batched, reads } = await countingReads(() =>
    embedFiles(trunk, jobs, { batchSize: 2, onProgress: (done) => progress.push(done) })
  );
  // Each photo read once, its views cut from that read (4 views of the Basalt photo, 2 of the Highland one).
  assertEquals(reads.get(basalt), 1);
  assertEquals(reads.get(highland), 1);
  // Calls of at most 2 views of 224 px (a call ends where the size changes), or of 64 px: 2 × (224/64)² = 24.
  assertEquals(calls.map((s) => s.join("×")), [
    "2×224×224×3", // basalt centre, crop 1
    "1×224×224×3", // basalt crop 2 (the 64 px view comes next)
    "2×64×64×3", // basalt and highland at 64 px, across the missing photo
    "1×224×224×3", // highland centre
  ]);
  assertEquals(progress.at(-1), jobs.length);
  assert(progress.every((n, i) => i === 0 || n > progress[i - 1]!), `progress ${progress}`);
  assertEquals(tf.memory().numTensors, before);

  // One view per call (the default on the CPU): the same embeddings, the error in the same place.
  calls.length = 0;
  const alone = await embedFiles(trunk, jobs);
  assertEquals(calls.map((s) => s.join("×")), [
    "1×224×224×3",
    "1×224×224×3",
    "1×224×224×3",
    "2×64×64×3", // a 64 px view is an eighth of a 224 px one's work: 12 fit a call
    "1×224×224×3",
  ]);
  const embedding = (r: EmbedResult | undefined) => (r && "embedding" in r ? r.embedding : undefined);
  jobs.forEach((j, i) => {
    if (j.path.endsWith("missing.jpg")) {
      const r = batched[i]!;
      assert("error" in r && r.error.includes("missing.jpg"), JSON.stringify(r));
      assertEquals(alone[i], r);
      return;
    }
    const a = embedding(alone[i]), b = embedding(batched[i]);
    assert(a && b && a.length === 2048, `${j.path} ${j.view}`);
    let worst = 0, scale = 0;
    for (let k = 0; k < a.length; k++) {
      worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
      scale = Math.max(scale, Math.abs(a[k]!));
    }
    assert(scale > 0 && worst <= 1e-4 * scale, `${j.view}: off by ${worst} of ${scale}`);
  });
});
