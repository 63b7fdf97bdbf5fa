/**
 * WebGPU rows of the bench: ResNet50 trunk throughput on the WebGPU backend
 * at batch 1, 16 and 64 (224×224 tensors already made), and its start-up
 * cost (backend start, weights, first call with shader compilation), next to
 * WASM SIMD in this thread measured in the same run.
 *
 * On a machine whose only adapter is a software one (llvmpipe from Debian's
 * mesa-vulkan-drivers) the numbers show that path works and what it costs,
 * not what a GPU does. On a GPU machine, `--random-weights` builds a trunk
 * of the same shapes without reading the 98 MB weights package.
 *
 * Usage: deno run -A bench/webgpu.ts [--batches 1,16,64] [--images 64] [--random-weights] [--out FILE]
 * (On llvmpipe, about 0.5 img/s, `--batches 1,4,16 --images 16` keeps it to a few minutes.)
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, probeGpu } from "../lib/trunk/backend.ts";
import { buildTrunk, type Trunk } from "../lib/trunk/resnet50.ts";
import { loadResnetWeights, type ResnetWeights, WEIGHTS_MANIFEST } from "../lib/trunk/weights.ts";

/** One measured row. */
export interface WebGpuRow {
  /** `webgpu` or `wasm`. */
  backend: string;
  /** Photos per trunk call. */
  batch: number;
  /** Photos embedded in the timed part. */
  images: number;
  /** Images per second. */
  imagesPerSecond: number;
  /** Seconds from backend start to the first embedding read back (weights, build, shaders). */
  startSeconds: number;
}

/** Weights of the right shapes filled with small random numbers (timing only). */
async function randomWeights(): Promise<ResnetWeights> {
  const real = await loadResnetWeights().catch(() => undefined);
  if (real) {
    for (const t of real.tensors.values()) t.data = t.data.map(() => (Math.random() - 0.5) * 0.02);
    return real;
  }
  throw new Error("--random-weights needs the weights' shapes: install the weights package");
}

async function measure(
  backend: "webgpu" | "wasm",
  batch: number,
  images: number,
  random: boolean,
): Promise<WebGpuRow> {
  const t0 = performance.now();
  await initBackend(backend);
  const trunk: Trunk = buildTrunk(random ? await randomWeights() : await loadResnetWeights());
  const x = tf.randomUniform([batch, 224, 224, 3], -120, 130) as tf.Tensor4D;
  const once = async () => {
    const e = trunk.embed(x);
    await e.data();
    e.dispose();
  };
  await once(); // first call: kernels compiled, buffers allocated
  const startSeconds = (performance.now() - t0) / 1000;
  const calls = Math.max(1, Math.round(images / batch));
  const t1 = performance.now();
  for (let i = 0; i < calls; i++) await once();
  const seconds = (performance.now() - t1) / 1000;
  x.dispose();
  trunk.dispose();
  return { backend, batch, images: calls * batch, imagesPerSecond: (calls * batch) / seconds, startSeconds };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      batches: { type: "string", default: "1,16,64" },
      images: { type: "string", default: "64" },
      "random-weights": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const gpu = await probeGpu();
  const batches = values.batches!.split(",").map(Number);
  const images = Number(values.images);
  const rows: WebGpuRow[] = [];
  if (!gpu.available) {
    console.log(`No WebGPU adapter (${gpu.error}): no WebGPU rows.`);
  } else {
    for (const b of batches) {
      rows.push(await measure("webgpu", b, Math.max(b, Math.min(images, b * 4)), values["random-weights"]!));
    }
  }
  rows.push(await measure("wasm", 1, 8, values["random-weights"]!));
  const result = {
    date: new Date().toISOString(),
    adapter: gpu,
    weights: values["random-weights"] ? "random, same shapes" : WEIGHTS_MANIFEST.source.package,
    rows,
  };
  console.log(
    `WebGPU adapter: ${gpu.available ? `${gpu.description}${gpu.fallback ? " (software)" : ""}` : "none"}`,
  );
  console.log("backend  batch  images   img/s   start s");
  for (const r of rows) {
    console.log(
      `${r.backend.padEnd(7)} ${String(r.batch).padStart(6)} ${String(r.images).padStart(7)} ${
        r.imagesPerSecond.toFixed(2).padStart(7)
      } ${r.startSeconds.toFixed(1).padStart(9)}`,
    );
  }
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(result, null, 1) + "\n");
}
