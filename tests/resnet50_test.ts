import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "npm:@tensorflow/tfjs-layers@4.22.0";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { testTrunk } from "./_trunk.ts";
import { buildTrunk } from "../lib/trunk/resnet50.ts";
import { defaultWeightsLocation, loadResnetWeights, WEIGHTS_MANIFEST } from "../lib/trunk/weights.ts";
import { loadView } from "../lib/image/load_view.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { RocksError } from "../lib/util/errors.ts";
import { SKIMAGE, SPACE_ROCKS, tempDir } from "./_helpers.ts";
import { haveSkimage } from "./_system.ts"; // without the skimage photos, the two tests of them are ignored

const trunk = await testTrunk();

function top(path: string, k = 3): { label: string; p: number }[] {
  return tf.tidy(() => {
    const x = toInputTensor([viewCache.get(path)!], 224);
    const probs = trunk.imagenetProbabilities(trunk.embed(x));
    const { values, indices } = tf.topk(probs, k);
    const v = values.dataSync();
    return Array.from(indices.dataSync(), (i, j) => ({ label: trunk.labels[i]!, p: v[j]! }));
  });
}
const viewCache = new Map<string, Uint8Array>();
for (const f of haveSkimage ? ["chelsea.png", "coffee.png"] : []) {
  viewCache.set(f, await loadView(`${SKIMAGE}/${f}`, "centre"));
}

Deno.test("loadTrunk() verifies all 16 weight files and the 25,636,712 parameters", () => {
  assertEquals(Object.keys(WEIGHTS_MANIFEST.files).length, 16);
  assertEquals(WEIGHTS_MANIFEST.parameters, 25_636_712);
  assertEquals(trunk.id, WEIGHTS_MANIFEST.trunkId);
  assert(/^[0-9a-f]{64}$/.test(trunk.sha256));
  assertEquals(trunk.backend.name, "wasm");
});

Deno.test({
  name: "the trunk is the real ImageNet ResNet50: chelsea is a cat, coffee is espresso",
  ignore: !haveSkimage,
}, () => {
  const cat = top("chelsea.png");
  assertEquals(cat[0]!.label, "Egyptian_cat");
  assert(cat.every((c) => ["Egyptian_cat", "tabby", "tiger_cat"].includes(c.label)), JSON.stringify(cat));
  const cup = top("coffee.png");
  assertEquals(cup[0]!.label, "espresso");
  assert(cup[0]!.p > 0.9, `espresso p=${cup[0]!.p}`);
});

Deno.test({
  name: "the folded trunk equals Keras's own graph loaded by tfjs-layers, embedding and fc1000",
  ignore: !haveSkimage,
}, async () => {
  // tfjs-layers reads the converted folder itself (model.json + shards, decoding the float16 kernels).
  const dir = trunk.backend && (await loadResnetWeights()).location;
  const modelJson = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const group = modelJson.weightsManifest[0];
  const shards = await Promise.all(group.paths.map((p: string) => Deno.readFile(`${dir}/${p}`)));
  const weightData = new Uint8Array(shards.reduce((s: number, b: Uint8Array) => s + b.length, 0));
  let at = 0;
  for (const b of shards) {
    weightData.set(b, at);
    at += b.length;
  }
  const keras = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: group.weights,
      weightData: weightData.buffer,
    }),
  );
  const pool = tfl.model({
    inputs: keras.inputs,
    outputs: keras.getLayer("avg_pool").output as tfl.SymbolicTensor,
  });
  const photo = await loadView(`${SPACE_ROCKS}/Highland/Crustal_Anorthosite_s72-41777.jpg`, "centre");
  const x = toInputTensor([viewCache.get("chelsea.png")!, photo], 224);
  const [ours, theirs, ourP, theirP] = tf.tidy(() => {
    const e = trunk.embed(x);
    return [e, pool.predict(x) as tf.Tensor, trunk.imagenetProbabilities(e), keras.predict(x) as tf.Tensor];
  });
  const a = ours!.dataSync(), b = theirs!.dataSync();
  let maxDiff = 0, maxAbs = 0;
  a.forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - b[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
  });
  // float32 re-association from folding BN into the convolutions: tiny relative error.
  assert(maxDiff / maxAbs < 1e-4, `embedding differs by ${maxDiff} (max ${maxAbs})`);
  const pa = ourP!.dataSync(), pb = theirP!.dataSync();
  pa.forEach((v, i) => assert(Math.abs(v - pb[i]!) < 1e-4, `fc1000 ${i}: ${v} vs ${pb[i]}`));
  tf.dispose([x, ours!, theirs!, ourP!, theirP!]);
  keras.dispose();
});

Deno.test("Trunk.embed() maps [N,224,224,3] to [N,2048], leaks no tensor, and refuses bad shapes", () => {
  const before = tf.memory().numTensors;
  const x = tf.zeros([2, 224, 224, 3]) as tf.Tensor4D;
  const e = trunk.embed(x);
  assertEquals(e.shape, [2, 2048]);
  tf.dispose([x, e]);
  assertEquals(tf.memory().numTensors, before);
  const bad = tf.zeros([1, 224, 224]) as unknown as tf.Tensor4D;
  assertThrows(() => trunk.embed(bad), RocksError, "Trunk input must be [N, H≥32, W≥32, 3]");
  bad.dispose();
});

Deno.test("loadResnetWeights() names the damaged or missing file", async () => {
  const src = (await loadResnetWeights()).location;
  await using dir = await tempDir();
  for (const f of Object.keys(WEIGHTS_MANIFEST.files)) await Deno.symlink(`${src}/${f}`, `${dir.path}/${f}`);
  const shard = "group1-shard7of13.bin";
  const bytes = await Deno.readFile(`${src}/${shard}`);
  bytes[1000] = bytes[1000]! ^ 0xff;
  await Deno.remove(`${dir.path}/${shard}`);
  await Deno.writeFile(`${dir.path}/${shard}`, bytes);
  await assertRejects(() => loadResnetWeights(dir.path), RocksError, `${shard} is damaged: sha256`);
  await Deno.writeFile(`${dir.path}/${shard}`, bytes.subarray(0, 5000));
  await assertRejects(
    () => loadResnetWeights(dir.path),
    RocksError,
    `${shard} is damaged: 5000 bytes, expected 4194304 (a partial copy?)`,
  );
  await Deno.remove(`${dir.path}/${shard}`);
  await assertRejects(
    () => loadResnetWeights(dir.path),
    RocksError,
    `Missing weights file ${dir.path}/${shard}`,
  );
});

Deno.test("ROCKS_WEIGHTS points the loader at another copy of the weights, checked the same way", async () => {
  const src = (await loadResnetWeights()).location;
  await using dir = await tempDir();
  for (const f of Object.keys(WEIGHTS_MANIFEST.files)) await Deno.symlink(`${src}/${f}`, `${dir.path}/${f}`);
  Deno.env.set("ROCKS_WEIGHTS", `${dir.path}/`);
  try {
    assertEquals(defaultWeightsLocation(), dir.path);
    assertEquals((await loadResnetWeights()).location, dir.path);
    await Deno.remove(`${dir.path}/labels.json`);
    await assertRejects(
      () => loadResnetWeights(),
      RocksError,
      `Missing weights file ${dir.path}/labels.json`,
    );
  } finally {
    Deno.env.delete("ROCKS_WEIGHTS");
  }
  assertEquals(defaultWeightsLocation(), src);
});

Deno.test("buildTrunk() asserts every shape before copying anything", async () => {
  const w = await loadResnetWeights();
  const t = w.tensors.get("res3b_branch2b/kernel")!;
  w.tensors.set("res3b_branch2b/kernel", { shape: [3, 3, 128, 64], data: t.data });
  const before = tf.memory().numTensors;
  assertThrows(
    () => buildTrunk(w),
    RocksError,
    "res3b_branch2b/kernel has shape [3,3,128,64], expected [3,3,128,128]",
  );
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("buildTrunk() frees only its own temporaries: the weights it is given stay whole and build the same trunk again", async () => {
  const w = await loadResnetWeights();
  const lengths = [...w.tensors.values()].map((t) => t.data.length);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([1, 64, 64, 3], -100, 100, "float32", 7) as tf.Tensor4D;
  const a = buildTrunk(w);
  assertEquals([...w.tensors.values()].map((t) => t.data.length), lengths);
  const b = buildTrunk(w); // from the same arrays, after the first build released its packed copies
  const [ea, eb] = [a.embed(x), b.embed(x)];
  assertEquals(Array.from(await ea.data()), Array.from(await eb.data()));
  tf.dispose([ea, eb, x]);
  a.dispose();
  b.dispose();
  assertEquals(tf.memory().numTensors, before);
});
