import { assert, assertEquals } from "./_assert.ts";
import { crossValidate, groupedFolds } from "../lib/cross_validate.ts";
import { scanDataset } from "../lib/dataset.ts";
import { loadTrunk, trunkEmbedder } from "../lib/toolkit.ts";
import { SPACE_ROCKS, texturePng, writeTextureDataset } from "./_helpers.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed_cache.ts";

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
const inThread = trunkEmbedder(await loadTrunk({ backend: "wasm" }));
const cacheDir = await Deno.makeTempDir({ prefix: "rocks-cv-cache-" });
globalThis.addEventListener("unload", () => Deno.removeSync(cacheDir, { recursive: true }));
const embedder = {
  embed: cachedEmbedder(inThread.embed, await openEmbedCache(cacheDir), inThread.trunk.sha256),
  trunk: inThread.trunk,
};

Deno.test("crossValidate() separates an easy pair of classes nearly perfectly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rocks-cv-" });
  try {
    await writeTextureDataset(dir, 10);
    const cv = await crossValidate(await scanDataset(dir), embedder.embed, embedder.trunk, {
      augment: "none",
      epochs: 5,
      batchSize: 8,
    }, { folds: 5 });
    assertEquals(cv.folds.length, 5);
    assert(cv.accuracy.mean >= 0.9, `mean accuracy ${cv.accuracy.mean}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crossValidate() scores two classes of the same photos near chance: the evaluation can fail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rocks-cv-" });
  try {
    // Both classes hold the same kinds of texture, so nothing tells them apart.
    for (const cls of ["left", "right"]) {
      await Deno.mkdir(`${dir}/${cls}`);
      for (let i = 0; i < 10; i++) {
        const kind = i % 2 ? "stripes" : "speckle";
        await Deno.writeFile(
          `${dir}/${cls}/${kind}_${i}.png`,
          texturePng(kind, (cls === "left" ? 100 : 200) + i),
        );
      }
    }
    const cv = await crossValidate(await scanDataset(dir), embedder.embed, embedder.trunk, {
      augment: "none",
      epochs: 5,
      batchSize: 8,
    }, { folds: 5, repeats: 2 });
    assert(cv.accuracy.mean > 0.2 && cv.accuracy.mean < 0.8, `mean accuracy ${cv.accuracy.mean}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
