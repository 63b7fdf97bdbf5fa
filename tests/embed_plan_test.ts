/**
 * What `rocks embed` plans (lib/train/plan.ts) against what the other
 * commands then ask for: every view `trainFolder`, `crossValidate`,
 * `evaluate` and `predict` ask of the embedder, with the same recipe, is one
 * `embedFolder` embedded, whatever the split; and shards split the plan
 * exactly. A recording embedder stands in for the trunk.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import type { EmbedFn } from "../lib/embed/job.ts";
import { embedFolder, recipeViews } from "../lib/train/plan.ts";
import { trainFolder } from "../lib/train/train.ts";
import { crossValidate } from "../lib/train/cross_validate.ts";
import { evaluate } from "../lib/score/evaluate.ts";
import { predict } from "../lib/score/predict.ts";
import { cropView } from "../lib/train/feed.ts";
import type { TrainOptions } from "../lib/train/options.ts";
import { hashSeed } from "../lib/util/rng.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import { fileTempDir, texturePng, writeTextureDataset } from "./_helpers.ts";

await initBackend("wasm"); // the head trains on tensors
const data = fileTempDir("rocks-plan-");
await writeTextureDataset(data, 12);

/** An embedder that records each (path, view) asked of it; its embeddings are made from the two. */
function recorder() {
  const asked = new Set<string>();
  const embed: EmbedFn = (jobs) => {
    for (const j of jobs) asked.add(`${j.path} ${j.view}`);
    return Promise.resolve(jobs.map((j) => {
      const e = new Float32Array(2048);
      for (let k = 0; k < 8; k++) {
        e[hashSeed(j.path, j.view, k) % 2048] = 1 + (j.path.includes("stripes") ? 1 : 0);
      }
      return { embedding: e };
    }));
  };
  return { asked, embedder: { embed, trunk: { id: "t", sha256: "t" }, cache: undefined } };
}

Deno.test("recipeViews() names the centre view and each epoch's crop exactly as training does", () => {
  const sample = {
    path: `${data}/stripes/stripes_000.png`,
    name: "stripes/stripes_000.png",
    label: 1,
    group: "x",
  };
  assertEquals(recipeViews(sample, { preset: "course", epochs: 2, seed: 3 }), [
    "centre",
    cropView(3, 1, sample, 224),
    cropView(3, 2, sample, 224),
  ]);
  assertEquals(recipeViews(sample, { preset: "rocks" }), ["centre@448"]);
  assertEquals(recipeViews(sample, { augment: "none", viewSize: 64 }), ["centre@64"]);
});

Deno.test("every view train, cross-validation, eval and predict ask for with the recipe, embed planned", async () => {
  const recipes: TrainOptions[] = [
    { preset: "course", epochs: 3, seed: 4 },
    { preset: "course", epochs: 2, seed: 4, testFraction: 0 },
    { preset: "rocks", epochs: 2 },
    { preset: "course", epochs: 2, split: "group", testFraction: 0.4, viewSize: 96 },
  ];
  for (const recipe of recipes) {
    const planned = recorder();
    const r = await embedFolder(planned.embedder, data, recipe);
    assertEquals([r.photos, r.inShard, r.total, r.failed], [24, 24, planned.asked.size, 0]);
    const used = recorder();
    const trained = await trainFolder(used.embedder, data, recipe);
    await crossValidate(used.embedder, data, { recipe, folds: 3 });
    await evaluate(used.embedder, trained.classifier, data);
    await predict(used.embedder, trained.classifier, [data, `${data}/stripes/stripes_003.png`]);
    trained.classifier.dispose();
    const missed = [...used.asked].filter((a) => !planned.asked.has(a));
    assertEquals(missed, [], `${JSON.stringify(recipe)}: asked for but not planned`);
    assert(used.asked.size > 0);
  }
});

Deno.test("shards split the plan exactly; photos directly in a folder get their centre view", async () => {
  const all = recorder();
  await embedFolder(all.embedder, data, { preset: "course", epochs: 2 });
  const seen = new Map<string, number>();
  let photos = 0;
  for (let i = 0; i < 3; i++) {
    const part = recorder();
    const r = await embedFolder(part.embedder, data, {
      preset: "course",
      epochs: 2,
      shard: { index: i, count: 3 },
    });
    photos += r.inShard;
    assertEquals(r.total, part.asked.size);
    for (const a of part.asked) seen.set(a, (seen.get(a) ?? 0) + 1);
  }
  assertEquals(photos, 24);
  assertEquals(seen.size, all.asked.size);
  assert([...seen.values()].every((n) => n === 1), "each view in one shard");
  // A folder of photos to predict (no class folders), and one with a loose photo beside its class folders.
  await Deno.writeFile(`${data}/loose.png`, texturePng("speckle", 77));
  const loose = recorder();
  const r = await embedFolder(loose.embedder, [data, `${data}/stripes`], { preset: "rocks" });
  assertEquals(
    r.folders.map((f) => [f.photos, f.classes]),
    [[25, 2], [0, 0]],
    "the second folder's photos are the first's",
  );
  assert(loose.asked.has(`${data}/loose.png centre@448`), [...loose.asked].join("\n"));
  await Deno.remove(`${data}/loose.png`);
});
