/**
 * The serve rows of `deno task bench` (also runnable alone): `rocks serve`
 * under load on loopback, against `rocks predict` on the same photos in the
 * same run. Both run without the embedding cache, so every photo goes
 * through the trunk.
 *
 * 1. `rocks predict <model> <photos> --json --no-cache`, as a new process, on
 *    the first 16 photos and on all of them, before the server starts and
 *    again after its load (this machine's speed drifts): img/s over the whole
 *    run, and img/s with the start-up taken out ((N − 16) / (t_N − t_16),
 *    both pairs together).
 * 2. `rocks serve <model> --port 0 --no-cache --quiet` (the default pool and
 *    queue): a warm-up (every worker's trunk loaded), the server's RSS, then
 *    `--clients` clients each posting one photo at a time (`image/jpeg`, the
 *    photos cycled in order) for `--seconds`: answered photos per second,
 *    latency p50 / p99, statuses, the server's peak RSS and its RSS after the
 *    run (2 s later) against after warm-up.
 * 3. A burst of `--burst` requests at once (over the queue): their statuses,
 *    then whether `/healthz` and one more photo are still answered.
 * 4. SIGTERM: the server's exit code.
 *
 * Prints one JSON object (the last line of stdout); progress on stderr.
 *
 * Usage: deno run -A bench/serve.ts --model DIR [--data DIR] [--seconds 60] [--clients 8] [--burst 200]
 *        [--photos N] [--batch] [--no-predict]
 * @module
 */
import { parseArgs } from "node:util";
import { listPhotos } from "./_views.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const CLI = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-net=127.0.0.1",
  `${ROOT}/cli.ts`,
];
const log = (s: string) => console.error(s);

/** The server's resident memory now and at its peak (MB of 10⁶ bytes), from /proc. */
async function rss(pid: number): Promise<{ now: number; peak: number } | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1]);
    return { now: kb("VmRSS") * 1024 / 1e6, peak: kb("VmHWM") * 1024 / 1e6 };
  } catch {
    return undefined;
  }
}

/** The q-quantile of sorted numbers (nearest rank). */
function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `rocks predict` over `photos`, wall seconds from spawn to exit. */
async function predictSeconds(model: string, photos: string[]): Promise<{ seconds: number; errors: number }> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...CLI, "predict", model, ...photos, "--json", "--no-cache"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) throw new Error(`rocks predict failed: ${new TextDecoder().decode(out.stderr)}`);
  const preds = JSON.parse(new TextDecoder().decode(out.stdout)) as object[];
  return { seconds, errors: preds.filter((p) => "error" in p).length };
}

/** Options of {@linkcode benchServe}. */
export interface ServeBenchOptions {
  /** The model folder. */
  model: string;
  /** The photos' folder. */
  data: string;
  /** Seconds of load. */
  seconds: number;
  /** Concurrent clients. */
  clients: number;
  /** Requests in the burst. */
  burst: number;
  /** Photos used (the first N, sorted); 0 for all. */
  photos: number;
  /** Whether the server batches (ROCKS_SERVE_BATCH=1). */
  batch: boolean;
  /** Whether to run the predict baseline. */
  predict: boolean;
}

/**
 * Runs the serve bench.
 *
 * Requires --allow-all (runs deno, reads /proc, connects to 127.0.0.1).
 * @param o What to run.
 * @returns Everything measured (see the module's doc).
 */
export async function benchServe(o: ServeBenchOptions): Promise<Record<string, unknown>> {
  const all = await listPhotos(o.data);
  const photos = o.photos > 0 ? all.slice(0, o.photos) : all;
  if (photos.length < 17) throw new Error(`need at least 17 photos in ${o.data}, found ${photos.length}`);
  const bodies = await Promise.all(photos.map((p) => Deno.readFile(p)));
  const result: Record<string, unknown> = { photos: photos.length, clients: o.clients, batch: o.batch };

  const predictRuns: { small: number; all: number; errors: number }[] = [];
  const predictPair = async () => {
    log(`predict: 16 photos, then all ${photos.length}`);
    const small = await predictSeconds(o.model, photos.slice(0, 16));
    const large = await predictSeconds(o.model, photos);
    predictRuns.push({ small: small.seconds, all: large.seconds, errors: large.errors });
  };
  if (o.predict) await predictPair();

  log("serve: starting");
  const child = new Deno.Command(Deno.execPath(), {
    args: [...CLI, "serve", o.model, "--port", "0", "--no-cache", "--quiet"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...(o.batch ? { ROCKS_SERVE_BATCH: "1" } : {}) },
  }).spawn();
  const dec = new TextDecoder();
  let stderr = "";
  const errDone = (async () => {
    for await (const c of child.stderr) stderr += dec.decode(c, { stream: true });
  })();
  const reader = child.stdout.getReader();
  let stdout = "";
  let url: string | undefined;
  while (!url) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`rocks serve ended: ${stderr}`);
    stdout += dec.decode(value, { stream: true });
    url = / on (http:\/\/\S+\/) /.exec(stdout)?.[1];
  }
  const outDone = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += dec.decode(r.value);
  })();
  const predictUrl = `${url}predict`;
  const send = async (i: number) => {
    const started = performance.now();
    const r = await fetch(predictUrl, {
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: bodies[i % bodies.length]!,
    });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - started };
  };

  try {
    // Warm-up: every photo once, by the clients at once: every worker's trunk loaded and run, and the
    // workers' WebAssembly heaps grown to the largest photo (they never shrink), so that RSS after it is
    // the server's working size and growth past it is what the load adds.
    log(`serve: warm-up, each of the ${photos.length} photos once`);
    {
      let k = 0;
      await Promise.all(Array.from({ length: o.clients }, async () => {
        while (k < photos.length) await send(k++);
      }));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const warm = await rss(child.pid);

    log(`serve: ${o.clients} clients for ${o.seconds} s`);
    let next = 0;
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let peak = warm?.peak ?? 0;
    let polling = true;
    const started = performance.now();
    /** RSS every 10 s of the load: a leak climbs, a working size stays flat. */
    const samples: { seconds: number; rssMB: number }[] = [];
    const poll = (async () => {
      while (polling) {
        const m = await rss(child.pid);
        if (m) peak = Math.max(peak, m.now, m.peak);
        const seconds = (performance.now() - started) / 1000;
        if (m && seconds >= 10 * (samples.length + 1)) samples.push({ seconds, rssMB: m.now });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const deadline = started + o.seconds * 1000;
    await Promise.all(Array.from({ length: o.clients }, async () => {
      while (performance.now() < deadline) {
        const r = await send(next++).catch(() => ({ status: 0, ms: 0 }));
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 200) latencies.push(r.ms);
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    polling = false;
    await poll;
    await new Promise((r) => setTimeout(r, 2000));
    const after = await rss(child.pid);
    latencies.sort((a, b) => a - b);
    const fivexx = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0);
    result.serve = {
      seconds: elapsed,
      requests: Object.values(statuses).reduce((a, b) => a + b, 0),
      statuses,
      fivexx,
      imagesPerSecond: (statuses["200"] ?? 0) / elapsed,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      rssAfterWarmupMB: warm?.now ?? null,
      rssAfterRunMB: after?.now ?? null,
      rssGrowthMB: warm && after ? after.now - warm.now : null,
      peakRssMB: Math.max(peak, after?.peak ?? 0),
      rssEvery10s: samples.map((s) => Math.round(s.rssMB)),
    };
    log(`serve: ${JSON.stringify(result.serve)}`);

    log(`serve: a burst of ${o.burst} requests`);
    const burst = await Promise.all(
      Array.from(
        { length: o.burst },
        (_, i) => send(i).catch((e) => ({ status: 0, ms: 0, error: String(e) })),
      ),
    );
    const burstStatuses: Record<string, number> = {};
    for (const b of burst) burstStatuses[b.status] = (burstStatuses[b.status] ?? 0) + 1;
    const health = await fetch(`${url}healthz`).then(
      async (r) => (await r.body?.cancel(), r.status),
      () => 0,
    );
    const again = await send(0).catch(() => ({ status: 0 }));
    result.burst = {
      requests: o.burst,
      statuses: burstStatuses,
      onlyOkAndBusy: Object.keys(burstStatuses).every((s) => s === "200" || s === "503"),
      healthAfter: health,
      predictAfter: again.status,
    };
    log(`serve: burst ${JSON.stringify(result.burst)}`);
  } finally {
    child.kill("SIGTERM");
    const { code } = await child.status;
    await Promise.all([errDone, outDone]);
    result.exitCode = code;
    if (code !== 0) result.stderr = stderr.slice(-2000);
  }
  if (o.predict) {
    await predictPair();
    const sum = (k: "small" | "all") => predictRuns.reduce((a, r) => a + r[k], 0);
    result.predict = {
      runs: predictRuns,
      imagesPerSecond: (predictRuns.length * photos.length) / sum("all"),
      steadyImagesPerSecond: (predictRuns.length * (photos.length - 16)) / (sum("all") - sum("small")),
    };
  }
  const p = result.predict as { steadyImagesPerSecond: number } | undefined;
  const s = result.serve as { imagesPerSecond: number };
  if (p) result.serveVsPredict = s.imagesPerSecond / p.steadyImagesPerSecond;
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      seconds: { type: "string" },
      clients: { type: "string" },
      burst: { type: "string" },
      photos: { type: "string" },
      batch: { type: "boolean" },
      "no-predict": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.model) {
    console.error(
      "usage: deno run -A bench/serve.ts --model DIR [--data DIR] [--seconds 60] [--clients 8] [--burst 200] " +
        "[--photos N] [--batch] [--no-predict]",
    );
    Deno.exit(2);
  }
  const result = await benchServe({
    model: values.model,
    data: values.data ?? `${ROOT}/../shared/data/space-rocks`,
    seconds: Number(values.seconds ?? 60),
    clients: Number(values.clients ?? 8),
    burst: Number(values.burst ?? 200),
    photos: Number(values.photos ?? 0),
    batch: values.batch === true,
    predict: values["no-predict"] !== true,
  });
  console.log(JSON.stringify(result));
}
