/**
 * `rocks export --format onnx` and `exportOnnx()`: the exported file, run by
 * onnxruntime-web (the WASM build of onnxruntime, a test-only dependency),
 * gives the classes and probabilities `rocks predict` gives on the Learn
 * photos' centre views, for a course model trained through the CLI and for
 * a unit-length (`rocks` preset) model trained through the library; its
 * embedding output is the trunk's; any batch size gives the same rows.
 * @module
 */
import * as ort from "npm:onnxruntime-web@1.30.0";
import * as protobuf from "npm:protobufjs@8.8.1";
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { courseTrain, fileTempDir, runCli, SPACE_ROCKS, writeTextureDataset } from "./_helpers.ts";
import { testEmbedder, testTrunk } from "./_trunk.ts";
import { randomClassifier } from "./_classifier.ts";
import { main } from "../cli.ts";
import { defaultExportPath } from "../cli/commands/export.ts";
import { predict, RocksError, trainFolder } from "../mod.ts";
import { loadView } from "../lib/image/load_view.ts";
import { sizedView } from "../lib/image/view.ts";
import { evalView } from "../lib/model/classifier.ts";
import { exportOnnx, ONNX_OPSET } from "../lib/model/onnx.ts";
import { ONNX_PROTO } from "../lib/model/onnx_schema.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { loadResnetWeights } from "../lib/trunk/weights.ts";

/** What `rocks predict` and the ONNX model may differ by, per class probability. */
const TOLERANCE = 1e-3;

const shared = fileTempDir("rocks-onnx-");

/** Learn photos spread over both classes and their series: 4 Basalt, 4 Highland. */
function realPhotos(perClass = 4): string[] {
  return ["Basalt", "Highland"].flatMap((cls) => {
    const names = [...Deno.readDirSync(`${SPACE_ROCKS}/${cls}`)].map((e) => e.name).filter((n) =>
      /\.(jpe?g|png)$/i.test(n)
    ).sort();
    const step = Math.floor(names.length / perClass);
    return Array.from({ length: perClass }, (_, i) => `${SPACE_ROCKS}/${cls}/${names[i * step]}`);
  });
}

ort.env.wasm.numThreads = 1; // no worker threads under Deno
ort.env.logLevel = "error";

/** An onnxruntime session on the exported bytes. */
function session(onnx: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
}

/** Runs `image` on views of one size; returns each output's rows. */
async function runViews(
  s: ort.InferenceSession,
  views: Uint8Array[],
  size: number,
): Promise<Record<"log_probabilities" | "probabilities" | "embedding", Float32Array[]>> {
  const per = size * size * 3;
  const data = new Float32Array(views.length * per);
  views.forEach((v, i) => data.set(v, i * per)); // RGB 0–255, as the bytes are
  const out = await s.run({ image: new ort.Tensor("float32", data, [views.length, size, size, 3]) });
  const rows = (name: string) => {
    const t = out[name]!;
    const width = t.dims[1]!;
    assertEquals(t.dims, [views.length, width], name);
    const d = t.data as Float32Array;
    return views.map((_, i) => d.slice(i * width, (i + 1) * width));
  };
  const result = {
    log_probabilities: rows("log_probabilities"),
    probabilities: rows("probabilities"),
    embedding: rows("embedding"),
  };
  for (const t of Object.values(out)) t.dispose();
  return result;
}

/** Largest |a − b| over two lists of rows. */
function maxDiff(a: Float32Array[], b: ArrayLike<number>[]): number {
  let d = 0;
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i]![j]!)))));
  return d;
}

const argmax = (r: ArrayLike<number>) =>
  Array.from(r).reduce((best, v, i, all) => (v > all[best]! ? i : best), 0);

/** The model's `metadata_props`, read back with the schema the export wrote it with. */
function metadataOf(onnx: Uint8Array): { ir: number; opset: number; props: Record<string, string> } {
  const type = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType("onnx.ModelProto");
  const m = type.toObject(type.decode(onnx), { longs: Number }) as {
    ir_version: number;
    opset_import: { version: number }[];
    metadata_props: { key: string; value: string }[];
  };
  return {
    ir: m.ir_version,
    opset: m.opset_import[0]!.version,
    props: Object.fromEntries(m.metadata_props.map((p) => [p.key, p.value])),
  };
}

Deno.test({
  name:
    "rocks export: a course model trained through the CLI gives rocks predict's classes and probabilities on Learn photos",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = `${shared}/textures`;
    const model = `${shared}/course-model`;
    await writeTextureDataset(data, 6);
    const train = await runCli(
      // float32, as the exported network is (an int8 model's export differs by int8's small error)
      courseTrain(
        data,
        model,
        "--epochs 1 --augment none --workers 1 --no-cache --backend wasm --quiet --precision fp32",
      ),
    );
    assertEquals(train.code, 0, train.stderr);

    const path = `${shared}/course.onnx`;
    const exp = await runCli(["export", model, "--format", "onnx", "--out", path]);
    assertEquals(exp.code, 0, exp.stderr);
    assert(exp.stdout.includes(`Wrote ${path}: ONNX opset ${ONNX_OPSET}`), exp.stdout);
    assert(/input\s+image\s+float32 \[batch, height, width, 3\]/.test(exp.stdout), exp.stdout);
    assert(/output probabilities\s+float32 \[batch, 2\]/.test(exp.stdout), exp.stdout);
    assert(exp.stdout.includes("224×224 view"), exp.stdout);
    const onnx = await Deno.readFile(path);
    const { ir, opset, props } = metadataOf(onnx);
    assertEquals([ir, opset], [7, ONNX_OPSET]);
    assertEquals(JSON.parse(props.classes!), ["speckle", "stripes"]);
    assertEquals([props.view_size, props.l2normalize], ["224", "false"]);
    assert(props.view!.startsWith("shorter side to 224, centre crop 224×224"), props.view);

    const photos = realPhotos();
    const pred = await runCli([
      "predict",
      model,
      ...photos,
      "--json",
      "--workers",
      "1",
      "--no-cache",
      "--backend",
      "wasm",
      "--quiet",
    ]);
    assertEquals(pred.code, 0, pred.stderr);
    const rocks = JSON.parse(pred.stdout) as {
      file: string;
      class: string;
      probabilities: Record<string, number>;
    }[];
    const classes = JSON.parse(props.classes!) as string[];

    const views = await Promise.all(photos.map((p) => loadView(p, sizedView("centre", 224))));
    const s = await session(onnx);
    try {
      assertEquals(s.inputNames, ["image"]);
      assertEquals(s.outputNames, ["log_probabilities", "probabilities", "embedding"]);
      const all = await runViews(s, views, 224);
      const expected = rocks.map((r) => classes.map((c) => r.probabilities[c]!));
      const d = maxDiff(all.probabilities, expected);
      console.log(
        `course model, ${photos.length} Learn photos: max |p_onnx − p_rocks| = ${d.toExponential(2)}`,
      );
      assert(d <= TOLERANCE, `max probability difference ${d}`);
      all.probabilities.forEach((p, i) => assertEquals(classes[argmax(p)], rocks[i]!.class, photos[i]));
      all.log_probabilities.forEach((lp, i) =>
        lp.forEach((v, j) =>
          assert(Math.abs(Math.exp(v) - all.probabilities[i]![j]!) < 1e-6, "exp(log p) = p")
        )
      );

      // Dynamic batch: one photo alone, and three, give the rows of the batch of eight.
      const one = await runViews(s, views.slice(0, 1), 224);
      const three = await runViews(s, views.slice(2, 5), 224);
      assert(maxDiff(one.probabilities, all.probabilities.slice(0, 1)) < 1e-5, "batch of 1");
      assert(maxDiff(three.probabilities, all.probabilities.slice(2, 5)) < 1e-5, "batch of 3");

      // The embedding output is the trunk's, on the same view.
      const trunk = await testTrunk();
      const e = tf.tidy(() => trunk.embed(toInputTensor([views[0]!], 224)));
      const ref = await e.data() as Float32Array;
      e.dispose();
      const de = maxDiff(one.embedding, [ref]);
      const scale = Math.max(...ref);
      console.log(
        `embedding: max |e_onnx − e_rocks| = ${de.toExponential(2)} (largest value ${scale.toFixed(2)})`,
      );
      assert(de <= 1e-4 * scale, `embedding difference ${de} against values up to ${scale}`);
    } finally {
      await s.release();
    }
  },
});

Deno.test({
  name:
    "exportOnnx: a unit-length model (the rocks preset, 448 px) gives predict()'s probabilities; no tensor is left",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = `${shared}/textures-l2`;
    await writeTextureDataset(data, 4, 100);
    const embedder = await testEmbedder();
    const { classifier } = await trainFolder(embedder, data, { preset: "rocks" });
    try {
      assert(
        classifier.meta.preprocessing.l2normalize === true && classifier.meta.preprocessing.size === 448,
      );
      const weights = await loadResnetWeights();
      const before = tf.memory().numTensors;
      const onnx = await exportOnnx(classifier, { weights });
      assertEquals(tf.memory().numTensors, before);
      assertEquals(metadataOf(onnx).props.l2normalize, "true");

      const photos = realPhotos(3);
      const rocks = await predict(embedder, classifier, photos);
      const views = await Promise.all(photos.map((p) => loadView(p, evalView(classifier.meta))));
      const s = await session(onnx);
      try {
        const got = await runViews(s, views, 448);
        const classes = classifier.meta.classes;
        const expected = rocks.map((r) => {
          assert(!("error" in r));
          return classes.map((c) => r.probabilities[c]!);
        });
        const d = maxDiff(got.probabilities, expected);
        console.log(
          `unit-length model at 448 px, ${photos.length} Learn photos: max |p_onnx − p_rocks| = ${
            d.toExponential(2)
          }`,
        );
        assert(d <= TOLERANCE, `max probability difference ${d}`);
        got.probabilities.forEach((p, i) =>
          assertEquals(classes[argmax(p)], (rocks[i] as { class: string }).class, photos[i])
        );
      } finally {
        await s.release();
      }
    } finally {
      classifier.dispose();
    }
  },
});

Deno.test("exportOnnx refuses weights of another network than the classifier's, and leaves no tensor", async () => {
  const weights = await loadResnetWeights();
  await testTrunk(); // a backend for the head's tensors
  const before = tf.memory().numTensors;
  const c = randomClassifier(["a", "b"], { id: "another", sha256: "0".repeat(64) });
  try {
    await assertRejects(() => exportOnnx(c, { weights }), RocksError, "trained on trunk another");
  } finally {
    c.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("rocks export: usage errors exit 2 before anything loads; a missing folder exits 1", async () => {
  const run = async (args: string[]) => {
    const err: string[] = [];
    const code = await main(args, { out: () => {}, err: (t) => err.push(t), write: () => {}, isTty: false });
    return { code, err: err.join("\n") };
  };
  const bad = await run(["export", `${shared}/none`, "--format", "tflite"]);
  assertEquals(bad.code, 2);
  assert(bad.err.includes(`Unknown --format "tflite": expected "onnx"`), bad.err);
  assertEquals((await run(["export"])).code, 2);
  assertEquals((await run(["export", "a", "b"])).code, 2);
  const noOpt = await run(["export", "a", "--epochs", "3"]);
  assertEquals(noOpt.code, 2);
  assert(noOpt.err.includes("does not apply to export"), noOpt.err);
  const missing = await runCli(["export", `${shared}/none`, "--out", `${shared}/none.onnx`]);
  assertEquals(missing.code, 1, missing.stderr);
  assert(missing.stderr.includes("does not exist"), missing.stderr);
});

Deno.test("rocks export writes <model-dir>.onnx when --out is not given", () => {
  assertEquals(defaultExportPath("rock-model"), "rock-model.onnx");
  assertEquals(defaultExportPath("models/rock-model/"), "models/rock-model.onnx");
  assertEquals(defaultExportPath("."), "./model.onnx");
  assertEquals(defaultExportPath("../"), "../model.onnx");
});
