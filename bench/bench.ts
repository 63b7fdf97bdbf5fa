/**
 * `deno task bench`: measures the toolkit on this machine in one run, next to
 * its peers, prints a table and the targets' PASS/FAIL, and writes
 * `bench/results.json`. Every row of ours goes through the real code: the
 * trunk and the pool through `lib/`, training and prediction through `cli.ts`
 * as new processes. Each row runs in a process of its own, whose peak RSS is
 * read from the kernel. See bench/README.md for what each row means.
 *
 * Usage: deno task bench [--quick] [--data DIR] [--out FILE] [--no-peers] [--no-single]
 *        [--peer-dir DIR] [--no-serve] [--serve-seconds N] [--strict]
 * @module
 */
import { parseArgs } from "node:util";
import { lastJson, loadAverage, machineInfo, type Measured, measureProcess } from "./_measure.ts";
import { listPhotos, writeViews } from "./_views.ts";
import { benchServe } from "./serve.ts";

/** One line of the table. */
export interface Row {
  /** Stable key in results.json. */
  id: string;
  /** What was measured, as the table shows it. */
  label: string;
  /** The number (null when skipped or failed). */
  value: number | null;
  /** Its unit. */
  unit: "img/s" | "s" | "ms";
  /** Peak RSS of the process that measured it, MB (10⁶ bytes). */
  rssMB: number | null;
  /** Cores the measured process kept busy (CPU seconds / wall seconds) while measured. */
  cores: number | null;
  /** For a peer row: how ours compares (`ours 2.1× faster`). */
  vsOurs?: string;
  /** Our value divided by the peer's, as speed (> 1: ours is faster). */
  speedup?: number;
  /** Details: parameters, counts, why it was skipped. */
  note: string;
  /** 1-minute load average when the row started (other work on the machine shows here). */
  load: number | null;
  /** The measuring process's JSON output, when it gave one. */
  raw?: Record<string, unknown>;
}

/** One target of the issue, checked on this run's rows. */
export interface Target {
  /** What is required. */
  name: string;
  /** PASS, FAIL, or SKIP (not measured in this run). */
  status: "PASS" | "FAIL" | "SKIP";
  /** The numbers behind the verdict. */
  detail: string;
}

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const DENO = Deno.execPath();
const CLI_PERMS = ["--allow-read", "--allow-write", "--allow-env"];

function fmtValue(r: Row): string {
  if (r.value === null) return "—";
  const digits = r.unit === "s" ? (r.value < 10 ? 2 : 1) : r.value < 10 ? 2 : 1;
  return `${r.value.toFixed(digits)} ${r.unit}`;
}

/** `ours N× faster` / `ours N× slower` from a speed ratio (ours / peer). */
export function compareText(speedup: number): string {
  return speedup >= 1 ? `ours ${speedup.toFixed(2)}× faster` : `ours ${(1 / speedup).toFixed(2)}× slower`;
}

/** The table as text. */
export function renderTable(rows: Row[]): string {
  const head = ["row", "result", "peak RSS", "cores", "vs ours", "load", "notes"];
  const cells = rows.map((r) => [
    r.label,
    fmtValue(r),
    r.rssMB === null ? "—" : `${Math.round(r.rssMB)} MB`,
    r.cores === null ? "" : r.cores.toFixed(2),
    r.vsOurs ?? "",
    r.load === null ? "" : r.load.toFixed(1),
    r.note,
  ]);
  const right = new Set([1, 2, 3, 5]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (right.has(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

function coresOf(m: Measured): number | null {
  return m.cpuSeconds === null ? null : m.cpuSeconds / m.wallSeconds;
}

function failure(m: Measured): string {
  if (m.timedOut) return "timed out";
  const last = m.stderr.trim().split("\n").filter((l) => l.trim()).slice(-1)[0] ?? "";
  return `exit ${m.code}: ${last.slice(0, 160)}`;
}

async function which(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A Python 3 that imports torch and torchvision, or undefined. */
async function findTorchPython(): Promise<string | undefined> {
  const override = Deno.env.get("ROCKS_BENCH_PYTHON");
  for (const py of override ? [override] : ["/usr/bin/python3", "python3"]) {
    if (await which(py, ["-c", "import torch, torchvision"])) return py;
  }
  return undefined;
}

function defaultPeerDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return `${xdg ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`}/rocks-bench`;
}

/** Options of a bench run. */
export interface BenchOptions {
  /** Trunk and head rows only: no training, prediction or peers. */
  quick: boolean;
  /** The Learn photos. */
  data: string;
  /** Where results.json goes. */
  out: string;
  /** Skip the PyTorch and onnxruntime-web rows. */
  peers: boolean;
  /** Also run the 1-worker train and the 1-thread peers. */
  single: boolean;
  /** Folder with node_modules/onnxruntime-web and resnet50.onnx. */
  peerDir: string;
  /** Run the serve rows (bench/serve.ts), with this many seconds of load; 0: skip them. */
  serveSeconds: number;
}

/**
 * Runs every row, prints as it goes, and returns the rows and targets.
 *
 * Requires --allow-all (runs deno, python3 and node; reads /proc).
 * @param o What to run.
 * @returns Rows, targets and the machine.
 */
export async function runBench(o: BenchOptions): Promise<{ rows: Row[]; targets: Target[] }> {
  const cores = navigator.hardwareConcurrency;
  const rows: Row[] = [];
  const tmp = await Deno.makeTempDir({ prefix: "rocks-bench-" });
  const log = (s: string) => console.error(s);
  const add = (r: Row) => {
    rows.push(r);
    log(
      `  ${r.label}: ${fmtValue(r)}${r.rssMB !== null ? `, ${Math.round(r.rssMB)} MB` : ""}${
        r.vsOurs ? `, ${r.vsOurs}` : ""
      }  ${r.note}`,
    );
  };
  /** A peer row's `speedup` and `vsOurs` against our row `ourId` (more img/s, or fewer seconds, is faster). */
  const versus = (ourId: string, peer: number, unit: Row["unit"]): Pick<Row, "speedup" | "vsOurs"> => {
    const ours = rows.find((r) => r.id === ourId)?.value ?? null;
    if (ours === null) return {};
    const speedup = unit === "img/s" ? ours / peer : peer / ours;
    return { speedup, vsOurs: compareText(speedup) };
  };
  const skip = (id: string, label: string, unit: Row["unit"], why: string) =>
    add({ id, label, value: null, unit, rssMB: null, cores: null, note: `skipped: ${why}`, load: null });

  try {
    const dataOk = await exists(o.data);
    // Compile the code once, so that no timed row pays for it.
    await measureProcess(DENO, ["cache", "cli.ts", "mod.ts", "bench/trunk.ts", "bench/head_step.ts"], {
      cwd: ROOT,
    });

    // 1. Trunk throughput on ready-made 224×224 views.
    log("trunk throughput");
    const viewsDir = `${tmp}/views`;
    await writeViews(o.data, viewsDir, 64);
    /** A trunk row; with `vs`, a peer row compared with that row of ours. */
    const trunkRow = async (
      id: string,
      label: string,
      args: string[],
      vs?: { ourId: string; env: Record<string, string> },
    ) => {
      const load = await loadAverage();
      const m = await measureProcess(DENO, [
        "run",
        ...CLI_PERMS,
        "bench/trunk.ts",
        ...args,
        // Rows that name no precision are float32's, as before int8 became the default.
        ...(args.some((a) => a.startsWith("--precision")) ? [] : ["--precision=fp32"]),
        "--views",
        viewsDir,
      ], {
        cwd: ROOT,
        ...(vs ? { env: vs.env } : {}),
      });
      const j = m.code === 0 ? lastJson(m.stdout) : undefined;
      if (!j) return skip(id, label, "img/s", `failed: ${failure(m)}`);
      add({
        id,
        label,
        value: j.imagesPerSecond as number,
        unit: "img/s",
        rssMB: m.peakRssMB,
        cores: j.coresUsed as number | null,
        ...(vs ? versus(vs.ourId, j.imagesPerSecond as number, "img/s") : {}),
        note: `${vs ? `vs ${vs.ourId}; ` : ""}${j.images} views in ${
          (j.seconds as number).toFixed(1)
        } s; start ${(j.startSeconds as number).toFixed(1)} s; ${j.backend}`,
        load,
        raw: j,
      });
    };
    const q = o.quick;
    await trunkRow("trunk.thread.b1", "trunk, this thread, batch 1", [
      "--mode=thread",
      "--batch=1",
      `--images=${q ? 4 : 12}`,
    ]);
    await trunkRow("trunk.thread.b16", "trunk, this thread, batch 16", [
      "--mode=thread",
      "--batch=16",
      `--images=${q ? 16 : 32}`,
    ]);
    // The same trunk with tfjs-wasm's own convolutions (XNNPACK, no FMA) instead of lib/trunk/conv_kernel.ts.
    await trunkRow("peer.tfjsconv.b16", "trunk, this thread, batch 16, tfjs-wasm's own convolutions", [
      "--mode=thread",
      "--batch=16",
      `--images=${q ? 16 : 32}`,
    ], { ourId: "trunk.thread.b16", env: { ROCKS_CONV: "tfjs" } });
    for (const batch of [1, 16]) {
      const images = batch === 1 ? (q ? 8 : 24) : (q ? 32 : 64);
      await trunkRow(`trunk.pool1.b${batch}`, `trunk, pool of 1 worker, batch ${batch}`, [
        "--mode=pool",
        "--workers=1",
        `--batch=${batch}`,
        `--images=${images}`,
      ]);
      await trunkRow(
        `trunk.pool.b${batch}`,
        `trunk, pool of ${cores} workers, batch ${batch}`,
        ["--mode=pool", `--workers=${cores}`, `--batch=${batch}`, `--images=${images}`],
      );
    }

    // The same trunk on the int8 path (--precision int8), in one thread and in the default pool.
    await trunkRow("trunk.int8.thread.b16", "trunk, this thread, batch 16, --precision int8", [
      "--mode=thread",
      "--batch=16",
      `--images=${q ? 16 : 32}`,
      "--precision=int8",
    ]);
    // These rows judge the 25 img/s target: four times the float32 rows' views, so that a row lasts
    // seconds, not one (24 views took 1.0 s on 2026-11-30 and the row swung by a quarter between runs).
    for (const batch of [1, 16]) {
      await trunkRow(
        `trunk.int8.pool.b${batch}`,
        `trunk, pool of ${cores} workers, batch ${batch}, --precision int8`,
        [
          "--mode=pool",
          `--workers=${cores}`,
          `--batch=${batch}`,
          `--images=${batch === 1 ? (q ? 8 : 96) : (q ? 32 : 256)}`,
          "--precision=int8",
        ],
      );
    }

    // 2. Head training step.
    log("head step");
    {
      const load = await loadAverage();
      const m = await measureProcess(DENO, [
        "run",
        ...CLI_PERMS,
        "bench/head_step.ts",
        `--steps=${q ? 10 : 40}`,
      ], { cwd: ROOT });
      const j = m.code === 0 ? lastJson(m.stdout) : undefined;
      if (!j) {
        skip("head.step", "head step, batch 16 (ours)", "ms", `failed: ${failure(m)}`);
      } else {
        const n = (k: string) => j[k] as number;
        add({
          id: "head.step",
          label: "head step, batch 16 (ours)",
          value: n("oursMs"),
          unit: "ms",
          rssMB: m.peakRssMB,
          cores: coresOf(m),
          note: `gradients ${n("oursGradientsMs").toFixed(1)} ms + Adam; xᵀ·dpre product ${
            n("productOursMs").toFixed(1)
          } ms (tfjs's matMul ${n("productMatMulMs").toFixed(1)} ms); median of ${j.steps}`,
          load,
          raw: j,
        });
        const variant = (id: string, label: string, key: string, note: string) =>
          add({
            id,
            label,
            value: n(`${key}Ms`),
            unit: "ms",
            rssMB: null,
            cores: null,
            speedup: n(`${key}Ms`) / n("oursMs"),
            vsOurs: compareText(n(`${key}Ms`) / n("oursMs")),
            note: `gradients ${n(`${key}GradientsMs`).toFixed(1)} ms (${
              (n(`${key}GradientsMs`) / n("oursGradientsMs")).toFixed(1)
            }×)${note}`,
            load,
          });
        variant(
          "head.step.tfjsOps",
          "head step, gradients in tfjs's ops",
          "tfjsOps",
          `; x·W1 by tfjs's matMul (repacks the new W1 every step); same gradients (max diff ${
            n("maxGradientDifference").toExponential(1)
          })`,
        );
        variant(
          "head.step.transposeFlags",
          "head step, matMul transpose flags",
          "transposeFlags",
          `; product ${n("productTransposeFlagsMs").toFixed(1)} ms (${
            (n("productTransposeFlagsMs") / n("productMatMulMs")).toFixed(1)
          }× matMul of the explicit transpose)`,
        );
      }
    }

    /** Runs a peer's throughput script as a process of its own and adds its row against our row `ourId`. */
    const peerThroughput = async (
      id: string,
      label: string,
      ourId: string,
      command: string,
      args: string[],
      note: (j: Record<string, unknown>) => string,
    ) => {
      const load = await loadAverage();
      const m = await measureProcess(command, args, { cwd: ROOT });
      const j = m.code === 0 ? lastJson(m.stdout) : undefined;
      if (!j) return skip(id, label, "img/s", `failed: ${failure(m)}`);
      add({
        id,
        label,
        value: j.imagesPerSecond as number,
        unit: "img/s",
        rssMB: m.peakRssMB,
        cores: coresOf(m),
        ...versus(ourId, j.imagesPerSecond as number, "img/s"),
        note: `vs ${ourId}; ${note(j)}`,
        load,
        raw: j,
      });
    };

    /** The onnxruntime rows (bench/peers/ort_resnet50.mjs), each against our trunk row of the same threads and batch. */
    const ortRows = async (runtime: "web" | "node", model: string, layout: "nchw" | "nhwc", why?: string) => {
      const pairs: [number, number, string][] = [
        [1, 1, "trunk.thread.b1"],
        [1, 16, "trunk.thread.b16"],
        [cores, 1, "trunk.pool.b1"],
        [cores, 16, "trunk.pool.b16"],
      ];
      for (const [threads, batch, ourId] of pairs) {
        const id = runtime === "web"
          ? `peer.ort.t${threads}.b${batch}`
          : `peer.ortnode.t${threads}.b${batch}`;
        const label = `${
          runtime === "web" ? "onnxruntime-web wasm" : "onnxruntime-node native"
        }, ${threads} thread${threads > 1 ? "s" : ""}, batch ${batch}`;
        if (why) {
          skip(id, label, "img/s", why);
          continue;
        }
        await peerThroughput(
          id,
          label,
          ourId,
          "node",
          [
            "bench/peers/ort_resnet50.mjs",
            o.peerDir,
            model,
            String(threads),
            String(batch),
            String(batch === 1 ? 12 : 32),
            runtime,
            layout,
          ],
          (j) =>
            `${j.runtime}; ${
              layout === "nchw"
                ? "torchvision ResNet50 graph, random weights"
                : "the network rocks exports (our ResNet50 and the head), real weights"
            }`,
        );
      }
    };

    // 3. onnxruntime-web, ResNet50 on the same kind of input.
    const python = o.peers && !q ? await findTorchPython() : undefined;
    if (o.peers && !q) {
      log("onnxruntime-web peer");
      const ortPkg = `${o.peerDir}/node_modules/onnxruntime-web/package.json`;
      const model = `${o.peerDir}/resnet50.onnx`;
      let why: string | undefined;
      if (!(await which("node", ["--version"]))) why = "node is not installed";
      else if (!(await exists(ortPkg))) {
        why = `onnxruntime-web is not installed in ${o.peerDir} (see bench/README.md)`;
      } else if (!(await exists(model))) {
        if (!python) why = `no ${model}, and no python3 with torch to export one (see bench/README.md)`;
        else {
          const m = await measureProcess(python, ["bench/peers/export_resnet50_onnx.py", model], {
            cwd: ROOT,
          });
          if (m.code !== 0) why = `exporting ResNet50 to ONNX failed: ${failure(m)}`;
        }
      }
      await ortRows("web", model, "nchw", why);
    }

    // PyTorch tuned for CPU inference (channels_last, traced, frozen): the trunk alone.
    if (o.peers && !q) {
      log("tuned PyTorch peer");
      const rows: [number, number, string][] = [[1, 16, "trunk.thread.b16"], [cores, 1, "trunk.pool.b1"], [
        cores,
        16,
        "trunk.pool.b16",
      ]];
      for (const [threads, batch, ourId] of rows) {
        const id = `peer.torchtuned.t${threads}.b${batch}`;
        const label = `PyTorch tuned (jit, channels_last), ${threads} thread${
          threads > 1 ? "s" : ""
        }, batch ${batch}`;
        if (!python) {
          skip(id, label, "img/s", "no python3 with torch and torchvision (bench/peers/install.sh)");
          continue;
        }
        await peerThroughput(id, label, ourId, python, [
          "bench/peers/torch_tuned.py",
          "trunk",
          "--threads",
          String(threads),
          "--batch",
          String(batch),
          "--images",
          String(batch === 1 ? 24 : 64),
        ], (j) => `torch ${j.torch}; ${j.recipe}; torchvision ResNet50, random weights`);
      }
    }

    if (q) {
      for (
        const [id, label, unit] of [
          ["train.cold", "train, course preset, cold cache", "s"],
          ["train.warm", "train, course preset, warm cache", "s"],
          ["predict.one", "predict 1 photo, new process", "s"],
          ["predict.folder", "predict 50 photos, new process", "s"],
        ] as const
      ) skip(id, label, unit, "--quick");
    } else if (!dataOk) {
      for (
        const [id, label] of [
          ["train.cold", "train, course preset, cold cache"],
          ["train.warm", "train, course preset, warm cache"],
        ] as const
      ) skip(id, label, "s", `no photos at ${o.data}`);
    } else {
      // 4. Training through the CLI, then prediction with the model it saved.
      const train = async (id: string, label: string, cache: string, out: string, extra: string[] = []) => {
        const load = await loadAverage();
        const m = await measureProcess(DENO, [
          "run",
          ...CLI_PERMS,
          "cli.ts",
          "train",
          o.data,
          "--cache",
          cache,
          "--out",
          out,
          "--json",
          ...extra,
          // Rows that name no precision are float32's (their models then predict at float32).
          ...(extra.includes("--precision") ? [] : ["--precision", "fp32"]),
        ], { cwd: ROOT });
        const j = m.code === 0 ? lastJson(m.stdout) : undefined;
        if (!j) return skip(id, label, "s", `failed: ${failure(m)}`);
        add({
          id,
          label,
          value: m.wallSeconds,
          unit: "s",
          rssMB: m.peakRssMB,
          cores: coresOf(m),
          note: `preset ${j.preset ?? "?"}, ${j.workers} workers; in-process ${
            (j.seconds as number).toFixed(1)
          } s; trunk runs ${j.trunkRuns}, cache hits ${j.cacheHits}; test accuracy ${
            (j.testAccuracy as number | null)?.toFixed(3)
          }`,
          load,
          raw: j,
        });
      };
      const torch = async (threads: number, ourId: string) => {
        const id = `peer.pytorch.t${threads}`;
        const label = `PyTorch course recipe, ${threads} thread${threads > 1 ? "s" : ""}`;
        if (!o.peers) return skip(id, label, "s", "--no-peers");
        if (!python) {
          return skip(
            id,
            label,
            "s",
            "no python3 with torch and torchvision (apt-get install python3-torchvision)",
          );
        }
        const load = await loadAverage();
        const m = await measureProcess(python, [
          "bench/peers/course_pytorch.py",
          o.data,
          "--threads",
          String(threads),
        ], { cwd: ROOT });
        const j = m.code === 0 ? lastJson(m.stdout) : undefined;
        if (!j) return skip(id, label, "s", `failed: ${failure(m)}`);
        add({
          id,
          label,
          value: m.wallSeconds,
          unit: "s",
          rssMB: m.peakRssMB,
          cores: coresOf(m),
          ...versus(ourId, m.wallSeconds, "s"),
          note:
            `vs ${ourId}; ${j.steps} steps, trunk ran ${j.trunkImages} images; torch ${j.torch}, random weights`,
          load,
          raw: j,
        });
      };

      log("train and predict");
      const model = `${tmp}/model`;
      // The course's recipe is pinned: the CLI's default preset is another one.
      const course = ["--preset", "course"];
      await train("train.cold", "train, course preset, cold cache", `${tmp}/cache-cold`, model, course);
      await torch(cores, "train.cold");
      await train(
        "train.warm",
        "train, course preset, warm cache",
        `${tmp}/cache-cold`,
        `${tmp}/model-warm`,
        course,
      );

      const photos = await listPhotos(o.data);
      const predict = async (
        id: string,
        label: string,
        inputs: string[],
        expect: number,
        extra: string[] = [],
        modelDir = model,
      ) => {
        if (!(await exists(`${modelDir}/rocks.json`))) return skip(id, label, "s", "no model (train failed)");
        const load = await loadAverage();
        const m = await measureProcess(DENO, [
          "run",
          ...CLI_PERMS,
          "cli.ts",
          "predict",
          modelDir,
          ...inputs,
          "--json",
          ...(extra.length ? extra : ["--cache", `${tmp}/cache-${id}`]),
        ], { cwd: ROOT });
        let preds: unknown;
        try {
          preds = JSON.parse(m.stdout);
        } catch {
          preds = undefined;
        }
        if (m.code !== 0 || !Array.isArray(preds)) return skip(id, label, "s", `failed: ${failure(m)}`);
        const bad = preds.filter((p) => "error" in p).length;
        add({
          id,
          label,
          value: m.wallSeconds,
          unit: "s",
          rssMB: m.peakRssMB,
          cores: coresOf(m),
          note: `${preds.length} predictions (${bad} errors, ${expect} expected); start-up included; ${
            extra.length ? extra.join(" ") : "cold cache"
          }`,
          load,
        });
      };
      await predict("predict.one", "predict 1 photo, new process", [photos[0]!], 1);
      const folder = `${tmp}/photos50`;
      await Deno.mkdir(folder);
      const picks = Array.from(
        { length: Math.min(50, photos.length) },
        (_, i) => photos[Math.floor(i * photos.length / Math.min(50, photos.length))]!,
      );
      for (const p of picks) await Deno.copyFile(p, `${folder}/${p.split("/").pop()}`);
      await predict("predict.folder", `predict ${picks.length} photos, new process`, [folder], picks.length);

      // End to end: every Learn photo classified by a new process, decoding included, no cache; against the
      // tuned PyTorch script doing the same (Resize(256) + CenterCrop(224), batch 16, 2 loader workers).
      await predict(
        "predict.all",
        `predict all ${photos.length} photos, new process, no cache`,
        [o.data],
        photos.length,
        [
          "--no-cache",
        ],
      );
      // The same on the int8 path: a course-recipe head trained on int8 centre views (its model records int8,
      // so predict runs int8 too).
      const int8Model = `${tmp}/model-int8`;
      await train(
        "train.int8.centre",
        "train, course head on centre views, --precision int8, cold cache",
        `${tmp}/cache-int8`,
        int8Model,
        [...course, "--augment", "none", "--precision", "int8"],
      );
      await predict(
        "predict.all.int8",
        `predict all ${photos.length} photos, new process, no cache, an int8 model`,
        [o.data],
        photos.length,
        ["--no-cache"],
        int8Model,
      );
      {
        const id = "peer.torchtuned.folder";
        const label =
          `PyTorch tuned, classify all ${photos.length} photos, ${cores} threads, 2 loader workers`;
        if (!o.peers) skip(id, label, "s", "--no-peers");
        else if (!python) {
          skip(id, label, "s", "no python3 with torch and torchvision (bench/peers/install.sh)");
        } else {
          const load = await loadAverage();
          const m = await measureProcess(python, [
            "bench/peers/torch_tuned.py",
            "folder",
            o.data,
            "--threads",
            String(cores),
            "--loader-workers",
            "2",
          ], { cwd: ROOT });
          const j = m.code === 0 ? lastJson(m.stdout) : undefined;
          if (!j) skip(id, label, "s", `failed: ${failure(m)}`);
          else {
            add({
              id,
              label,
              value: m.wallSeconds,
              unit: "s",
              rssMB: m.peakRssMB,
              cores: coresOf(m),
              ...versus("predict.all", m.wallSeconds, "s"),
              note:
                `vs predict.all; ${j.predictions} predictions; torch ${j.torch}; ${j.recipe}; random weights`,
              load,
              raw: j,
            });
          }
        }
      }

      // onnxruntime-node (native, CPU execution provider) on the very network rocks runs: the model just
      // trained, exported by rocks export (ResNet50 with its batch-norms folded, and the head).
      if (o.peers && !q) {
        log("onnxruntime-node peer");
        const onnx = `${tmp}/rocks-course.onnx`;
        let why: string | undefined;
        if (!(await which("node", ["--version"]))) why = "node is not installed";
        else if (!(await exists(`${o.peerDir}/node_modules/onnxruntime-node/package.json`))) {
          why = `onnxruntime-node is not installed in ${o.peerDir} (see bench/README.md)`;
        } else if (!(await exists(`${model}/rocks.json`))) why = "no model (train failed)";
        else {
          const m = await measureProcess(DENO, [
            "run",
            ...CLI_PERMS,
            "cli.ts",
            "export",
            model,
            "--out",
            onnx,
          ], {
            cwd: ROOT,
          });
          if (m.code !== 0) why = `rocks export failed: ${failure(m)}`;
        }
        await ortRows("node", onnx, "nhwc", why);
      }

      // 5. rocks serve under load, against rocks predict on the same photos (bench/serve.ts; no cache in either).
      if (o.serveSeconds > 0 && (await exists(`${model}/rocks.json`))) {
        log("serve");
        const load = await loadAverage();
        const clients = 8;
        const r = await benchServe({
          model,
          data: o.data,
          seconds: o.serveSeconds,
          clients,
          burst: 200,
          photos: 0,
          batch: false,
          predict: true,
        }).catch((e): Record<string, unknown> => ({ failed: String(e) }));
        const p = r.predict as { steadyImagesPerSecond: number; imagesPerSecond: number } | undefined;
        const sv = r.serve as
          | { imagesPerSecond: number; p50Ms: number; p99Ms: number; peakRssMB: number; requests: number }
            & { fivexx: number; rssAfterWarmupMB: number; rssAfterRunMB: number; rssGrowthMB: number }
          | undefined;
        if (!p || !sv) {
          for (const [id, label] of [["serve.predict", "predict, img/s"], ["serve.throughput", "serve"]]) {
            skip(id!, label!, "img/s", `failed: ${String(r.failed ?? r.stderr ?? "?").slice(0, 160)}`);
          }
        } else {
          const burst = r.burst as {
            statuses: Record<string, number>;
            healthAfter: number;
            predictAfter: number;
          };
          add({
            id: "serve.predict",
            label: `predict ${r.photos} photos, no cache, img/s without start-up`,
            value: p.steadyImagesPerSecond,
            unit: "img/s",
            rssMB: null,
            cores: null,
            note: `(N − 16) / (t_N − t_16), new processes before and after the load; with start-up ${
              p.imagesPerSecond.toFixed(2)
            }`,
            load,
          });
          add({
            id: "serve.throughput",
            label: `serve, ${clients} clients for ${o.serveSeconds} s, no cache`,
            value: sv.imagesPerSecond,
            unit: "img/s",
            rssMB: sv.peakRssMB,
            cores: null,
            note: [
              `${(100 * sv.imagesPerSecond / p.steadyImagesPerSecond).toFixed(0)} % of predict's`,
              `${sv.requests} requests, ${sv.fivexx} 5xx`,
              `RSS ${Math.round(sv.rssAfterWarmupMB)} MB after warm-up, ${
                Math.round(sv.rssAfterRunMB)
              } MB after`,
              `burst of 200: ${
                JSON.stringify(burst.statuses)
              }, then ${burst.healthAfter} / ${burst.predictAfter}`,
              `exit ${r.exitCode}`,
            ].join("; "),
            load,
            raw: r,
          });
          for (
            const [id, q, v] of [["serve.p50", "p50", sv.p50Ms], ["serve.p99", "p99", sv.p99Ms]] as const
          ) {
            add({
              id,
              label: `serve, latency ${q}`,
              value: v,
              unit: "ms",
              rssMB: null,
              cores: null,
              note: `one photo a request, ${clients} clients`,
              load,
            });
          }
        }
      }

      // The CLI's default recipe, for its time and memory (its views are larger).
      await train(
        "train.default.cold",
        "train, default preset, cold cache",
        `${tmp}/cache-default`,
        `${tmp}/model-d`,
      );
      await train(
        "train.default.cold.int8",
        "train, default preset, cold cache, --precision int8",
        `${tmp}/cache-default-int8`,
        `${tmp}/model-d-int8`,
        ["--precision", "int8"],
      );

      if (o.single) {
        await train(
          "train.cold.1",
          "train, course preset, cold cache, 1 worker",
          `${tmp}/cache-cold-1`,
          `${tmp}/model-1`,
          [
            ...course,
            "--workers",
            "1",
          ],
        );
        await torch(1, "train.cold.1");
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return { rows, targets: checkTargets(rows, cores) };
}

/**
 * The issue's targets, judged on this run's rows.
 * @param rows The rows of one run.
 * @param cores Cores of the machine (the default pool's size).
 * @returns One verdict per target.
 */
export function checkTargets(rows: Row[], cores: number): Target[] {
  const v = (id: string) => rows.find((r) => r.id === id)?.value ?? null;
  const rss = (id: string) => rows.find((r) => r.id === id)?.rssMB ?? null;
  const targets: Target[] = [];
  for (const b of [1, 16]) {
    const one = v(`trunk.pool1.b${b}`);
    const pool = v(`trunk.pool.b${b}`);
    const used = rows.find((r) => r.id === `trunk.pool.b${b}`)?.cores ?? null;
    const name = `trunk, pool of ${cores} ≥ 1.8× one worker and ≥ 9 img/s (batch ${b})`;
    if (one === null || pool === null) targets.push({ name, status: "SKIP", detail: "not measured" });
    else {
      // A pool that got fewer cores than it has workers was sharing the machine.
      const busy = used !== null && used < cores - 0.2
        ? `; the pool kept only ${used.toFixed(2)} of ${cores} cores busy: other work had the rest`
        : "";
      targets.push({
        name,
        status: pool / one >= 1.8 && pool >= 9 ? "PASS" : "FAIL",
        detail: `${pool.toFixed(2)} img/s vs ${one.toFixed(2)} img/s: ${(pool / one).toFixed(2)}×${busy}`,
      });
    }
  }
  const cold = v("train.cold");
  const torch = v(`peer.pytorch.t${cores}`);
  {
    const name = `cold train at least as fast as the PyTorch recipe, ${cores} threads (aim 2×)`;
    if (cold === null || torch === null) targets.push({ name, status: "SKIP", detail: "not measured" });
    else {
      targets.push({
        name,
        status: cold <= torch ? "PASS" : "FAIL",
        detail: `${cold.toFixed(1)} s vs ${torch.toFixed(1)} s: ${(torch / cold).toFixed(2)}× (aim 2× ${
          torch / cold >= 2 ? "met" : "not met"
        })`,
      });
    }
  }
  const warm = v("train.warm");
  targets.push(
    warm === null ? { name: "warm train under 10 s wall", status: "SKIP", detail: "not measured" } : {
      name: "warm train under 10 s wall",
      status: warm < 10 ? "PASS" : "FAIL",
      detail: `${warm.toFixed(2)} s`,
    },
  );
  const one = v("predict.one");
  targets.push(
    one === null
      ? { name: "predict 1 photo as a new process under 3 s", status: "SKIP", detail: "not measured" }
      : {
        name: "predict 1 photo as a new process under 3 s",
        status: one < 3 ? "PASS" : "FAIL",
        detail: `${one.toFixed(2)} s`,
      },
  );
  const serveRow = rows.find((r) => r.id === "serve.throughput");
  const served = v("serve.throughput");
  const predicted = v("serve.predict");
  const serveName = "serve throughput ≥ 90 % of predict's img/s on the same photos";
  targets.push(
    served === null || predicted === null ? { name: serveName, status: "SKIP", detail: "not measured" } : {
      name: serveName,
      status: served >= 0.9 * predicted ? "PASS" : "FAIL",
      detail: `${served.toFixed(2)} vs ${predicted.toFixed(2)} img/s: ${
        (100 * served / predicted).toFixed(0)
      } %`,
    },
  );
  {
    const raw = serveRow?.raw as
      | { serve: { fivexx: number; rssGrowthMB: number }; burst: Record<string, unknown>; exitCode: number }
      | undefined;
    const name = "serve under load: no 5xx, RSS growth after warm-up ≤ 50 MB";
    const bName =
      "serve: a burst of 200 over the queue gets only 200s and 503s, then answers; SIGTERM exits 0";
    if (!raw) {
      targets.push({ name, status: "SKIP", detail: "not measured" }, {
        name: bName,
        status: "SKIP",
        detail: "not measured",
      });
    } else {
      const { fivexx, rssGrowthMB } = raw.serve;
      targets.push({
        name,
        status: fivexx === 0 && rssGrowthMB <= 50 ? "PASS" : "FAIL",
        detail: `${fivexx} 5xx; RSS ${rssGrowthMB >= 0 ? "+" : ""}${rssGrowthMB.toFixed(1)} MB`,
      });
      const b = raw.burst as
        & { statuses: Record<string, number>; onlyOkAndBusy: boolean }
        & Record<string, number>;
      const ok = b.onlyOkAndBusy && b.healthAfter === 200 && b.predictAfter === 200 && raw.exitCode === 0;
      targets.push({
        name: bName,
        status: ok ? "PASS" : "FAIL",
        detail: `${
          JSON.stringify(b.statuses)
        }; /healthz ${b.healthAfter}, /predict ${b.predictAfter} after; exit ${raw.exitCode}`,
      });
    }
  }
  const peaks = ["train.cold", "train.warm", "train.default.cold"]
    .map((id) => [id, rss(id)] as const)
    .filter((p): p is readonly [string, number] => p[1] !== null);
  const rssName = "peak RSS of train with the default pool under 2.5 GB";
  targets.push(
    peaks.length === 0 ? { name: rssName, status: "SKIP", detail: "not measured" } : {
      name: rssName,
      status: Math.max(...peaks.map((p) => p[1])) < 2500 ? "PASS" : "FAIL",
      detail: peaks.map(([id, mb]) => `${id} ${Math.round(mb)} MB`).join(", "),
    },
  );
  targets.push(...speedRoundTwoTargets(rows, cores));
  return targets;
}

/**
 * The targets of "speed, round two" (issue 14), printed from the same run: the
 * trunk with the default pool ≥ 25 img/s (against onnxruntime-node and tuned
 * PyTorch, as ratios), every Learn photo classified end to end 2× faster than
 * tuned PyTorch, the default preset's cold train ≤ 30 s, and every
 * default-pool command's peak RSS ≤ 1.5 GB.
 */
function speedRoundTwoTargets(rows: Row[], cores: number): Target[] {
  const row = (id: string) => rows.find((r) => r.id === id);
  const v = (id: string) => row(id)?.value ?? null;
  const targets: Target[] = [];
  // The three speed targets, for the float32 trunk and for the int8 path, the default (auto) where it runs.
  const variants = [
    {
      label: "--precision fp32: ",
      pool: "trunk.pool",
      all: "predict.all",
      cold: "train.default.cold",
      poolNote: ", the better batch",
    },
    {
      label: "default (auto: int8 where it runs): ",
      pool: "trunk.int8.pool",
      all: "predict.all.int8",
      cold: "train.default.cold.int8",
      poolNote: "",
    },
  ];
  for (const x of variants) {
    const pools = [1, 16].map((b) => [b, v(`${x.pool}.b${b}`)] as const).filter((p) => p[1] !== null);
    const name = `${x.label}trunk with the default pool ≥ 25 img/s (${cores} cores, 224 px${x.poolNote})`;
    if (pools.length === 0) targets.push({ name, status: "SKIP", detail: "not measured" });
    else {
      const [batch, best] = pools.reduce((a, b) => (b[1]! > a[1]! ? b : a));
      const peers = [
        [`peer.ortnode.t${cores}.b${batch}`, "onnxruntime-node"],
        [`peer.torchtuned.t${cores}.b${batch}`, "tuned PyTorch"],
      ].map(([id, what]) => {
        const p = v(id!);
        return p === null ? `${what} not measured` : `${(best! / p).toFixed(2)}× ${what}`;
      });
      targets.push({
        name,
        status: best! >= 25 ? "PASS" : "FAIL",
        detail: `${best!.toFixed(2)} img/s at batch ${batch}; ${peers.join(", ")}`,
      });
    }
    const ours = v(x.all), torch = v("peer.torchtuned.folder");
    const e2eName = x.label
      ? `${x.label}every Learn photo classified as a new process: ≥ 2× tuned PyTorch`
      : "every Learn photo classified as a new process, no cache: ≥ 2× tuned PyTorch";
    targets.push(
      ours === null || torch === null ? { name: e2eName, status: "SKIP", detail: "not measured" } : {
        name: e2eName,
        status: torch / ours >= 2 ? "PASS" : "FAIL",
        detail: `${ours.toFixed(1)} s vs ${torch.toFixed(1)} s: ${(torch / ours).toFixed(2)}×`,
      },
    );
    const cold = v(x.cold);
    const coldName = `${x.label}cold train with the default preset ≤ 30 s`;
    targets.push(
      cold === null
        ? { name: coldName, status: "SKIP", detail: "not measured" }
        : { name: coldName, status: cold <= 30 ? "PASS" : "FAIL", detail: `${cold.toFixed(1)} s` },
    );
  }
  {
    const ids = [
      "train.cold",
      "train.warm",
      "train.default.cold",
      "train.default.cold.int8",
      "train.int8.centre",
      "predict.one",
      "predict.folder",
      "predict.all",
      "predict.all.int8",
    ];
    const peaks = ids.map((id) => [id, row(id)?.rssMB ?? null] as const).filter((p) => p[1] !== null);
    const name = "peak RSS of every default-pool command ≤ 1.5 GB";
    targets.push(
      peaks.length === 0 ? { name, status: "SKIP", detail: "not measured" } : {
        name,
        status: Math.max(...peaks.map((p) => p[1]!)) <= 1500 ? "PASS" : "FAIL",
        detail: peaks.map(([id, mb]) => `${id} ${Math.round(mb!)} MB`).join(", "),
      },
    );
  }
  return targets;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      data: { type: "string" },
      out: { type: "string" },
      "no-peers": { type: "boolean" },
      "no-single": { type: "boolean" },
      "no-serve": { type: "boolean" },
      "serve-seconds": { type: "string" },
      "peer-dir": { type: "string" },
      strict: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench [--quick] [--data DIR] [--out FILE] [--no-peers] [--no-single] [--peer-dir DIR]\n" +
        "                       [--no-serve] [--serve-seconds N] [--strict]\nSee bench/README.md.",
    );
    Deno.exit(0);
  }
  const options: BenchOptions = {
    quick: values.quick === true,
    data: values.data ?? `${ROOT}/../shared/data/space-rocks`,
    out: values.out ?? `${ROOT}/bench/results.json`,
    peers: values["no-peers"] !== true,
    single: values["no-single"] !== true,
    serveSeconds: values["no-serve"] ? 0 : Number(values["serve-seconds"] ?? 60),
    peerDir: values["peer-dir"] ?? Deno.env.get("ROCKS_BENCH_PEERS") ?? defaultPeerDir(),
  };
  const machine = await machineInfo();
  const started = new Date();
  console.error(
    `rocks bench on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; load ${machine.loadAverage}`,
  );
  const { rows, targets } = await runBench(options);
  const loadAfter = await loadAverage();
  console.log(
    `\nrocks bench, ${started.toISOString()}, ${machine.cores} cores (${machine.cpu}), ${machine.deno}`,
  );
  console.log(`load average ${machine.loadAverage} at start, ${loadAfter} at end\n`);
  console.log(renderTable(rows));
  console.log("\nTargets:");
  for (const t of targets) console.log(`  ${t.status}  ${t.name}: ${t.detail}`);
  await Deno.writeTextFile(
    options.out,
    JSON.stringify(
      {
        date: started.toISOString(),
        seconds: (Date.now() - started.getTime()) / 1000,
        machine: { ...machine, loadAverageAtEnd: loadAfter },
        options: { ...options, out: undefined },
        rows,
        targets,
      },
      null,
      1,
    ) + "\n",
  );
  console.log(`\nWrote ${options.out}`);
  if (values.strict && targets.some((t) => t.status === "FAIL")) Deno.exit(1);
}
