/**
 * What `--precision int8` costs in accuracy, on the Learn photos: the cosine
 * similarity of every photo's int8 embedding with its float32 one (centre
 * view at 224 and at 448 px, the course's and the default preset's), and the
 * grouped 5-fold cross-validation of the default preset (and the course's)
 * on float32 and on int8 embeddings, with the same folds and seeds.
 *
 * Both precisions run in a pool of workers, each into its own temporary
 * cache, which the cross-validation then reads.
 *
 * Usage: deno run -A bench/precision.ts [--data DIR] [--out bench/precision.json]
 * @module
 */
import { parseArgs } from "node:util";
import { crossValidate, DEFAULT_PRESET, openEmbedder, presetOptions, scanDataset } from "../mod.ts";
import type { Precision } from "../lib/trunk/precision.ts";
import { cosine } from "./weights_precision.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { data: { type: "string" }, out: { type: "string" } },
  strict: true,
});
const data = values.data ?? new URL("../../shared/data/space-rocks", import.meta.url).pathname;
const out = values.out ?? new URL("./precision.json", import.meta.url).pathname;
const dataset = await scanDataset(data);
const tmp = await Deno.makeTempDir({ prefix: "rocks-precision-" });
const log = (s: string) => console.error(s);

/** Quantiles of `xs` (sorted copy): min, 1 %, 5 %, median, max; and how many are below 0.995. */
function distribution(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return {
    photos: s.length,
    min: s[0]!,
    p01: at(0.01),
    p05: at(0.05),
    median: at(0.5),
    max: s[s.length - 1]!,
    below0995: s.filter((c) => c < 0.995).length,
    worst: xs.indexOf(s[0]!),
  };
}

const embedders = new Map<Precision, Awaited<ReturnType<typeof openEmbedder>>>();
for (const precision of ["fp32", "int8"] as const) {
  embedders.set(precision, await openEmbedder({ backend: "wasm", cache: `${tmp}/${precision}`, precision }));
}
const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  data,
  photos: dataset.samples.length,
};
try {
  for (const view of ["centre", "centre@448"] as const) {
    const jobs = dataset.samples.map((s) => ({ path: s.path, view }));
    const got = new Map<Precision, Float32Array[]>();
    for (const [precision, embedder] of embedders) {
      const t0 = performance.now();
      const r = await embedder.embed(jobs);
      log(`${view} ${precision}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      got.set(
        precision,
        r.map((x, i) => {
          if (!("embedding" in x)) throw new Error(`${jobs[i]!.path}: ${x.error}`);
          return x.embedding;
        }),
      );
    }
    const cos = got.get("fp32")!.map((a, i) => cosine(a, got.get("int8")![i]!));
    const d = distribution(cos);
    result[`cosine ${view}`] = { ...d, worstPhoto: dataset.samples[d.worst]!.name };
    log(`${view}: ${JSON.stringify(result[`cosine ${view}`])}`);
  }
  for (const preset of [DEFAULT_PRESET, "course"] as const) {
    // The course preset's random crops are fresh each epoch; cross-validate its head on the centre view
    // (the cached one), as bench/ACCURACY.md's "course head, centre view only" row.
    const recipe = { ...presetOptions(preset), ...(preset === "course" ? { augment: "none" as const } : {}) };
    for (const [precision, embedder] of embedders) {
      const cv = await crossValidate(embedder, dataset, { recipe, folds: 5, seed: 1 });
      result[`cv ${preset} ${precision}`] = { accuracy: cv.accuracy, recall: cv.recall };
      log(`cv ${preset} ${precision}: ${cv.accuracy.mean.toFixed(3)} ± ${cv.accuracy.std.toFixed(3)}`);
    }
  }
} finally {
  for (const e of embedders.values()) e.close();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}
await Deno.writeTextFile(out, JSON.stringify(result, null, 1) + "\n");
console.log(JSON.stringify(result, null, 1));
