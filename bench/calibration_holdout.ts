/**
 * Does the int8 calibration hold for photos it never saw? The Learn photos
 * are split into two halves, by photo series (`--split series`, alternate
 * series: other rocks of both classes) or by class (`--split class`: one class
 * calibrates, the other is tested, a harsher shift); each half calibrates (each
 * channel's largest value × headroom, as `scripts/calibrate_int8.ts` does) and
 * the other half is embedded at int8 and compared with float32 (cosine), at
 * 224 and 448 px. Also counts, on the held-out half, how many channels went
 * past their calibrated range (those values are clipped).
 *
 * Usage: deno run -A bench/calibration_holdout.ts [--data DIR] [--headroom 1.3,2] [--split series|class] [--out FILE]
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { initBackend } from "../lib/trunk/backend.ts";
import { loadResnetWeights } from "../lib/trunk/weights.ts";
import { buildTrunk } from "../lib/trunk/resnet50.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { loadView } from "../lib/image/load_view.ts";
import { scanDataset } from "../lib/data/scan.ts";
import { cosine } from "./weights_precision.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    data: { type: "string" },
    headroom: { type: "string" },
    split: { type: "string", default: "series" },
    out: { type: "string" },
  },
  strict: true,
});
const data = values.data ?? new URL("../../shared/data/space-rocks", import.meta.url).pathname;
const headrooms = (values.headroom ?? "1.3,2").split(",").map(Number);
const SIDES = [224, 448] as const;
const log = (s: string) => console.error(s);

await initBackend("wasm");
const weights = await loadResnetWeights();
const dataset = await scanDataset(data);
const photos = dataset.samples;
// Halves by photo series (alternating, in the order the series first appear), or by class.
if (values.split !== "series" && values.split !== "class") throw new Error("--split: series or class");
const series = [...new Set(photos.map((p) => p.group))];
const half = photos.map((p) => values.split === "class" ? p.label % 2 : series.indexOf(p.group) % 2);

/** Per photo and side: each quantized tensor's channel maxima, and the float32 embedding. */
const seen: Map<string, Float32Array>[][] = SIDES.map(() => photos.map(() => new Map()));
const fp32: Float32Array[][] = SIDES.map(() => []);
let current: Map<string, Float32Array> | undefined;
const observer = buildTrunk(weights, {
  observe(name, x) {
    if (!current || name === "res2a_branch2a") return; // (warm-up call; res2a stays float32, as shipped)
    current!.set(name, Float32Array.from(tf.max(x, [0, 1, 2]).dataSync() as Float32Array));
  },
});
const views = await Promise.all(
  SIDES.map((side) =>
    Promise.all(photos.map((p) => loadView(p.path, side === 224 ? "centre" : `centre@${side}`)))
  ),
);
for (const [s, side] of SIDES.entries()) {
  for (let i = 0; i < photos.length; i++) {
    current = seen[s]![i]!;
    fp32[s]![i] = tf.tidy(() =>
      observer.embed(toInputTensor([views[s]![i]!], side)).dataSync() as Float32Array
    );
  }
  log(`float32 at ${side} px: ${photos.length} photos`);
}
observer.dispose();

const result: Record<string, unknown>[] = [];
for (const headroom of headrooms) {
  for (const calibrated of [0, 1]) {
    const ranges = new Map<string, Float32Array>();
    for (const s of SIDES.keys()) {
      photos.forEach((_, i) => {
        if (half[i] !== calibrated) return;
        for (const [name, m] of seen[s]![i]!) {
          const r = ranges.get(name) ?? ranges.set(name, new Float32Array(m.length)).get(name)!;
          for (let c = 0; c < m.length; c++) r[c] = Math.max(r[c]!, m[c]!);
        }
      });
    }
    for (const r of ranges.values()) for (let c = 0; c < r.length; c++) r[c] = r[c]! * headroom;
    const int8 = buildTrunk(weights, { precision: "int8", activationRanges: ranges });
    for (const [s, side] of SIDES.entries()) {
      const cosines: number[] = [];
      let clipped = 0, channels = 0;
      photos.forEach((_, i) => {
        if (half[i] === calibrated) return;
        const e = tf.tidy(() => int8.embed(toInputTensor([views[s]![i]!], side)).dataSync() as Float32Array);
        cosines.push(cosine(fp32[s]![i]!, e));
        for (const [name, m] of seen[s]![i]!) {
          const r = ranges.get(name)!;
          for (let c = 0; c < m.length; c++) if (m[c]! > r[c]!) clipped++;
          channels += m.length;
        }
      });
      const sorted = [...cosines].sort((a, b) => a - b);
      const row = {
        headroom,
        calibratedOnHalf: calibrated,
        side,
        photos: cosines.length,
        min: sorted[0],
        p05: sorted[Math.floor(0.05 * sorted.length)],
        median: sorted[sorted.length >> 1],
        below0995: sorted.filter((c) => c < 0.995).length,
        clippedChannelShare: clipped / channels,
      };
      log(JSON.stringify(row));
      result.push(row);
    }
    int8.dispose();
  }
}
const text = JSON.stringify(
  { date: new Date().toISOString(), data, split: values.split, rows: result },
  null,
  2,
);
if (values.out) await Deno.writeTextFile(values.out, text + "\n");
else console.log(text);
