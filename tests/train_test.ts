import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "./_assert.ts";
import { evaluate } from "../lib/score/evaluate.ts";
import { predict } from "../lib/score/predict.ts";
import { trainFolder } from "../lib/train/train.ts";
import { PARAM_NAMES } from "../lib/model/head.ts";
import { headParamsOf } from "../lib/model/classifier.ts";
import { resolveTrainOptions } from "../lib/train/options.ts";
import { fileTempDir, tempDir, writeTextureDataset } from "./_helpers.ts";
import { testEmbedder } from "./_trunk.ts";

const data = fileTempDir("rocks-train-");
await writeTextureDataset(data, 12);

Deno.test("resolveTrainOptions() defaults to the course's recipe", () => {
  assertEquals(resolveTrainOptions(), {
    epochs: 5,
    batchSize: 16,
    lr: 0.003,
    testFraction: 0.2,
    split: "random",
    seed: 1,
    augment: "crop",
    printEvery: 5,
    backend: "wasm",
    viewSize: 224,
    l2normalize: false,
    preset: "custom",
  });
});

Deno.test("trainFolder() learns two textures from random crops and reports the course's lines", async () => {
  const lines: number[] = [];
  const r = await trainFolder(await testEmbedder(), data, {
    epochs: 2,
    batchSize: 6,
    testFraction: 0.25,
    printEvery: 2,
    onLine: (l) => lines.push(l.step),
  });
  // 18 training photos in batches of 6: 3 steps an epoch, 6 in all, a line every 2 steps.
  assertEquals(lines, [2, 4, 6]);
  assertEquals([r.classifier.meta.training.trainCount, r.classifier.meta.training.testCount], [18, 6]);
  assert(r.test!.accuracy! >= 5 / 6, `test accuracy ${r.test!.accuracy}`);
  assertEquals(r.embedded, 6 + 2 * 18);
  assertEquals(r.classifier.meta.classes, ["speckle", "stripes"]);
  r.classifier.dispose();
});

Deno.test("trainFolder() gives the same model for the same seed and another for another seed", async () => {
  const embedder = await testEmbedder();
  const opts = { epochs: 2, batchSize: 8, augment: "none" as const };
  const a = await trainFolder(embedder, data, { ...opts, seed: 3 });
  const b = await trainFolder(embedder, data, { ...opts, seed: 3 });
  const c = await trainFolder(embedder, data, { ...opts, seed: 4 });
  for (const n of PARAM_NAMES) {
    assertEquals(headParamsOf(a.classifier)[n].dataSync(), headParamsOf(b.classifier)[n].dataSync(), n);
  }
  assert(
    headParamsOf(a.classifier).w1.dataSync()[0] !== headParamsOf(c.classifier).w1.dataSync()[0],
    "seed changes weights",
  );
  assertEquals(a.split.test.map((s) => s.name), b.split.test.map((s) => s.name));
  for (const r of [a, b, c]) r.classifier.dispose();
});

Deno.test("train, evaluate and predict again and again leave tf.memory().numTensors where it started", async () => {
  const embedder = await testEmbedder();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const r = await trainFolder(embedder, data, {
      epochs: 1,
      batchSize: 8,
      augment: "none",
      testFraction: 0.25,
    });
    await evaluate(embedder, r.classifier, data);
    await predict(embedder, r.classifier, [`${data}/stripes`]);
    r.classifier.dispose();
    assertEquals(tf.memory().numTensors, before, `round ${i}`);
  }
});

Deno.test("trainFolder() skips a damaged photo, names it, and trains on the rest", async () => {
  const embedder = await testEmbedder();
  await using dir = await tempDir();
  await writeTextureDataset(dir.path, 5);
  const good = await Deno.readFile(`${dir.path}/stripes/stripes_000.png`);
  await Deno.writeFile(`${dir.path}/stripes/cut.png`, good.subarray(0, 60));
  await Deno.writeTextFile(`${dir.path}/speckle/readme.txt`, "not a photo");
  const r = await trainFolder(embedder, dir.path, { epochs: 1, testFraction: 0, augment: "none" });
  assertEquals(r.skipped.map((s) => s.file).sort(), ["speckle/readme.txt", "stripes/cut.png"]);
  assert(
    r.skipped.find((s) => s.file === "stripes/cut.png")!.reason.includes("cut.png could not be decoded"),
  );
  assertEquals(r.classifier.meta.training.trainCount, 10);
  assertEquals(r.test, null);
  r.classifier.dispose();
});

Deno.test("predict() returns one entry per photo, with an error for one it cannot read", async () => {
  const embedder = await testEmbedder();
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/fake.jpg`, "text in disguise");
  const r = await trainFolder(embedder, data, { epochs: 1, augment: "none", testFraction: 0 });
  const preds = await predict(embedder, r.classifier, [
    `${data}/speckle/speckle_000.png`,
    `${dir.path}/fake.jpg`,
    `${dir.path}/gone.png`,
  ]);
  assertEquals(preds.length, 3);
  const [first, fake, gone] = preds;
  assert(first && "class" in first && first.class === "speckle", JSON.stringify(first));
  assert(Math.abs(Object.values(first.probabilities).reduce((a, b) => a + b) - 1) < 1e-5);
  assert(fake && "error" in fake && fake.error.includes("is not a JPEG or PNG image"), JSON.stringify(fake));
  assert(gone && "error" in gone && gone.error.includes("does not exist"), JSON.stringify(gone));
  r.classifier.dispose();
});
