/**
 * A classifier on disk: one folder holding
 * - `model.json` + `weights.bin`: the head in the TF.js layers format, which
 *   `tf.loadLayersModel("file://…/model.json")` (or a browser) can load;
 * - `rocks.json`: format version, classes, trunk id and checksum,
 *   preprocessing, training options, metrics, and the sha256 of the two
 *   files above.
 * Loading never runs code. Saving writes a temporary folder beside the
 * target, then swaps it in with renames, so an interrupted save leaves the
 * previous model in place.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import {
  type Classifier,
  type ClassifierMeta,
  FORMAT_VERSION,
  headParamsOf,
  makeClassifier,
} from "./classifier.ts";
import { type HeadParams, PARAM_NAMES } from "./head.ts";
import { RocksError } from "../util/errors.ts";
import { sameNetwork } from "../trunk/weights.ts";
import { DEFAULT_PRECISION, type Precision, type PrecisionRequest, PRECISIONS } from "../trunk/precision.ts";
import { sha256Hex } from "../util/hash.ts";

const LAYER_WEIGHT_NAMES: Record<typeof PARAM_NAMES[number], string> = {
  w1: "hidden/kernel",
  b1: "hidden/bias",
  w2: "logits/kernel",
  b2: "logits/bias",
};

/** The layers-format topology of the head (Keras Sequential). */
function topology(meta: ClassifierMeta) {
  const { inputSize, hiddenSize, classes, dropout } = meta.head;
  return {
    class_name: "Sequential",
    config: {
      name: "rocks_head",
      layers: [
        {
          class_name: "Dense",
          config: {
            name: "hidden",
            units: hiddenSize,
            activation: "relu",
            use_bias: true,
            batch_input_shape: [null, inputSize],
            dtype: "float32",
          },
        },
        { class_name: "Dropout", config: { name: "dropout", rate: dropout } },
        {
          class_name: "Dense",
          config: { name: "logits", units: classes, activation: "linear", use_bias: true },
        },
        { class_name: "Activation", config: { name: "log_probabilities", activation: "logSoftmax" } },
      ],
    },
    keras_version: "tfjs-layers 4.22.0",
    backend: "tensor_flow.js",
  };
}

interface RocksJson extends ClassifierMeta {
  /** sha256 of `model.json` and `weights.bin`. */
  files: Record<string, string>;
  /** sha256 of this file's own text written without this field (absent in folders saved before it existed). */
  metaSha256?: string;
}

/** The text of `rocks.json` for `meta` (without `metaSha256`), whose sha256 is its `metaSha256`. */
function metaText(meta: Omit<RocksJson, "metaSha256">): string {
  return JSON.stringify(meta, null, 2) + "\n";
}

/** What a JSON value is, for messages. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  return typeof v === "string" ? `"${v.slice(0, 40)}"` : typeof v === "object" ? "an object" : String(v);
}

/**
 * Checks the fields loading relies on, so a damaged or hand-made `rocks.json`
 * fails with what is wrong rather than a TypeError.
 */
function checkMeta(meta: unknown, dir: string): asserts meta is RocksJson {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new RocksError(
      "model",
      `${dir}/rocks.json is damaged: expected ${field} to be ${expected}, found ${kindOf(found)}`,
      dir,
    );
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const count = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1;
  if (!isObject(meta)) return fail("the file", "an object", meta);
  const classes = meta.classes;
  if (!Array.isArray(classes) || classes.length < 1) fail("classes", "a list of class names", classes);
  const names = classes as unknown[];
  if (!names.every((c) => typeof c === "string" && c !== "") || new Set(names).size !== names.length) {
    fail("classes", "distinct non-empty names", classes);
  }
  const trunk = meta.trunk;
  if (!isObject(trunk) || typeof trunk.id !== "string" || typeof trunk.sha256 !== "string") {
    fail("trunk", "{ id, sha256 }", trunk);
  }
  const precision = (trunk as Record<string, unknown>).precision;
  if (precision !== undefined && !(PRECISIONS as readonly unknown[]).includes(precision)) {
    fail("trunk.precision", PRECISIONS.join(" or "), precision);
  }
  const head = meta.head;
  if (!isObject(head)) return fail("head", "an object", head);
  for (const k of ["inputSize", "hiddenSize", "classes"]) {
    if (!count(head[k])) fail(`head.${k}`, "a whole number ≥ 1", head[k]);
  }
  if (typeof head.dropout !== "number") fail("head.dropout", "a number", head.dropout);
  if (!isObject(meta.preprocessing)) fail("preprocessing", "an object", meta.preprocessing);
  if (!isObject(meta.training)) fail("training", "an object", meta.training);
  const files = meta.files;
  if (
    !isObject(files) || typeof files["model.json"] !== "string" || typeof files["weights.bin"] !== "string"
  ) {
    fail("files", "the sha256 of model.json and weights.bin", files);
  }
}

async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  let at = 0;
  while (at < data.length) at += await file.write(data.subarray(at));
  await file.sync();
}

/**
 * Saves a classifier to `dir`, replacing what is there only once the new
 * folder is complete.
 *
 * Requires --allow-read and --allow-write for `dir` and its parent.
 * @param dir The model folder.
 * @param classifier What to save.
 * @throws {RocksError} When the folder cannot be written (the previous model stays).
 * @example
 * ```ts
 * import { loadClassifier, openEmbedder, saveClassifier, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, "../shared/data/space-rocks", { preset: "course", epochs: 1, viewSize: 64 });
 * const dir = await Deno.makeTempDir();
 * await saveClassifier(`${dir}/rock-model`, classifier);
 * const again = await loadClassifier(`${dir}/rock-model`, { trunkSha256: embedder.trunk.sha256 });
 * if (again.meta.classes.join() !== "Basalt,Highland" || again.meta.preprocessing.size !== 64) throw new Error("the same model");
 * for (const c of [classifier, again]) c.dispose();
 * embedder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveClassifier(dir: string, classifier: Classifier): Promise<void> {
  const clean = dir.replace(/\/+$/, "") || ".";
  await checkReplaceable(clean);
  const tmp = `${clean}.tmp-${Deno.pid}-${Date.now()}`;
  const old = `${clean}.old-${Deno.pid}-${Date.now()}`;
  try {
    await Deno.mkdir(tmp, { recursive: true });
    const parts = await Promise.all(
      PARAM_NAMES.map(async (n) => await headParamsOf(classifier)[n].data() as Float32Array),
    );
    const total = parts.reduce((s, p) => s + p.byteLength, 0);
    const bin = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bin.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    const modelJson = new TextEncoder().encode(JSON.stringify(
      {
        format: "layers-model",
        generatedBy: "rocks",
        convertedBy: null,
        modelTopology: topology(classifier.meta),
        weightsManifest: [{
          paths: ["weights.bin"],
          weights: PARAM_NAMES.map((n) => ({
            name: LAYER_WEIGHT_NAMES[n],
            shape: headParamsOf(classifier)[n].shape,
            dtype: "float32",
          })),
        }],
      },
      null,
      1,
    ));
    await writeFileSynced(`${tmp}/weights.bin`, bin);
    await writeFileSynced(`${tmp}/model.json`, modelJson);
    const meta: RocksJson = {
      ...classifier.meta,
      formatVersion: FORMAT_VERSION,
      files: { "model.json": await sha256Hex(modelJson), "weights.bin": await sha256Hex(bin) },
    };
    meta.metaSha256 = await sha256Hex(new TextEncoder().encode(metaText(meta)));
    await writeFileSynced(`${tmp}/rocks.json`, new TextEncoder().encode(metaText(meta)));
    // Swap: the old folder moves aside, the new one takes its name, the old one goes.
    let hadOld = false;
    try {
      await Deno.rename(clean, old);
      hadOld = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    try {
      await Deno.rename(tmp, clean);
    } catch (e) {
      if (hadOld) await Deno.rename(old, clean);
      throw e;
    }
    if (hadOld) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (e instanceof RocksError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError(
      "runtime",
      `Could not save the model to ${clean}: ${why}; nothing at ${clean} was changed`,
      clean,
    );
  }
}

/**
 * A save may replace only a model folder (one with `rocks.json`), an empty
 * folder or nothing: `--out` pointing at a folder of photos must not delete them.
 */
async function checkReplaceable(dir: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError("runtime", `Could not save the model to ${dir}: ${why}`, dir);
  }
  if (!st.isDirectory) {
    throw new RocksError(
      "usage",
      `Cannot save the model to ${dir}: it is a file, expected a model folder`,
      dir,
    );
  }
  let entries = 0;
  let model = false;
  for await (const e of Deno.readDir(dir)) {
    entries++;
    if (e.name === "rocks.json") model = true;
  }
  if (entries > 0 && !model) {
    throw new RocksError(
      "usage",
      `Cannot save the model to ${dir}: it holds ${entries} entr${
        entries === 1 ? "y" : "ies"
      } but no rocks.json, ` +
        `so it is not a model folder and will not be replaced; choose another --out`,
      dir,
    );
  }
}

async function readModelFile(dir: string, name: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(`${dir}/${name}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new RocksError(
        "model",
        `Model folder ${dir} has no ${name}: is it a folder saved by rocks train?`,
        dir,
      );
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError("model", `${dir}/${name} cannot be read: ${why}`, dir);
  }
}

/** What {@linkcode loadClassifier} checks the model against. */
export interface LoadExpectations {
  /**
   * The loaded trunk's checksum: the model must have been trained on it, or on a set of weights it
   * replaces (the same network stored otherwise; `sameNetwork()` in `trunk/weights.ts`).
   */
  trunkSha256?: string;
  /** The precision the caller's trunk runs at: the model's embeddings must have been made at the same. */
  precision?: Precision;
}

/**
 * Loads a classifier saved by {@linkcode saveClassifier}, checking the format
 * version, each file's checksum, every shape and (when given) the trunk.
 *
 * Requires --allow-read.
 * @param dir The model folder.
 * @param expect What the caller's trunk is.
 * @throws {RocksError} When a file is missing, altered, of another version or for another trunk.
 * @example
 * ```ts
 * import { loadClassifier, RocksError } from "../../mod.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/rocks.json`, JSON.stringify({ formatVersion: 99 }));
 * const e = await loadClassifier(dir).catch((e) => e);
 * if (!(e instanceof RocksError) || e.kind !== "model") throw new Error("a model error that says the version");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadClassifier(dir: string, expect: LoadExpectations = {}): Promise<Classifier> {
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) {
      throw new RocksError("model", `Model path ${dir} is a file, expected a model folder`, dir);
    }
  } catch (e) {
    if (e instanceof RocksError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new RocksError("model", `Model folder ${dir} does not exist`, dir);
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError("model", `Model folder ${dir} cannot be read: ${why}`, dir);
  }
  const rocksBytes = await readModelFile(dir, "rocks.json");
  let meta: RocksJson;
  try {
    meta = JSON.parse(new TextDecoder().decode(rocksBytes));
  } catch {
    throw new RocksError("model", `${dir}/rocks.json is not valid JSON: the file is damaged`, dir);
  }
  const version = (meta as unknown as { formatVersion?: unknown } | null)?.formatVersion;
  if (version === undefined) {
    throw new RocksError(
      "model",
      `${dir}/rocks.json has no formatVersion: expected a model folder saved by rocks (version ${FORMAT_VERSION})`,
      dir,
    );
  }
  if (version !== FORMAT_VERSION) {
    throw new RocksError(
      "model",
      `${dir} is model format version ${kindOf(version)}, this rocks reads version ${FORMAT_VERSION}`,
      dir,
    );
  }
  checkMeta(meta, dir);
  if (meta.metaSha256 !== undefined) {
    const { metaSha256, ...rest } = meta;
    if ((await sha256Hex(new TextEncoder().encode(metaText(rest)))) !== metaSha256) {
      throw new RocksError(
        "model",
        `${dir}/rocks.json was altered or damaged: its contents do not match its metaSha256`,
        dir,
      );
    }
  }
  for (const name of ["model.json", "weights.bin"]) {
    const bytes = await readModelFile(dir, name);
    const sum = await sha256Hex(bytes);
    if (sum !== meta.files?.[name]) {
      throw new RocksError(
        "model",
        `${dir}/${name} was altered or damaged: its sha256 does not match rocks.json`,
        dir,
      );
    }
  }
  if (expect.trunkSha256 && !(await sameNetwork(meta.trunk.sha256, expect.trunkSha256))) {
    throw new RocksError(
      "model",
      `${dir} was trained on trunk ${meta.trunk.id} (sha256 ${meta.trunk.sha256.slice(0, 12)}…), ` +
        `but the loaded trunk has sha256 ${expect.trunkSha256.slice(0, 12)}…, another network: ` +
        `train the model again with this rocks (rocks train <data-dir> --out ${dir})`,
      dir,
    );
  }
  const made = meta.trunk.precision ?? "fp32";
  if (expect.precision && expect.precision !== made) {
    throw new RocksError(
      "model",
      `${dir} was trained on ${made} embeddings, but this run makes ${expect.precision} ones: ` +
        `run with --precision ${made} (or leave --precision out: the model's is used)`,
      dir,
    );
  }
  const bin = await readModelFile(dir, "weights.bin");
  const { inputSize, hiddenSize, classes } = meta.head;
  if (classes !== meta.classes.length) {
    throw new RocksError(
      "model",
      `${dir}/rocks.json names ${meta.classes.length} classes but the head has ${classes}`,
    );
  }
  const shapes: Record<string, number[]> = {
    w1: [inputSize, hiddenSize],
    b1: [hiddenSize],
    w2: [hiddenSize, classes],
    b2: [classes],
  };
  const need = Object.values(shapes).reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0) * 4;
  if (bin.byteLength !== need) {
    throw new RocksError("model", `${dir}/weights.bin holds ${bin.byteLength} bytes, expected ${need}`, dir);
  }
  const floats = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
  let at = 0;
  const tensors: Record<string, tf.Tensor> = {};
  for (const n of PARAM_NAMES) {
    const shape = shapes[n]!;
    const size = shape.reduce((a, b) => a * b, 1);
    tensors[n] = tf.tensor(floats.slice(at, at + size), shape);
    at += size;
  }
  const { files: _files, metaSha256: _sum, ...rest } = meta;
  return makeClassifier(rest, tensors as unknown as HeadParams);
}

/**
 * A model folder's identity: the sha256 of its `weights.bin`, as recorded in `rocks.json`.
 *
 * Requires --allow-read.
 * @param modelDir The model folder.
 * @returns The hex digest, or `undefined` when `rocks.json` has none.
 * @throws {RocksError} When `rocks.json` cannot be read or parsed.
 */
export async function readModelId(modelDir: string): Promise<string | undefined> {
  const sum = (await readModelJson(modelDir))?.files?.["weights.bin"];
  return typeof sum === "string" ? sum : undefined;
}

/**
 * The precision a model's embeddings were made at, from its `rocks.json`
 * (`fp32` for models from before int8), so that predicting can run the same.
 *
 * Requires --allow-read.
 * @param modelDir The model folder.
 * @returns `fp32` or `int8`.
 * @throws {RocksError} When `rocks.json` cannot be read, parsed, or names another precision.
 */
export async function readModelPrecision(modelDir: string): Promise<Precision> {
  const precision = (await readModelJson(modelDir))?.trunk?.precision ?? "fp32";
  if (!(PRECISIONS as readonly unknown[]).includes(precision)) {
    throw new RocksError(
      "model",
      `${modelDir}/rocks.json names an unknown precision ${String(precision)}`,
      modelDir,
    );
  }
  return precision;
}

/**
 * The precision to embed at for a model: an explicit `fp32` or `int8` wins;
 * otherwise (none asked, or `auto`) the model's own; otherwise the default
 * (`auto`). A model folder that cannot be read counts as none here: loading
 * it, next, reports why in `loadClassifier`'s words.
 *
 * Requires --allow-read.
 * @param asked What the caller asked for, if anything.
 * @param modelDir The model folder, if any.
 * @returns The request to open the embedder with.
 */
export async function precisionForModel(
  asked: PrecisionRequest | undefined,
  modelDir: string | undefined,
): Promise<PrecisionRequest> {
  if (asked && asked !== "auto") return asked;
  const ofModel = modelDir ? await readModelPrecision(modelDir).catch(() => undefined) : undefined;
  return ofModel ?? DEFAULT_PRECISION;
}

/** `rocks.json` parsed, unchecked. */
// deno-lint-ignore no-explicit-any
async function readModelJson(modelDir: string): Promise<any> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${modelDir}/rocks.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new RocksError("model", `Model folder ${modelDir} has no rocks.json`, modelDir);
    }
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new RocksError("model", `${modelDir}/rocks.json is not valid JSON: the file is damaged`, modelDir);
  }
}
