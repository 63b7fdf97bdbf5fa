/**
 * The WebGPU path, tested on the software adapter that Debian's
 * mesa-vulkan-drivers gives Deno (llvmpipe): slow, but the same WGSL
 * kernels a real GPU runs. `deno task test` installs the package where it
 * can (tests/fixtures.ts); on a machine with no WebGPU adapter every test
 * here is reported as ignored (tests/_system.ts), never as passed.
 *
 * Tolerance for WebGPU vs WASM embeddings: 1e-4 of the largest embedding
 * value. Both compute in float32, but in a different order (tiled GPU
 * matmuls vs XNNPACK), so the last bits differ; measured here: 1.6e-6.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "./_assert.ts";
import { initBackend, probeGpu } from "../lib/trunk/backend.ts";
import { loadTrunk } from "../lib/trunk/load.ts";
import { predict } from "../lib/score/predict.ts";
import { trainFolder } from "../lib/train/train.ts";
import { trunkEmbedder } from "../lib/embed/embedder.ts";
import type { EmbedJob } from "../lib/embed/job.ts";
import { courseTrain, fileTempDir, flags, runCli, SPACE_ROCKS, writeTextureDataset } from "./_helpers.ts";
import { probeWebGpu } from "./_system.ts";

/** No adapter (no GPU, no mesa-vulkan-drivers): every test here is ignored. */
const ignore = !(await probeWebGpu()).available;

const data = fileTempDir("rocks-webgpu-");
await writeTextureDataset(data, 4);

Deno.test({
  name: "probeGpu() finds the adapter; auto picks WASM over a software one, WebGPU on a real GPU",
  ignore,
  async fn() {
    const gpu = await probeGpu();
    assert(gpu.available, `no WebGPU adapter: ${gpu.error}`);
    const auto = await initBackend("auto");
    if (gpu.fallback) {
      assertEquals(auto.name, "wasm");
      assert(auto.reason.includes("software"), auto.reason);
    } else {
      assertEquals(auto.name, "webgpu", `a real GPU (${gpu.description}): ${auto.reason}`);
    }
    await initBackend("wasm");
  },
});

Deno.test({
  name: "the trunk on WebGPU gives the WASM embeddings, and the same predictions",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const jobs: EmbedJob[] = [
      { path: `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`, view: "centre" },
      { path: `${data}/stripes/stripes_000.png`, view: "crop:3" },
    ];
    const wasmTrunk = await loadTrunk({ backend: "wasm", precision: "fp32" }); // WebGPU runs float32
    const onWasm = await trunkEmbedder(wasmTrunk).embed(jobs);
    // A classifier trained on WASM, to predict with both backends.
    const { classifier } = await trainFolder(trunkEmbedder(wasmTrunk), data, {
      epochs: 2,
      augment: "none",
      testFraction: 0,
    });
    const photos = [`${data}/speckle/speckle_001.png`, `${data}/stripes/stripes_001.png`];
    const predWasm = await predict(trunkEmbedder(wasmTrunk), classifier, photos);
    wasmTrunk.dispose();

    const gpuTrunk = await loadTrunk({ backend: "webgpu" });
    assertEquals(gpuTrunk.backend.name, "webgpu");
    assertEquals(tf.getBackend(), "webgpu");
    const onGpu = await trunkEmbedder(gpuTrunk, { batchSize: 2 }).embed(jobs);
    let maxAbs = 0, maxDiff = 0;
    onWasm.forEach((r, i) => {
      const g = onGpu[i]!;
      assert("embedding" in r && "embedding" in g);
      r.embedding.forEach((v, k) => {
        maxAbs = Math.max(maxAbs, Math.abs(v));
        maxDiff = Math.max(maxDiff, Math.abs(v - g.embedding[k]!));
      });
    });
    console.log(
      `WebGPU vs WASM: largest difference ${maxDiff.toExponential(2)} of values up to ${maxAbs.toFixed(2)}`,
    );
    assert(maxDiff <= 1e-4 * maxAbs, `embeddings differ by ${maxDiff} (max ${maxAbs})`);

    const predGpu = await predict(trunkEmbedder(gpuTrunk), classifier, photos);
    predWasm.forEach((p, i) => {
      const q = predGpu[i]!;
      assert("class" in p && "class" in q);
      assertEquals(q.class, p.class);
      for (const c of Object.keys(p.probabilities)) {
        assert(
          Math.abs(p.probabilities[c]! - q.probabilities[c]!) < 1e-3,
          `${c}: ${p.probabilities[c]} vs ${q.probabilities[c]}`,
        );
      }
    });
    classifier.dispose();
    gpuTrunk.dispose();
    await initBackend("wasm");
  },
});

Deno.test({
  name: "WebGPU releases every tensor and GPU buffer after embedding",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const trunk = await loadTrunk({ backend: "webgpu" });
    const embedder = trunkEmbedder(trunk, { batchSize: 1 });
    await embedder.embed([{ path: `${data}/speckle/speckle_002.png`, view: "centre" }]); // warm
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    await embedder.embed([{ path: `${data}/speckle/speckle_003.png`, view: "centre" }]);
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    assertEquals(after.numTensors, before.numTensors);
    assert(typeof after.numBytesInGPU === "number", "the WebGPU backend reports GPU bytes");
    assertEquals(after.numBytesInGPU, before.numBytesInGPU);
    trunk.dispose();
    await initBackend("wasm");
  },
});

Deno.test({
  name: "rocks predict --backend webgpu runs on the WebGPU adapter through the CLI",
  ignore,
}, async () => {
  const model = `${data}-model`;
  const train = await runCli(courseTrain(data, model, "--epochs 1 --augment none --no-cache --workers 1"));
  assertEquals(train.code, 0, train.stderr);
  const r = await runCli([
    "predict",
    model,
    `${data}/stripes/stripes_002.png`,
    ...flags("--backend webgpu --no-cache --json"),
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout)[0].class, "stripes");
  await Deno.remove(model, { recursive: true });
});
