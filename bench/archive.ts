/**
 * `rocks embed` at archive scale, on this machine: a synthetic archive of
 * distinct JPEG photos made here, embedded by `rocks embed` as a new process
 * (throughput and resident memory at every thousand views, from its progress
 * lines and /proc), its cache's size and files, the cache split into shard
 * caches by the shard rule and merged back by `rocks cache merge` (timed,
 * next to a plain `cp -r`), `verify`, `stats`, a second `embed` over the
 * warm cache, the sharding pass of one shard, `rocks train` on the merged
 * cache; and, without the trunk, the one-file-per-record layout against
 * pack files for many records (write, disk use, files, copy, merge, open).
 *
 * The photos: `--bases` noise textures (smooth value noise in two classes,
 * coarse and fine, plus grain), long side 1000–3000 px, encoded once each as
 * JPEG (quality 85) by imagescript; each is issued as `photos / bases`
 * variants, every one with one low-frequency entry of its luminance
 * quantization table raised by a different step, so no two files share
 * bytes and no two decode to the same pixels, for the cost of a copy.
 *
 * Usage: deno run -A bench/archive.ts [--photos 10000] [--bases 100] [--workers N] [--records 100000]
 *        [--dir DIR] [--keep] [--out bench/archive.json] [--skip-embed] [--from-step 5]
 *
 * `--from-step 5` starts again at the shard caches, over the photos and the
 * cache an earlier run with the same `--dir` left (steps 2–4 are not
 * repeated: their cold-cache figures are that run's).
 * @module
 */
import { parseArgs } from "node:util";
import { Image } from "npm:imagescript@1.3.1";
import { loadAverage, machineInfo, measureProcess } from "./_measure.ts";
import { encodeRecord, openPackStore, recordKey, scanCache } from "../lib/embed/pack.ts";
import { photoSha256 } from "../lib/embed/cache.ts";
import { shardKey, shardOfKey } from "../lib/embed/shard.ts";
import { createRng } from "../lib/util/rng.ts";
import { crc32 } from "../lib/util/hash.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const DENO = Deno.execPath();
const CLI = ["run", "--allow-read", "--allow-write", "--allow-env", `${ROOT}/cli.ts`];

const args = parseArgs({
  args: Deno.args,
  options: {
    photos: { type: "string", default: "10000" },
    bases: { type: "string", default: "100" },
    workers: { type: "string" },
    records: { type: "string", default: "100000" },
    shards: { type: "string", default: "4" },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
    "skip-embed": { type: "boolean", default: false },
    "from-step": { type: "string", default: "2" },
    out: { type: "string", default: `${ROOT}/bench/archive.json` },
  },
}).values;
const PHOTOS = Number(args.photos);
const BASES = Math.min(Number(args.bases), PHOTOS);
const RECORDS = Number(args.records);
const SHARDS = Number(args.shards);
const WORKERS = Number(args.workers ?? navigator.hardwareConcurrency);
const FROM_STEP = Number(args["from-step"]);
const RECIPE = ["--preset", "course", "--augment", "none"]; // the centre view at 224 px: one view a photo
const log = (s: string) => console.error(s);
const results: Record<string, unknown> = {};

// ---------------------------------------------------------------- the archive

/** A noise texture: smooth value noise (coarse or fine) with grain, RGBA. */
function texture(width: number, height: number, seed: number, fine: boolean): Image {
  const rng = createRng(seed);
  const img = new Image(width, height);
  const px = img.bitmap;
  const octave = (cells: number) => {
    const gw = cells + 2;
    const gh = Math.ceil((cells * height) / width) + 2;
    const grid = Float32Array.from({ length: gw * gh * 3 }, () => rng.next());
    return { gw, gh, grid, sx: cells / width, sy: (gh - 2) / height };
  };
  const layers = (fine ? [24, 96] : [6, 24]).map(octave);
  const base = [rng.uniform(60, 200), rng.uniform(60, 200), rng.uniform(60, 200)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        let v = 0;
        layers.forEach((l, k) => {
          const fx = x * l.sx;
          const fy = y * l.sy;
          const x0 = Math.floor(fx);
          const y0 = Math.floor(fy);
          const tx = fx - x0;
          const ty = fy - y0;
          const g = (gx: number, gy: number) => l.grid[(gy * l.gw + gx) * 3 + c]!;
          const top = g(x0, y0) * (1 - tx) + g(x0 + 1, y0) * tx;
          const bottom = g(x0, y0 + 1) * (1 - tx) + g(x0 + 1, y0 + 1) * tx;
          v += (top * (1 - ty) + bottom * ty - 0.5) * (k === 0 ? 110 : 50);
        });
        px[i + c] = Math.max(0, Math.min(255, base[c]! + v + (rng.next() - 0.5) * 24));
      }
      px[i + 3] = 255;
    }
  }
  return img;
}

/** `jpeg` with one low-frequency entry of its first (luminance) quantization table raised: variant `j`. */
function variant(jpeg: Uint8Array, j: number): Uint8Array {
  const out = jpeg.slice();
  for (let i = 2; i + 4 < out.length;) {
    if (out[i] !== 0xff) throw new Error(`not a marker at ${i}`);
    const marker = out[i + 1]!;
    const length = (out[i + 2]! << 8) | out[i + 3]!;
    if (marker === 0xdb) {
      const table = i + 4;
      if (out[table]! >> 4 !== 0) throw new Error("16-bit quantization table");
      const k = 1 + (j % 9); // zigzag positions 1–9: low frequencies, non-zero in nearly every block
      const entry = table + 1 + k;
      out[entry] = Math.min(255, out[entry]! + 1 + Math.floor(j / 9));
      return out;
    }
    i += 2 + length;
  }
  throw new Error("no quantization table");
}

async function makeArchive(dir: string): Promise<{ seconds: number; bytes: number; sizes: string }> {
  const t0 = performance.now();
  let bytes = 0;
  const perBase = Math.ceil(PHOTOS / BASES);
  let made = 0;
  const sides: number[] = [];
  for (let b = 0; b < BASES && made < PHOTOS; b++) {
    const long = Math.round(1000 + (2000 * b) / Math.max(1, BASES - 1));
    const short = Math.round(long * (b % 2 ? 3 / 4 : 2 / 3));
    const [w, h] = b % 3 === 2 ? [short, long] : [long, short];
    const fine = b % 2 === 1;
    const cls = fine ? "fine" : "coarse";
    await Deno.mkdir(`${dir}/${cls}`, { recursive: true });
    const jpeg = await texture(w, h, 1000 + b, fine).encodeJPEG(85);
    sides.push(long);
    for (let j = 0; j < perBase && made < PHOTOS; j++, made++) {
      const v = variant(jpeg, j);
      bytes += v.length;
      await Deno.writeFile(
        `${dir}/${cls}/t${String(b).padStart(3, "0")}-${String(j).padStart(4, "0")}.jpg`,
        v,
      );
    }
    if (b % 10 === 9) log(`  ${made} photos written`);
  }
  return {
    seconds: (performance.now() - t0) / 1000,
    bytes,
    sizes: `long side ${Math.min(...sides)}–${Math.max(...sides)} px`,
  };
}

// ------------------------------------------------------------- measurements

async function status(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const s = await Deno.readTextFile(`/proc/${pid}/status`);
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kib("VmRSS") * 1024 / 1e6, hwm: kib("VmHWM") * 1024 / 1e6 };
  } catch {
    return undefined;
  }
}

/** One `rocks embed` process: its progress lines with time and RSS, its JSON, its peak RSS. */
async function embedRun(extra: string[]) {
  const t0 = performance.now();
  const child = new Deno.Command(DENO, {
    args: [...CLI, "embed", ...extra, "--json"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let last = { rss: 0, hwm: 0 };
  let running = true;
  const poll = (async () => {
    while (running) {
      last = (await status(child.pid)) ?? last;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const marks: { seconds: number; views: number; rssMB: number }[] = [];
  const stderr: string[] = [];
  const out = new Response(child.stdout).text();
  let buffered = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      stderr.push(line);
      const now = (performance.now() - t0) / 1000;
      const s = await status(child.pid);
      const start = /^(?:Shard \d+\/\d+: )?(\d+) photos, (\d+) views to embed/.exec(line);
      const step = /^Embedded (\d+)\/(\d+) views/.exec(line);
      if (start) marks.push({ seconds: now, views: 0, rssMB: s?.rss ?? last.rss });
      if (step) marks.push({ seconds: now, views: Number(step[1]), rssMB: s?.rss ?? last.rss });
    }
  }
  const code = (await child.status).code;
  running = false;
  await poll;
  const seconds = (performance.now() - t0) / 1000;
  const text = await out;
  if (code !== 0) throw new Error(`rocks embed failed (${code}): ${stderr.slice(-5).join("\n")}`);
  const json = JSON.parse(text.trim().split("\n").pop()!);
  marks.push({ seconds, views: json.views, rssMB: last.rss });
  return { json, marks, peakRssMB: last.hwm, seconds };
}

async function du(path: string): Promise<{ files: number; bytes: number; diskBytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (p: string) => {
    for await (const e of Deno.readDir(p)) {
      if (e.isDirectory) await walk(`${p}/${e.name}`);
      else {
        files++;
        bytes += (await Deno.stat(`${p}/${e.name}`)).size;
      }
    }
  };
  await walk(path);
  const out = await new Deno.Command("du", { args: ["-sk", path], stdout: "piped" }).output();
  const diskBytes = Number(new TextDecoder().decode(out.stdout).split("\t")[0]) * 1024;
  return { files, bytes, diskBytes };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

const cli = async (argv: string[]) => {
  const m = await measureProcess(DENO, [...CLI, ...argv], { cwd: ROOT, timeoutSeconds: 7200 });
  if (m.code !== 0) throw new Error(`rocks ${argv.join(" ")}: ${m.stderr.slice(-400)}`);
  return m;
};

// ------------------------------------------------------------------ the run

const dir = args.dir ?? (await Deno.makeTempDir({ prefix: "rocks-archive-" }));
results.machine = await machineInfo();
results.started = new Date().toISOString();
results.command = `deno run -A bench/archive.ts ${Deno.args.join(" ")}`.trim();
log(`rocks archive bench in ${dir}: ${PHOTOS} photos, ${WORKERS} workers, ${SHARDS} shards`);
try {
  const photos = `${dir}/photos`;
  if (!(await Deno.stat(photos).catch(() => null))) {
    log(`1. making ${PHOTOS} photos from ${BASES} textures`);
    results.archive = await makeArchive(photos);
  } else results.archive = { reused: photos, ...(await du(photos)) };
  log(`   ${JSON.stringify(results.archive)}`);

  if (!args["skip-embed"] && FROM_STEP > 2) {
    if (!(await Deno.stat(`${dir}/cache`).catch(() => null))) throw new Error(`--from-step: no ${dir}/cache`);
    for (const sub of ["shards", "merged", "copied", "model"]) {
      await Deno.remove(`${dir}/${sub}`, { recursive: true }).catch(() => {});
    }
    results.fromStep = FROM_STEP;
  }
  if (!args["skip-embed"] && FROM_STEP <= 2) {
    // 2. One rocks embed over the whole archive, into a new cache.
    log(`2. rocks embed ${PHOTOS} photos, ${WORKERS} workers`);
    const load = await loadAverage();
    const cold = await embedRun([photos, ...RECIPE, "--cache", `${dir}/cache`, "--workers", String(WORKERS)]);
    const per: { views: number; seconds: number; viewsPerSecond: number; rssMB: number }[] = [];
    for (let i = 1; i < cold.marks.length; i++) {
      const [a, b] = [cold.marks[i - 1]!, cold.marks[i]!];
      if (b.views > a.views) {
        per.push({
          views: b.views,
          seconds: b.seconds - a.seconds,
          viewsPerSecond: (b.views - a.views) / (b.seconds - a.seconds),
          rssMB: b.rssMB,
        });
      }
    }
    results.embed = {
      load,
      seconds: cold.seconds,
      peakRssMB: cold.peakRssMB,
      json: cold.json,
      perThousand: per,
      cache: await du(`${dir}/cache`),
    };
    log(
      `   ${cold.json.embedded} embedded in ${cold.json.embedSeconds.toFixed(0)} s (${
        cold.json.viewsPerSecond.toFixed(2)
      } views/s), peak ${cold.peakRssMB.toFixed(0)} MB`,
    );
    for (const p of per) {
      log(`   ${p.views}: ${p.viewsPerSecond.toFixed(2)} views/s, RSS ${p.rssMB.toFixed(0)} MB`);
    }

    // 3. The same again: everything cached (what a shard run again after it finished does).
    log("3. rocks embed again, warm cache");
    const warm = await embedRun([photos, ...RECIPE, "--cache", `${dir}/cache`, "--workers", String(WORKERS)]);
    results.embedWarm = {
      seconds: warm.seconds,
      peakRssMB: warm.peakRssMB,
      cached: warm.json.cached,
      embedded: warm.json.embedded,
    };
    // 4. The sharding pass alone: shard 0 of N over the warm cache.
    const shard0 = await embedRun([
      photos,
      ...RECIPE,
      "--cache",
      `${dir}/cache`,
      "--shard",
      `0/${SHARDS}`,
      "--workers",
      String(WORKERS),
    ]);
    results.shardPass = {
      shardSeconds: shard0.json.shardSeconds,
      photos: shard0.json.photos,
      inShard: shard0.json.inShard,
      seconds: shard0.seconds,
    };
    log(
      `   warm ${warm.seconds.toFixed(1)} s; shard pass of ${PHOTOS} photos ${
        shard0.json.shardSeconds.toFixed(1)
      } s`,
    );
  }
  if (!args["skip-embed"]) {
    // 5. The cache split into shard caches by the shard rule (what N shard processes write: one pack each),
    // then merged back by rocks cache merge, next to a plain copy.
    log(`5. ${SHARDS} shard caches, merge, copy, verify, stats`);
    const shardOfSha = new Map<string, number>();
    for await (const cls of Deno.readDir(photos)) {
      for await (const f of Deno.readDir(`${photos}/${cls.name}`)) {
        const p = `${photos}/${cls.name}/${f.name}`;
        shardOfSha.set((await photoSha256(p))!, shardOfKey(await shardKey(p), SHARDS));
      }
    }
    const stores = await Promise.all(
      Array.from({ length: SHARDS }, (_, i) => openPackStore(`${dir}/shards/shard-${i}`)),
    );
    const batches: { bytes: Uint8Array; key: string; trunkTag: number }[][] = stores.map(() => []);
    await scanCache(`${dir}/cache`, async (r) => {
      const i = shardOfSha.get(r.about.photo!)!;
      batches[i]!.push({ bytes: r.bytes.slice(), key: r.key, trunkTag: r.trunkTag });
      if (batches[i]!.length >= 256) await stores[i]!.append(batches[i]!.splice(0));
    });
    for (const [i, b] of batches.entries()) await stores[i]!.append(b);
    const shardDirs = Array.from({ length: SHARDS }, (_, i) => `${dir}/shards/shard-${i}`);
    const merge = await cli(["cache", "merge", ...shardDirs, "--into", `${dir}/merged`, "--json"]);
    await Deno.mkdir(`${dir}/copied`, { recursive: true });
    const copy = await measureProcess("cp", ["-r", ...shardDirs.map((d) => `${d}/.`), `${dir}/copied/`], {});
    const verify = await cli(["cache", "verify", `${dir}/merged`]);
    const stats = await cli(["cache", "stats", `${dir}/merged`]);
    results.merge = {
      shards: await Promise.all(shardDirs.map(du)),
      mergeSeconds: merge.wallSeconds,
      mergePeakRssMB: merge.peakRssMB,
      merged: await du(`${dir}/merged`),
      report: JSON.parse(merge.stdout),
      copySeconds: copy.wallSeconds,
      copied: await du(`${dir}/copied`),
      verifySeconds: verify.wallSeconds,
      verifyPeakRssMB: verify.peakRssMB,
      verify: verify.stdout.trim(),
      statsSeconds: stats.wallSeconds,
      stats: stats.stdout.trim(),
    };
    log(
      `   merge ${merge.wallSeconds.toFixed(1)} s, cp -r ${copy.wallSeconds.toFixed(1)} s, verify ${
        verify.wallSeconds.toFixed(1)
      } s, stats ${stats.wallSeconds.toFixed(1)} s`,
    );

    // 6. rocks train on the merged cache: no trunk pass.
    log("6. rocks train on the merged cache");
    const train = await cli([
      "train",
      photos,
      ...RECIPE,
      "--epochs",
      "5",
      "--cache",
      `${dir}/merged`,
      "--out",
      `${dir}/model`,
      "--workers",
      String(WORKERS),
      "--json",
    ]);
    const t = JSON.parse(train.stdout.trim().split("\n").pop()!);
    results.train = {
      seconds: train.wallSeconds,
      peakRssMB: train.peakRssMB,
      trunkRuns: t.trunkRuns,
      cacheHits: t.cacheHits,
      trainCount: t.trainCount,
      testCount: t.testCount,
      testAccuracy: t.testAccuracy,
      epochs: t.epochs,
    };
    log(`   ${JSON.stringify(results.train)}`);
  }

  // 7. The two layouts for many records, without the trunk.
  log(`7. ${RECORDS} records: one file each against packs`);
  const values = new Float32Array(2048).map((_, i) => Math.sin(i));
  const keyOf = (i: number) => recordKey(i.toString(16).padStart(64, "0"), "centre", "ab".repeat(32));
  const [, oldWrite] = await timed(async () => {
    for (let i = 0; i < RECORDS; i++) {
      // As rocks 0.1 wrote a record: RCK1, n, values, CRC, to a temporary name, then renamed.
      const key = keyOf(i);
      const bytes = new Uint8Array(12 + 2048 * 4);
      const v = new DataView(bytes.buffer);
      v.setUint32(0, 0x314b4352, true);
      v.setUint32(4, 2048, true);
      bytes.set(new Uint8Array(values.buffer), 8);
      v.setUint32(8 + 2048 * 4, crc32(bytes.subarray(8, 8 + 2048 * 4)), true);
      const sub = `${dir}/layout-files/${key.slice(0, 2)}`;
      await Deno.mkdir(sub, { recursive: true });
      const tmp = `${sub}/${key}.f32.tmp-${Deno.pid}`;
      await Deno.writeFile(tmp, bytes);
      await Deno.rename(tmp, `${sub}/${key}.f32`);
    }
  });
  const [, packWrite] = await timed(async () => {
    const store = await openPackStore(`${dir}/layout-packs`);
    for (let i = 0; i < RECORDS; i += 16) {
      const batch = [];
      for (let k = i; k < Math.min(i + 16, RECORDS); k++) {
        const key = keyOf(k);
        batch.push({ bytes: encodeRecord(key, values, {}), key, trunkTag: 0 });
      }
      await store.append(batch); // as one embedding call's records are written
    }
  });
  const [opened, openSeconds] = await timed(() => openPackStore(`${dir}/layout-packs`));
  const layout = async (name: string, writeSeconds: number) => {
    const copy = await measureProcess(
      "cp",
      ["-r", `${dir}/layout-${name}`, `${dir}/layout-${name}-copy`],
      {},
    );
    const merge = await cli([
      "cache",
      "merge",
      `${dir}/layout-${name}`,
      "--into",
      `${dir}/layout-${name}-merged`,
    ]);
    const sizes = await du(`${dir}/layout-${name}`);
    await Deno.remove(`${dir}/layout-${name}-copy`, { recursive: true });
    await Deno.remove(`${dir}/layout-${name}-merged`, { recursive: true });
    return { writeSeconds, ...sizes, copySeconds: copy.wallSeconds, mergeSeconds: merge.wallSeconds };
  };
  results.layouts = {
    records: RECORDS,
    files: await layout("files", oldWrite),
    packs: { ...(await layout("packs", packWrite)), openSeconds, opened: opened.size },
  };
  log(`   ${JSON.stringify(results.layouts)}`);
} finally {
  results.finished = new Date().toISOString();
  results.loadAtEnd = await loadAverage();
  await Deno.writeTextFile(args.out!, JSON.stringify(results, null, 1));
  log(`wrote ${args.out}`);
  if (!args.keep && !args.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
}
