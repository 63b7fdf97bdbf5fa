/**
 * The int8 trunk (`--precision int8`): its embeddings of real photos against
 * the float32 trunk's, where it runs and where it falls back, and that the
 * cache and a model never mix float32 and int8 embeddings.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "./_assert.ts";
import { testTrunk } from "./_trunk.ts";
import { fileTempDir, runCli, SPACE_ROCKS, writeTextureDataset } from "./_helpers.ts";
import { loadTrunk, precisionHere } from "../lib/trunk/load.ts";
import {
  choosePrecision,
  DEFAULT_PRECISION,
  embeddingKey,
  INT8_CALIBRATED_FOR,
  int8ActivationRanges,
  parsePrecision,
  PRECISION_REQUESTS,
} from "../lib/trunk/precision.ts";
import { convSpecs } from "../lib/trunk/resnet50.ts";
import { manifestSha256 } from "../lib/trunk/weights.ts";
import { loadView } from "../lib/image/load_view.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { openEmbedder } from "../lib/embed/embedder.ts";
import { listPhotos } from "../bench/_views.ts";
import { cosine } from "../bench/weights_precision.ts";

const fp32 = await testTrunk();
const int8 = await loadTrunk({ backend: "wasm", precision: "int8" });
const dir = fileTempDir();

Deno.test("the int8 trunk's embeddings of Learn photos stay within cosine 0.995 of float32's, leaking no tensor", async () => {
  assertEquals(int8.precision, "int8");
  assertEquals(int8.precisionChoice.asked, true);
  const photos = await listPhotos(SPACE_ROCKS);
  assertEquals(photos.length, 154);
  const picked = photos.filter((_, i) => i % 6 === 0); // 26 photos over both classes
  const before = tf.memory().numTensors;
  const cosines: number[] = [];
  for (let i = 0; i < picked.length; i += 4) {
    const views = await Promise.all(picked.slice(i, i + 4).map((p) => loadView(p, "centre")));
    const [a, b] = tf.tidy(() => {
      const x = toInputTensor(views, 224);
      return [fp32.embed(x).dataSync() as Float32Array, int8.embed(x).dataSync() as Float32Array];
    });
    for (let j = 0; j < views.length; j++) {
      cosines.push(cosine(a!.subarray(j * 2048, (j + 1) * 2048), b!.subarray(j * 2048, (j + 1) * 2048)));
    }
  }
  assertEquals(tf.memory().numTensors, before);
  assertEquals(cosines.length, picked.length);
  const worst = Math.min(...cosines);
  assert(
    worst >= 0.995,
    `worst cosine ${worst.toFixed(4)} (all: ${cosines.map((c) => c.toFixed(4)).join(" ")})`,
  );
  assert(worst < 0.99999, "int8 gave float32's embeddings exactly: it did not run");
});

Deno.test("a trunk call holds a few activations at a time, not all of them, at either precision", async () => {
  // Each intermediate is disposed when nothing reads it any more (lib/trunk/resnet50.ts). The largest
  // activation of a 224 px view is 3.2 MB (112·112·64 or 56·56·256 floats); a call that kept every one to
  // the end of its tidy held about 50 MB.
  for (const trunk of [fp32, int8]) {
    const x = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
    const before = tf.memory().numBytes;
    const profile = await tf.profile(() => tf.tidy(() => trunk.embed(x)));
    x.dispose();
    const peakMB = (profile.peakBytes - before) / 1e6;
    assert(peakMB < 12, `${trunk.precision}: a call held ${peakMB.toFixed(1)} MB at once`);
    assert(peakMB > 3, `${trunk.precision}: ${peakMB.toFixed(1)} MB is less than its largest activation`);
  }
});

Deno.test("the shipped calibration is for these weights and covers every quantized input", async () => {
  assertEquals(INT8_CALIBRATED_FOR, await manifestSha256());
  const ranges = int8ActivationRanges();
  const specs = convSpecs();
  for (const s of specs) {
    if (s.name === "conv1" || s.name.endsWith("_branch1")) continue;
    const r = ranges.get(s.name);
    if (s.name === "res2a_branch2a") {
      assertEquals(r, undefined, "res2a's input stays float32");
      continue;
    }
    assert(r, `no range for ${s.name}`);
    assertEquals(r.length, s.cin, s.name);
    assert(r.every((v) => Number.isFinite(v) && v >= 0), `${s.name}: a range that is not a finite value ≥ 0`);
    assert(r.some((v) => v > 0), `${s.name}: every channel 0`);
  }
});

Deno.test("int8 runs on wasm with relaxed SIMD only; elsewhere float32, and the reason says so", () => {
  assertEquals(choosePrecision("fp32", "wasm", true).precision, "fp32");
  assertEquals(choosePrecision("int8", "wasm", true), {
    precision: "int8",
    reason: choosePrecision("int8", "wasm", true).reason,
    asked: true,
  });
  const gpu = choosePrecision("int8", "webgpu", true);
  assertEquals([gpu.precision, gpu.asked], ["fp32", false]);
  assert(gpu.reason.includes("webgpu"), gpu.reason);
  const old = choosePrecision("int8", "wasm", false);
  assertEquals([old.precision, old.asked], ["fp32", false]);
  assert(old.reason.includes("relaxed SIMD"), old.reason);
});

Deno.test("auto, the default, is int8 where int8 runs and float32 elsewhere, without a warning", () => {
  assertEquals(DEFAULT_PRECISION, "auto");
  const here = choosePrecision("auto", "wasm", true);
  assertEquals([here.precision, here.asked], ["int8", true]);
  assert(here.reason.includes("auto"), here.reason);
  for (const [backend, kernel] of [["webgpu", true], ["cpu", true], ["wasm", false]] as const) {
    const c = choosePrecision("auto", backend, kernel);
    assertEquals([c.precision, c.asked], ["fp32", true], `${backend}, kernel ${kernel}`);
    assert(c.reason.startsWith("auto: "), c.reason);
  }
  assertEquals(parsePrecision("auto"), "auto");
  assertEquals(PRECISION_REQUESTS, ["auto", "fp32", "int8"]);
});

Deno.test("embeddingKey() keeps float32's key the weights' sha256 and gives int8 another", () => {
  const sha = "ab".repeat(32);
  assertEquals(embeddingKey(sha, "fp32"), sha);
  const k = embeddingKey(sha, "int8");
  assert(/^[0-9a-f]{64}$/.test(k), k);
  assert(k !== sha);
  assertEquals(embeddingKey(sha, "int8"), k);
  assert(embeddingKey("cd".repeat(32), "int8") !== k);
});

Deno.test("one cache holds float32 and int8 embeddings of a photo apart", async () => {
  const cache = `${dir}/cache`;
  const photo = (await listPhotos(SPACE_ROCKS))[3]!;
  const embedWith = async (precision: "fp32" | "int8") => {
    const embedder = await openEmbedder({ backend: "wasm", workers: 0, cache, precision });
    try {
      const [r] = await embedder.embed([{ path: photo, view: "centre" }]);
      assert(r && "embedding" in r, JSON.stringify(r));
      return { embedding: r.embedding, key: embedder.trunk.key!, hits: embedder.cache!.stats.hits };
    } finally {
      embedder.close();
    }
  };
  const a = await embedWith("fp32");
  const b = await embedWith("int8");
  assertEquals(b.hits, 0, "the int8 run read float32's record");
  assert(a.key !== b.key, "the same key for both precisions");
  const c = cosine(a.embedding, b.embedding);
  assert(c >= 0.995 && c < 0.99999, `cosine ${c}`);
  const again = await embedWith("int8");
  assertEquals(again.hits, 1);
  assertEquals(Array.from(again.embedding), Array.from(b.embedding));
});

Deno.test("a model records int8; predict and info use it, and --precision fp32 against it is refused", async () => {
  const data = `${dir}/data`;
  await writeTextureDataset(data, 3);
  const model = `${dir}/model`;
  const common = ["--backend", "wasm", "--workers", "1", "--no-cache"];
  const train = await runCli([
    "train",
    data,
    "--precision",
    "int8",
    "--augment",
    "none",
    "--epochs",
    "2",
    "--test-fraction",
    "0",
    "--out",
    model,
    "--json",
    ...common,
  ]);
  assertEquals(train.code, 0, train.stderr);
  assertEquals(JSON.parse(train.stdout).precision, "int8");
  const meta = JSON.parse(await Deno.readTextFile(`${model}/rocks.json`));
  assertEquals(meta.trunk.precision, "int8");
  const photo = `${data}/stripes/stripes_000.png`;
  const ok = await runCli(["predict", model, photo, "--json", ...common]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(JSON.parse(ok.stdout).length, 1);
  const refused = await runCli(["predict", model, photo, "--precision", "fp32", ...common]);
  assertEquals(refused.code, 1, refused.stderr); // a model error, not a usage one
  assert(refused.stderr.includes("trained on int8 embeddings"), refused.stderr);
  assert(refused.stderr.includes("--precision int8"), refused.stderr);
  const info = await runCli(["info", model]);
  assertEquals(info.code, 0, info.stderr);
  assert(info.stdout.includes("Precision: int8"), info.stdout);
  assert(info.stdout.includes("(int8 embeddings)"), info.stdout);
  const bad = await runCli(["predict", model, photo, "--precision", "int4", ...common]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes('Unknown --precision "int4"'), bad.stderr);
});

Deno.test("train without --precision runs the default (int8 where it runs); a float32 model predicts at float32, --precision auto included", async () => {
  const data = `${dir}/data-auto`;
  await writeTextureDataset(data, 3);
  const common = ["--backend", "wasm", "--workers", "1", "--no-cache"];
  const trainArgs = ["--augment", "none", "--epochs", "2", "--test-fraction", "0", "--json", ...common];
  const expected = precisionHere("auto", "wasm").precision;
  const byDefault = await runCli(["train", data, "--out", `${dir}/model-auto`, ...trainArgs]);
  assertEquals(byDefault.code, 0, byDefault.stderr);
  assertEquals(JSON.parse(byDefault.stdout).precision, expected);
  assert(!byDefault.stderr.includes("warning"), byDefault.stderr);
  const fp32Model = `${dir}/model-fp32`;
  const fp32 = await runCli(["train", data, "--out", fp32Model, "--precision", "fp32", ...trainArgs]);
  assertEquals(fp32.code, 0, fp32.stderr);
  assertEquals(JSON.parse(await Deno.readTextFile(`${fp32Model}/rocks.json`)).trunk.precision, "fp32");
  const photo = `${data}/speckle/speckle_000.png`;
  const cache = `${dir}/cache-auto`;
  for (const extra of [[], ["--precision", "auto"]]) {
    const p = await runCli([
      "predict",
      fp32Model,
      photo,
      "--json",
      ...extra,
      "--backend",
      "wasm",
      "--cache",
      cache,
    ]);
    assertEquals(p.code, 0, p.stderr);
    assertEquals(JSON.parse(p.stdout).length, 1);
  }
  // The embeddings were float32's (the model's), not the default's: the cache holds float32's key only.
  const stats = await runCli(["cache", "stats", cache, "--json"]);
  assertEquals(stats.code, 0, stats.stderr);
  assertEquals(Object.keys(JSON.parse(stats.stdout).caches[0].trunks), [
    embeddingKey(await manifestSha256(), "fp32"),
  ]);
  const info = await runCli(["info", "--precision", "auto", "--backend", "wasm"]);
  assertEquals(info.code, 0, info.stderr);
  assert(info.stdout.includes(`Precision: ${expected}`), info.stdout);
});

globalThis.addEventListener("unload", () => int8.dispose());
