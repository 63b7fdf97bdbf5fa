import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "npm:@tensorflow/tfjs-layers@4.22.0";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import { makeClassifier, preprocessingFacts } from "../lib/model/classifier.ts";
import { RocksError } from "../lib/util/errors.ts";
import { headConfig, initHead } from "../lib/model/head.ts";
import { loadClassifier, saveClassifier } from "../lib/model/model_file.ts";
import { createRng } from "../lib/util/rng.ts";
import { isRoot, tempDir } from "./_helpers.ts";
import { randomClassifier } from "./_classifier.ts";
import { sha256Hex } from "../lib/util/hash.ts";
import { manifestSha256, WEIGHTS_MANIFEST } from "../lib/trunk/weights.ts";

await initBackend("wasm");

function sampleClassifier(seed = 1) {
  const head = headConfig(3);
  const meta = {
    formatVersion: 1,
    classes: ["a", "b", "c"],
    trunk: { id: "test-trunk", sha256: "ab".repeat(32), embeddingSize: 2048 },
    preprocessing: preprocessingFacts(),
    head,
    training: {
      data: "x",
      epochs: 1,
      batchSize: 16,
      lr: 0.003,
      testFraction: 0.2,
      split: "random" as const,
      seed,
      augment: "crop" as const,
      backend: "wasm",
      trainCount: 1,
      testCount: 0,
      seconds: 1,
    },
    test: null,
    testLoss: null,
    history: [],
    created: new Date(0).toISOString(),
  };
  return makeClassifier(meta, initHead(head, createRng(seed)));
}

function embeddings(n: number): Float32Array[] {
  const rng = createRng(9);
  return Array.from({ length: n }, () => Float32Array.from({ length: 2048 }, () => rng.uniform(0, 2)));
}

Deno.test("saveClassifier() then loadClassifier() gives identical predictions and facts", async () => {
  await using dir = await tempDir();
  const c = sampleClassifier();
  await saveClassifier(`${dir.path}/model`, c);
  const names = [...Deno.readDirSync(`${dir.path}/model`)].map((e) => e.name).sort();
  assertEquals(names, ["model.json", "rocks.json", "weights.bin"]);
  const back = await loadClassifier(`${dir.path}/model`, { trunkSha256: "ab".repeat(32) });
  assertEquals(back.meta, c.meta);
  const x = embeddings(4);
  assertEquals(await back.probabilities(x), await c.probabilities(x));
  const p = await c.probabilities(x);
  p.forEach((row) => assert(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, "sums to 1"));
  c.dispose();
  back.dispose();
});

Deno.test("the model folder's bytes are those rocks 0.1.0 wrote before the reshaping (format unchanged)", async () => {
  // Computed with the code of commit 84bac2d (before lib/ was cut into stages) for the same classifier:
  // a model saved then loads now, and one saved now loads there.
  await using dir = await tempDir();
  const c = randomClassifier(["Basalt", "Highland"], { id: "trunk-x", sha256: "0".repeat(64) }, 7);
  await saveClassifier(`${dir.path}/m`, c);
  c.dispose();
  const sums: Record<string, string> = {};
  for (const f of ["model.json", "weights.bin", "rocks.json"]) {
    sums[f] = await sha256Hex(await Deno.readFile(`${dir.path}/m/${f}`));
  }
  assertEquals(sums, {
    "model.json": "e862114f229a4c79eee85cfa890b90c50c1d33ed94e3f9b5fca536ab7a5f9dad",
    "weights.bin": "d54da1f3f66882324b89e712f5536f640942808784efdfcb597d72a2a41bc3c0",
    "rocks.json": "a1ae8dd0e1386666816fdc534bc88c86e7df3dcc94fa67aee4e3998f490839a7",
  });
});

Deno.test("the saved head loads with tf.loadLayersModel and gives the same log-probabilities", async () => {
  await using dir = await tempDir();
  const c = sampleClassifier(2);
  await saveClassifier(`${dir.path}/m`, c);
  const json = JSON.parse(await Deno.readTextFile(`${dir.path}/m/model.json`));
  const bin = await Deno.readFile(`${dir.path}/m/weights.bin`);
  const model = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: bin.buffer,
  }));
  const x = embeddings(3);
  const flat = new Float32Array(3 * 2048);
  x.forEach((e, i) => flat.set(e, i * 2048));
  const logp = tf.tidy(() => (model.predict(tf.tensor2d(flat, [3, 2048])) as tf.Tensor).dataSync());
  const ours = await c.probabilities(x);
  ours.forEach((row, i) =>
    row.forEach((p, j) => assert(Math.abs(Math.exp(logp[i * 3 + j]!) - p) < 1e-5, `${i},${j}`))
  );
  model.dispose();
  c.dispose();
});

Deno.test("a model trained on the float32 weights loads with the float16 ones; one of another network says what to do", async () => {
  await using dir = await tempDir();
  const now = await manifestSha256();
  const old = WEIGHTS_MANIFEST.replaces[0]!;
  const c = randomClassifier(["Basalt", "Highland"], { id: old.trunkId, sha256: old.sha256 }, 3);
  await saveClassifier(`${dir.path}/old`, c);
  c.dispose();
  const back = await loadClassifier(`${dir.path}/old`, { trunkSha256: now });
  assertEquals(back.meta.trunk.sha256, old.sha256);
  back.dispose();
  const other = randomClassifier(
    ["Basalt", "Highland"],
    { id: "some-other-net", sha256: "ef".repeat(32) },
    3,
  );
  await saveClassifier(`${dir.path}/other`, other);
  other.dispose();
  await assertRejects(
    () => loadClassifier(`${dir.path}/other`, { trunkSha256: now }),
    RocksError,
    `another network: train the model again with this rocks (rocks train <data-dir> --out ${dir.path}/other)`,
  );
});

Deno.test("loadClassifier() rejects altered, missing, other-version and other-trunk model folders", async () => {
  await using dir = await tempDir();
  const m = `${dir.path}/m`;
  const c = sampleClassifier();
  await saveClassifier(m, c);
  c.dispose();
  await assertRejects(() => loadClassifier(`${dir.path}/none`), RocksError, "does not exist");
  await assertRejects(
    () => loadClassifier(m, { trunkSha256: "cd".repeat(32) }),
    RocksError,
    "was trained on trunk test-trunk",
  );

  const bin = await Deno.readFile(`${m}/weights.bin`);
  bin[5] = bin[5]! ^ 1;
  await Deno.writeFile(`${m}/weights.bin`, bin);
  await assertRejects(() => loadClassifier(m), RocksError, "weights.bin was altered or damaged");
  await Deno.writeFile(`${m}/weights.bin`, bin.subarray(0, 100));
  await assertRejects(() => loadClassifier(m), RocksError, "weights.bin was altered or damaged");

  const meta = JSON.parse(await Deno.readTextFile(`${m}/rocks.json`));
  await Deno.writeTextFile(`${m}/rocks.json`, JSON.stringify({ ...meta, formatVersion: 99 }));
  await assertRejects(
    () => loadClassifier(m),
    RocksError,
    "is model format version 99, this rocks reads version 1",
  );
  await Deno.writeTextFile(`${m}/rocks.json`, "{ not json");
  await assertRejects(() => loadClassifier(m), RocksError, "rocks.json is not valid JSON");
  await Deno.remove(`${m}/rocks.json`);
  await assertRejects(() => loadClassifier(m), RocksError, "has no rocks.json");
});

Deno.test("saveClassifier() replaces a model whole and leaves the previous one when it cannot write", async () => {
  await using dir = await tempDir();
  const m = `${dir.path}/m`;
  const first = sampleClassifier(1);
  const second = sampleClassifier(2);
  await saveClassifier(m, first);
  await saveClassifier(m, second);
  const back = await loadClassifier(m);
  assertEquals(back.meta.training.seed, 2);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["m"]); // no temporary folders left
  back.dispose();
  // The parent of the target is a file: the save fails, clearly, and loses nothing.
  await Deno.writeTextFile(`${dir.path}/plain-file`, "x");
  await assertRejects(
    () => saveClassifier(`${dir.path}/plain-file/m`, first),
    RocksError,
    "Could not save the model",
  );
  const still = await loadClassifier(m);
  assertEquals(still.meta.training.seed, 2);
  still.dispose();
  first.dispose();
  second.dispose();
});

Deno.test("loadClassifier() names altered metadata, a damaged rocks.json and each missing file", async () => {
  await using dir = await tempDir();
  const m = `${dir.path}/m`;
  const c = sampleClassifier();
  await saveClassifier(m, c);
  c.dispose();
  const text = await Deno.readTextFile(`${m}/rocks.json`);
  // A class renamed by hand: the weights still match, the metadata does not.
  await Deno.writeTextFile(`${m}/rocks.json`, text.replace('"b"', '"B"'));
  await assertRejects(
    () => loadClassifier(m),
    RocksError,
    `${m}/rocks.json was altered or damaged: its contents do not match its metaSha256`,
  );
  // Valid JSON with fields missing (and no checksum of its own): said, not a TypeError.
  const meta = JSON.parse(text);
  const { metaSha256: _, ...unsummed } = meta;
  for (
    const [change, message] of [
      [{ classes: undefined }, "expected classes to be a list of class names, found undefined"],
      [{ classes: ["a", "a", "b"] }, "expected classes to be distinct non-empty names"],
      [{ trunk: "resnet" }, `expected trunk to be { id, sha256 }, found "resnet"`],
      [
        { head: { ...meta.head, hiddenSize: -1 } },
        "expected head.hiddenSize to be a whole number ≥ 1, found -1",
      ],
      [{ files: {} }, "expected files to be the sha256 of model.json and weights.bin"],
    ] as const
  ) {
    await Deno.writeTextFile(`${m}/rocks.json`, JSON.stringify({ ...unsummed, ...change }));
    await assertRejects(() => loadClassifier(m), RocksError, `${m}/rocks.json is damaged: ${message}`);
  }
  await Deno.writeTextFile(`${m}/rocks.json`, JSON.stringify(unsummed)); // an older save, without the checksum
  (await loadClassifier(m)).dispose();
  for (const name of ["weights.bin", "model.json"]) {
    await Deno.rename(`${m}/${name}`, `${m}/${name}.away`);
    await assertRejects(() => loadClassifier(m), RocksError, `Model folder ${m} has no ${name}`);
    await Deno.rename(`${m}/${name}.away`, `${m}/${name}`);
  }
  await Deno.writeTextFile(`${m}/rocks.json`, "null");
  await assertRejects(
    () => loadClassifier(m),
    RocksError,
    "rocks.json has no formatVersion: expected a model folder saved by rocks (version 1)",
  );
});

Deno.test("saveClassifier() will not replace a folder that is not a model folder, nor a file", async () => {
  await using dir = await tempDir();
  const photos = `${dir.path}/photos`;
  await Deno.mkdir(photos);
  await Deno.writeTextFile(`${photos}/a.jpg`, "a photo");
  const c = sampleClassifier();
  await assertRejects(
    () => saveClassifier(photos, c),
    RocksError,
    `Cannot save the model to ${photos}: it holds 1 entry but no rocks.json, so it is not a model folder`,
  );
  assertEquals(await Deno.readTextFile(`${photos}/a.jpg`), "a photo");
  await assertRejects(
    () => saveClassifier(`${photos}/a.jpg`, c),
    RocksError,
    "it is a file, expected a model folder",
  );
  await Deno.mkdir(`${dir.path}/empty`);
  await saveClassifier(`${dir.path}/empty`, c); // an empty folder is fine
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["empty", "photos"]);
  c.dispose();
});

Deno.test("saveClassifier() on a full disk or a read-only folder fails clearly and keeps the previous model", async () => {
  await using dir = await tempDir();
  const disk = `${dir.path}/disk`;
  await Deno.mkdir(disk);
  const root = isRoot();
  const mount = (args: string[]) => new Deno.Command("mount", { args }).output();
  // As root: a 6 MiB tmpfs holds one model (4.2 MB) but not a second copy beside it.
  if (root) {
    const r = await mount(["-t", "tmpfs", "-o", "size=6m", "tmpfs", disk]);
    assert(r.success, `mount tmpfs: ${new TextDecoder().decode(r.stderr)}`);
  }
  try {
    const m = `${disk}/m`;
    const first = sampleClassifier(1);
    const second = sampleClassifier(2);
    await saveClassifier(m, first);
    const before = await Deno.readFile(`${m}/weights.bin`);
    const stillFirst = async () => {
      assertEquals(await Deno.readFile(`${m}/weights.bin`), before);
      const back = await loadClassifier(m);
      assertEquals(back.meta.training.seed, 1);
      back.dispose();
      assertEquals([...Deno.readDirSync(disk)].map((e) => e.name), ["m"]); // no temporary folder left
    };
    if (root) {
      await assertRejects(
        () => saveClassifier(m, second),
        RocksError,
        "No space left on device",
      );
      await stillFirst();
      const ro = await mount(["-o", "remount,ro", disk]);
      assert(ro.success, new TextDecoder().decode(ro.stderr));
      await assertRejects(() => saveClassifier(m, second), RocksError, "Read-only file system");
      await stillFirst();
    } else {
      // Not root: no tmpfs, but permission bits do stop writes.
      await Deno.chmod(disk, 0o555);
      await assertRejects(() => saveClassifier(m, second), RocksError, "Permission denied");
      await Deno.chmod(disk, 0o755);
      await stillFirst();
    }
    const e = await saveClassifier(m, second).then(() => undefined, (e) => e);
    if (root) assert(e instanceof RocksError && e.message.endsWith(`nothing at ${m} was changed`), String(e));
    first.dispose();
    second.dispose();
  } finally {
    if (root) await new Deno.Command("umount", { args: [disk] }).output();
  }
});
