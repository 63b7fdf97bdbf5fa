import { assert, assertEquals } from "./_assert.ts";
import { crossValidate } from "../lib/train/cross_validate.ts";
import { groupedFolds } from "../lib/data/folds.ts";
import { scanDataset } from "../lib/data/scan.ts";
import { SPACE_ROCKS, tempDir, texturePng, writeTextureDataset } from "./_helpers.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed/cache.ts";
import { wrapEmbedder } from "../lib/embed/embedder.ts";
import { testEmbedder } from "./_trunk.ts";

Deno.test("groupedFolds() deals whole photo series to every fold, with both classes in each", async () => {
  const d = await scanDataset(SPACE_ROCKS);
  for (const seed of [1, 2, 3]) {
    const folds = groupedFolds(d.samples, 5, seed);
    assertEquals(folds.flat().length, d.samples.length);
    assertEquals(new Set(folds.flat()).size, d.samples.length);
    folds.forEach((f, i) => {
      const groups = new Set(f.map((s) => s.group));
      for (const [j, other] of folds.entries()) {
        if (j !== i) {
          assert(
            other.every((s) => !groups.has(s.group)),
            `seed ${seed}: fold ${i} shares a group with ${j}`,
          );
        }
      }
      assert(
        f.some((s) => s.label === 0) && f.some((s) => s.label === 1),
        `seed ${seed}: fold ${i} lacks a class`,
      );
    });
    const sizes = folds.map((f) => f.length);
    assert(Math.max(...sizes) <= 45, `folds ${sizes}`); // the largest series holds 27 photos
  }
});

// Folds train on the same photos over and over: a cache embeds each photo once.
async function cachedTestEmbedder(cacheDir: string) {
  const inThread = await testEmbedder();
  const cache = await openEmbedCache(cacheDir);
  return wrapEmbedder(inThread, {
    cache,
    embed: cachedEmbedder(inThread.embed, cache, inThread.trunk.sha256),
  });
}

Deno.test("crossValidate() separates an easy pair of classes nearly perfectly", async () => {
  await using dir = await tempDir("rocks-cv-");
  await writeTextureDataset(`${dir.path}/data`, 10);
  const embedder = await cachedTestEmbedder(`${dir.path}/cache`);
  const cv = await crossValidate(embedder, `${dir.path}/data`, {
    recipe: { augment: "none", epochs: 5, batchSize: 8 },
    folds: 5,
  });
  assertEquals(cv.folds.length, 5);
  assert(cv.accuracy.mean >= 0.9, `mean accuracy ${cv.accuracy.mean}`);
});

Deno.test("crossValidate() scores two classes of the same photos near chance: the evaluation can fail", async () => {
  await using dir = await tempDir("rocks-cv-");
  // Both classes hold the same kinds of texture, so nothing tells them apart.
  for (const cls of ["left", "right"]) {
    await Deno.mkdir(`${dir.path}/data/${cls}`, { recursive: true });
    for (let i = 0; i < 10; i++) {
      const kind = i % 2 ? "stripes" : "speckle";
      await Deno.writeFile(
        `${dir.path}/data/${cls}/${kind}_${i}.png`,
        texturePng(kind, (cls === "left" ? 100 : 200) + i),
      );
    }
  }
  const embedder = await cachedTestEmbedder(`${dir.path}/cache`);
  const cv = await crossValidate(embedder, await scanDataset(`${dir.path}/data`), {
    recipe: { augment: "none", epochs: 5, batchSize: 8 },
    folds: 5,
    repeats: 2,
  });
  assert(cv.accuracy.mean > 0.2 && cv.accuracy.mean < 0.8, `mean accuracy ${cv.accuracy.mean}`);
});
