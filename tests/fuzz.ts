/**
 * A seeded, time-bounded fuzzer for the photo path: it mutates real JPEGs
 * (the Learn photos) and test-made PNGs and feeds every mutant to
 * `decodeImage`, and every `--predict-every`-th one, written to a file, to
 * `predict()` with a real trunk. Every input must end in pixels (or a
 * prediction) or in a `RocksError`; anything else — another exception, a
 * wrong-sized result, an input that takes longer than `--hang-seconds` — is a
 * crash: the input is saved under `--crashes` and the run exits 1.
 *
 *   deno run -A tests/fuzz.ts --seconds 300 [--seed 1] [--json]
 *
 * Mutations: bit flips, byte overwrites, truncation, duplicated and deleted
 * spans, duplicated PNG chunks / JPEG segments, header fields (sizes incl.
 * 0 and huge, bit depth, colour type, precision, SOF marker), an EXIF block
 * with random fields, and splices of two files. PNG mutants get valid CRCs
 * half of the time, so the decoder sees the damage rather than a checksum.
 *
 * The report (stdout, or one JSON object with `--json`) counts inputs per
 * mutation and outcome, and the classes of error seen (messages with file
 * names and numbers taken out).
 * @module
 */
import { parseArgs } from "node:util";
import { codecRenewals, decodeImage, type RgbImage } from "../lib/image/decode.ts";
import { crc32 } from "../lib/util/hash.ts";
import { RocksError } from "../lib/util/errors.ts";
import { createRng, type Rng } from "../lib/util/rng.ts";
import { encodePng } from "../lib/image/png_encode.ts";
import { ROOT, SKIMAGE, SPACE_ROCKS, texturePng } from "./_helpers.ts";

/** What a fuzz run did. */
export interface FuzzReport {
  /** The seed. */
  seed: number;
  /** Seconds it ran. */
  seconds: number;
  /** Seed files mutated. */
  corpus: string[];
  /** Inputs fed to `decodeImage`. */
  decoded: number;
  /** Inputs fed to `predict()` too. */
  predicted: number;
  /** Outcome counts of `decodeImage`: `ok` or the error class. */
  outcomes: Record<string, number>;
  /** Outcome counts of `predict()`: `a class` or `an error`. */
  predictOutcomes: Record<string, number>;
  /** Inputs per mutation kind. */
  mutations: Record<string, number>;
  /** Decoder instances replaced after a failure or a large photo. */
  codecRenewals: number;
  /** The slowest single decode, in ms. */
  slowestMs: number;
  /** Inputs that ended in anything but a result or a RocksError. */
  crashes: { mutation: string; what: string; saved: string }[];
}

/** One seed file. */
interface Seed {
  name: string;
  format: "jpeg" | "png";
  bytes: Uint8Array;
}

/** JPEGs from the Learn photos and skimage's fixtures; PNGs the tests draw (every colour type). */
export async function fuzzCorpus(): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (
    const f of [
      `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`,
      `${SPACE_ROCKS}/Highland/Crustal_Anorthosite_s72-41777.jpg`,
      `${SKIMAGE}/hubble_deep_field.jpg`,
    ]
  ) {
    try {
      seeds.push({ name: f.slice(f.lastIndexOf("/") + 1), format: "jpeg", bytes: await Deno.readFile(f) });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const w = 24, h = 17;
  const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) & 255);
  const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 13) & 255);
  const rgb16 = Uint8Array.from({ length: w * h * 6 }, (_, i) => (i * 29) & 255);
  const palette = Uint8Array.from({ length: 16 * 3 }, (_, i) => i * 5);
  const indices = Uint8Array.from({ length: w * h }, (_, i) => i % 16);
  seeds.push(
    { name: "texture.png", format: "png", bytes: texturePng("stripes", 1, 48) },
    { name: "gray.png", format: "png", bytes: encodePng(gray, w, h, 1) },
    { name: "rgba.png", format: "png", bytes: encodePng(rgba, w, h, 4) },
    { name: "rgb16.png", format: "png", bytes: encodePng(rgb16, w, h, 3, 16) },
    { name: "palette.png", format: "png", bytes: encodePng(indices, w, h, 1, 8, palette) },
  );
  return seeds;
}

/** PNG chunks: [offset, total length] of each (length, type, body, CRC). */
function pngChunks(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let at = 8;
  while (at + 12 <= b.length) {
    const len = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    if (at + 12 + len > b.length) break;
    out.push([at, 12 + len]);
    at += 12 + len;
  }
  return out;
}

/** Recomputes every PNG chunk's CRC, so the damage reaches the decoder. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  for (const [at, len] of pngChunks(b)) {
    const crc = crc32(b.subarray(at + 4, at + len - 4));
    new DataView(b.buffer, b.byteOffset).setUint32(at + len - 4, crc);
  }
  return b;
}

/** JPEG marker segments before the scan: [offset, total length]. */
function jpegSegments(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1]!;
    const len = 2 + ((b[at + 2]! << 8) | b[at + 3]!);
    out.push([at, len]);
    if (marker === 0xda) break;
    at += len;
  }
  return out;
}

function splice(
  b: Uint8Array,
  at: number,
  remove: number,
  insert: Uint8Array = new Uint8Array(),
): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** A size a header field might be changed to: edge cases and huge values. */
function oddSize(rng: Rng, max: number): number {
  const picks = [0, 1, 2, 3, 7, 255, 256, 4096, 9999, 10000, 65535, max, rng.int(max + 1)];
  return Math.min(max, picks[rng.int(picks.length)]!);
}

const MUTATIONS = [
  "bitflip",
  "bytes",
  "truncate",
  "duplicate-span",
  "delete-span",
  "duplicate-chunk",
  "header-size",
  "header-field",
  "exif",
  "splice",
] as const;

/** Applies one mutation kind to a copy of a seed. */
export function mutate(
  seed: Seed,
  kind: typeof MUTATIONS[number],
  rng: Rng,
  other: Seed,
): Uint8Array {
  let b: Uint8Array = seed.bytes.slice();
  const pos = () => rng.int(b.length);
  switch (kind) {
    case "bitflip":
      for (let k = 1 + rng.int(8); k > 0; k--) {
        const p = pos();
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      break;
    case "bytes":
      for (let k = 1 + rng.int(4); k > 0; k--) b[pos()] = [0, 0xff, rng.int(256)][rng.int(3)]!;
      break;
    case "truncate":
      b = b.slice(0, rng.next() < 0.3 ? rng.int(Math.min(64, b.length)) : pos());
      break;
    case "duplicate-span": {
      const a = pos();
      const span = b.slice(a, a + 1 + rng.int(256));
      b = splice(b, pos(), 0, span);
      break;
    }
    case "delete-span": {
      const a = pos();
      b = splice(b, a, Math.min(b.length - a, 1 + rng.int(256)));
      break;
    }
    case "duplicate-chunk": {
      const parts = seed.format === "png" ? pngChunks(b) : jpegSegments(b);
      if (parts.length === 0) break;
      const [at, len] = parts[rng.int(parts.length)]!;
      const where = parts[rng.int(parts.length)]![0];
      b = splice(b, where, 0, b.slice(at, at + len));
      break;
    }
    case "header-size": {
      const view = new DataView(b.buffer);
      if (seed.format === "png") {
        // IHDR width / height (big-endian uint32 at 16 and 20).
        view.setUint32(16 + 4 * rng.int(2), oddSize(rng, 0xffffffff));
        if (rng.next() < 0.5) view.setUint32(16 + 4 * rng.int(2), oddSize(rng, 0xffffffff));
      } else {
        const sof = jpegSegments(b).find(([at]) => b[at + 1]! >= 0xc0 && b[at + 1]! <= 0xc2);
        if (sof) view.setUint16(sof[0] + 5 + 2 * rng.int(2), oddSize(rng, 65535));
      }
      break;
    }
    case "header-field": {
      if (seed.format === "png") {
        b[24 + rng.int(5)] = [0, 1, 2, 3, 4, 6, 7, 8, 16, 255][rng.int(10)]!; // depth, colour type, methods
      } else {
        const segs = jpegSegments(b);
        const sof = segs.find(([at]) => b[at + 1]! >= 0xc0 && b[at + 1]! <= 0xc2);
        if (sof) {
          const choice = rng.int(3);
          if (choice === 0) b[sof[0] + 4] = [0, 1, 8, 12, 16, 255][rng.int(6)]!; // precision
          else if (choice === 1) b[sof[0] + 9] = rng.int(6); // component count
          else b[sof[0] + 1] = 0xc0 + rng.int(16); // another SOF kind
        }
      }
      break;
    }
    case "exif": {
      // An APP1 Exif block with a random TIFF body (and sometimes a valid-looking orientation).
      const body = Uint8Array.from({ length: 8 + rng.int(40) }, () => rng.int(256));
      body.set(rng.next() < 0.5 ? [0x4d, 0x4d, 0, 0x2a] : [0x49, 0x49, 0x2a, 0], 0);
      const exif = new Uint8Array([0xff, 0xe1, 0, 0, 0x45, 0x78, 0x69, 0x66, 0, 0, ...body]);
      const len = exif.length - 2 + (rng.next() < 0.2 ? rng.int(200) - 100 : 0);
      exif[2] = (len >> 8) & 0xff;
      exif[3] = len & 0xff;
      if (seed.format === "jpeg") b = splice(b, 2, 0, exif);
      else b[pos()] = rng.int(256);
      break;
    }
    case "splice": {
      const cut = pos();
      const from = rng.int(other.bytes.length);
      b = new Uint8Array([...b.subarray(0, cut), ...other.bytes.subarray(from)]);
      break;
    }
  }
  return seed.format === "png" && rng.next() < 0.5 ? fixPngCrcs(b) : b;
}

/** A message with the input's name and the numbers taken out: its error class. */
export function errorClass(message: string, name: string): string {
  return message.replaceAll(name, "<file>").replace(/-?\d+(\.\d+)?/g, "N").slice(0, 120);
}

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** Seed of every choice. */
  seed: number;
  /** Stop starting new inputs after this long. */
  seconds: number;
  /** Also run every this many inputs through `predict()` (0: never). */
  predictEvery: number;
  /** One input longer than this counts as a hang. */
  hangSeconds: number;
  /** Where crashing inputs are saved. */
  crashes: string;
  /** Called after each input. */
  onInput?: (n: number) => void;
}

/**
 * Runs the fuzzer.
 * @param options Seed, time, predict cadence.
 * @returns What it tried and saw.
 */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rng = createRng(options.seed);
  const corpus = await fuzzCorpus();
  const report: FuzzReport = {
    seed: options.seed,
    seconds: 0,
    corpus: corpus.map((s) => s.name),
    decoded: 0,
    predicted: 0,
    outcomes: {},
    predictOutcomes: {},
    mutations: {},
    codecRenewals: 0,
    slowestMs: 0,
    crashes: [],
  };
  const count = (key: string) => (report.outcomes[key] = (report.outcomes[key] ?? 0) + 1);
  const renewalsBefore = codecRenewals();
  const dir = await Deno.makeTempDir({ prefix: "rocks-fuzz-" });
  // The trunk loads only when predictions are wanted (a few seconds).
  let predictor:
    | { predict: (file: string) => Promise<unknown>; close: () => void }
    | undefined;
  if (options.predictEvery > 0) {
    const { loadTrunk } = await import("../lib/trunk/load.ts");
    const { trunkEmbedder } = await import("../lib/embed/embedder.ts");
    const { predict } = await import("../lib/score/predict.ts");
    const { randomClassifier } = await import("./_classifier.ts");
    const trunk = await loadTrunk({ backend: "wasm" });
    const embedder = trunkEmbedder(trunk);
    const classifier = randomClassifier(["Basalt", "Highland"], trunk);
    predictor = {
      predict: (file) => predict(embedder, classifier, [file]),
      close: () => {
        classifier.dispose();
        trunk.dispose();
      },
    };
  }
  const crash = async (mutation: string, what: string, bytes: Uint8Array) => {
    await Deno.mkdir(options.crashes, { recursive: true });
    const saved = `${options.crashes}/crash-${options.seed}-${report.decoded}.bin`;
    await Deno.writeFile(saved, bytes);
    report.crashes.push({ mutation, what, saved });
    count("CRASH");
  };
  const started = performance.now();
  try {
    while (performance.now() - started < options.seconds * 1000) {
      const seed = corpus[rng.int(corpus.length)]!;
      const kind = MUTATIONS[rng.int(MUTATIONS.length)]!;
      const bytes = mutate(seed, kind, rng, corpus[rng.int(corpus.length)]!);
      report.mutations[kind] = (report.mutations[kind] ?? 0) + 1;
      const name = `m${report.decoded}.${seed.format === "png" ? "png" : "jpg"}`;
      // 1. decodeImage, at a scale a 224 px view needs (as training and prediction decode).
      const t0 = performance.now();
      try {
        const img: RgbImage = await decodeImage(bytes, { name, fits: (w, h) => Math.min(w, h) >= 224 });
        if (!(img.width >= 1 && img.height >= 1 && img.data.length === img.width * img.height * 3)) {
          await crash(
            kind,
            `decodeImage gave ${img.width}×${img.height} with ${img.data.length} bytes`,
            bytes,
          );
        } else count("ok");
      } catch (e) {
        if (e instanceof RocksError) count(errorClass(e.message, name));
        else {await crash(
            kind,
            `decodeImage threw ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
            bytes,
          );}
      }
      const ms = performance.now() - t0;
      report.slowestMs = Math.max(report.slowestMs, Math.round(ms));
      if (ms > options.hangSeconds * 1000) await crash(kind, `decodeImage took ${Math.round(ms)} ms`, bytes);
      report.decoded++;
      // 2. The same bytes as a file, through predict().
      if (predictor && report.decoded % options.predictEvery === 0) {
        const file = `${dir}/${name}`;
        await Deno.writeFile(file, bytes);
        try {
          const preds = await predictor.predict(file) as { file: string; class?: string; error?: string }[];
          const p = preds[0];
          if (
            preds.length !== 1 || !p || p.file !== file || (p.class === undefined) === (p.error === undefined)
          ) {
            await crash(kind, `predict() gave ${JSON.stringify(preds).slice(0, 200)}`, bytes);
          } else {
            const key = p.class !== undefined ? "a class" : "an error";
            report.predictOutcomes[key] = (report.predictOutcomes[key] ?? 0) + 1;
          }
        } catch (e) {
          await crash(
            kind,
            `predict() threw ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
            bytes,
          );
        }
        await Deno.remove(file);
        report.predicted++;
      }
      options.onInput?.(report.decoded);
    }
  } finally {
    predictor?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  report.codecRenewals = codecRenewals() - renewalsBefore;
  return report;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "300" },
      seed: { type: "string", default: "1" },
      "predict-every": { type: "string", default: "25" },
      "hang-seconds": { type: "string", default: "20" },
      crashes: { type: "string", default: `${ROOT}/tests/.artifacts/fuzz-crashes` },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const report = await fuzz({
    seed: Number(values.seed),
    seconds: Number(values.seconds),
    predictEvery: Number(values["predict-every"]),
    hangSeconds: Number(values["hang-seconds"]),
    crashes: values.crashes,
  });
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(
      `fuzz seed ${report.seed}: ${report.decoded} inputs decoded, ${report.predicted} predicted in ${report.seconds} s; ` +
        `${report.crashes.length} crashes; slowest decode ${report.slowestMs} ms; ${report.codecRenewals} decoder instances renewed`,
    );
    console.log(`corpus: ${report.corpus.join(", ")}`);
    console.log("mutations:", report.mutations);
    console.log("predictions:", report.predictOutcomes);
    console.log("outcomes:");
    for (const [k, v] of Object.entries(report.outcomes).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${String(v).padStart(7)}  ${k}`);
    }
    for (const c of report.crashes) console.log(`CRASH (${c.mutation}): ${c.what} → ${c.saved}`);
  }
  Deno.exit(report.crashes.length ? 1 : 0);
}
