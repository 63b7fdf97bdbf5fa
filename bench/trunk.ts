/**
 * Trunk throughput: ResNet50 embeddings per second on 224×224 views already
 * made, through the toolkit's own code.
 *
 * - `thread`: `loadTrunk()` in this thread; each call is what `embedFiles`
 *   does per batch (`trunk.embed` in `tf.tidy`, then `data()`), on a tensor
 *   packed once by `toInputTensor`.
 * - `pool`: `createPool()` with `workers` workers and `batchSize = batch`; the
 *   jobs are 224×224 PNG views (decoding one takes about a millisecond), so
 *   the time is the trunk's plus the pool's own messaging.
 *
 * Run by bench/bench.ts as a separate process so that its peak memory is its
 * own; prints one JSON object on stdout.
 *
 * Usage: deno run -A bench/trunk.ts --mode thread|pool --batch N --images N --views DIR [--workers N]
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { loadView } from "../lib/image/load_view.ts";
import { createPool } from "../lib/embed/pool.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";
import { loadTrunk } from "../lib/trunk/load.ts";
import {
  DEFAULT_PRECISION,
  parsePrecision,
  type Precision,
  type PrecisionRequest,
} from "../lib/trunk/precision.ts";
import { VIEW_SIZE } from "../lib/image/view.ts";
import { listPhotos } from "./_views.ts";

/** CPU seconds this process used so far, every thread (getrusage). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Options for {@linkcode benchTrunk}. */
export interface TrunkBenchOptions {
  /** `thread`: a trunk in this thread; `pool`: the worker pool. */
  mode: "thread" | "pool";
  /** Photos per trunk call. */
  batch: number;
  /** Photos to embed in the timed part (at least one batch per call). */
  images: number;
  /** Ready-made 224×224 views (PNG files). */
  views: string[];
  /** Pool size (pool mode). @default navigator.hardwareConcurrency */
  workers?: number;
  /** The trunk's arithmetic (`auto`: int8 where it runs). @default "auto" */
  precision?: PrecisionRequest;
}

/** What {@linkcode benchTrunk} measured. */
export interface TrunkBenchResult {
  /** `thread` or `pool`. */
  mode: "thread" | "pool";
  /** Threads embedding (1 in thread mode). */
  workers: number;
  /** Photos per trunk call. */
  batch: number;
  /** Photos embedded in the timed part. */
  images: number;
  /** Seconds of the timed part. */
  seconds: number;
  /** Cores this process kept busy during the timed part (CPU seconds / seconds). */
  coresUsed: number;
  /** Throughput. */
  imagesPerSecond: number;
  /** Seconds to get the trunk (or every worker's) loaded and verified. */
  startSeconds: number;
  /** The tfjs backend and whether it runs SIMD. */
  backend: string;
  /** The precision that ran. */
  precision: Precision;
}

/**
 * Measures trunk throughput (see the module doc).
 *
 * Requires --allow-read and --allow-env.
 * @param options Mode, batch, images, views.
 * @returns Images per second and what was run.
 */
export async function benchTrunk(options: TrunkBenchOptions): Promise<TrunkBenchResult> {
  const { mode, batch, views } = options;
  if (views.length === 0) throw new Error("No views to embed: expected 224×224 PNG files");
  const t0 = performance.now();
  if (mode === "thread") {
    const trunk = await loadTrunk({ backend: "wasm", precision: options.precision ?? DEFAULT_PRECISION });
    const startSeconds = (performance.now() - t0) / 1000;
    const pixels: Uint8Array[] = [];
    for (let i = 0; i < batch; i++) pixels.push(await loadView(views[i % views.length]!, "centre"));
    const x = toInputTensor(pixels, VIEW_SIZE); // [B, 224, 224, 3], made once
    const call = async () => {
      const flat = tf.tidy(() => trunk.embed(x)); // [B, 224, 224, 3] → [B, 2048]
      await flat.data();
      flat.dispose();
    };
    await call(); // warm-up
    const calls = Math.max(1, Math.ceil(options.images / batch));
    const cpu0 = cpuSeconds();
    const t1 = performance.now();
    for (let i = 0; i < calls; i++) await call();
    const seconds = (performance.now() - t1) / 1000;
    const cpu1 = cpuSeconds();
    x.dispose();
    trunk.dispose();
    return {
      mode,
      workers: 1,
      batch,
      images: calls * batch,
      seconds,
      coresUsed: (cpu1 - cpu0) / seconds,
      imagesPerSecond: calls * batch / seconds,
      startSeconds,
      backend: `${trunk.backend.name}${trunk.backend.simd ? " SIMD" : ""}`,
      precision: trunk.precision,
    };
  }
  const workers = options.workers ?? navigator.hardwareConcurrency;
  const pool = await createPool({
    workers,
    backend: "wasm",
    batchSize: batch,
    precision: options.precision ?? DEFAULT_PRECISION,
  });
  try {
    const startSeconds = (performance.now() - t0) / 1000;
    const jobsOf = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ path: views[i % views.length]!, view: "centre" as const }));
    const check = (r: Awaited<ReturnType<typeof pool.embed>>) => {
      const bad = r.find((x) => "error" in x);
      if (bad && "error" in bad) throw new Error(`A view failed to embed: ${bad.error}`);
    };
    check(await pool.embed(jobsOf(2 * workers))); // warm-up: every worker runs once
    // The pool cuts jobs into chunks of min(batch, ⌈n / 2·workers⌉): enough
    // jobs make every chunk one full batch.
    const images = Math.max(options.images, 2 * workers * batch);
    const cpu0 = cpuSeconds();
    const t1 = performance.now();
    check(await pool.embed(jobsOf(images)));
    const seconds = (performance.now() - t1) / 1000;
    const cpu1 = cpuSeconds();
    return {
      mode,
      workers: pool.size,
      batch,
      images,
      seconds,
      coresUsed: (cpu1 - cpu0) / seconds,
      imagesPerSecond: images / seconds,
      startSeconds,
      backend: `${pool.backend.name}${pool.backend.simd ? " SIMD" : ""}`,
      precision: pool.trunk.precision,
    };
  } finally {
    pool.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mode: { type: "string" },
      batch: { type: "string" },
      images: { type: "string" },
      views: { type: "string" },
      workers: { type: "string" },
      precision: { type: "string" },
    },
    strict: true,
  });
  if (values.mode !== "thread" && values.mode !== "pool") {
    throw new Error(`Unknown --mode "${values.mode}": expected "thread" or "pool"`);
  }
  const result = await benchTrunk({
    mode: values.mode,
    batch: Number(values.batch ?? 1),
    images: Number(values.images ?? 8),
    views: await listPhotos(values.views ?? "."),
    ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
    precision: parsePrecision(values.precision ?? DEFAULT_PRECISION),
  });
  console.log(JSON.stringify(result));
}
