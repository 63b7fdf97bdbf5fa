/**
 * A classifier as one ONNX file that runs without rocks: onnxruntime from
 * Python, C#, Java, C++ or a browser (onnxruntime-web) runs it as it is.
 *
 * The graph (ONNX opset {@linkcode ONNX_OPSET}, IR version 7) computes what
 * `rocks predict` computes once a photo is cut into its view:
 *
 *   image [N, H, W, 3] float32, RGB 0–255
 *     → NCHW, RGB → BGR, minus the ImageNet mean [103.939, 116.779, 123.68] (Keras "caffe", no scaling)
 *     → ResNet50 (Keras v1 layout; every batch-norm folded into its convolution, ε = 1e-3, as rocks does)
 *     → global average pool → embedding [N, 2048]
 *     → unit length (when the model was trained so: `preprocessing.l2normalize`)
 *     → Gemm 2048→512 → ReLU → Gemm 512→C → LogSoftmax → log_probabilities [N, C]
 *     → Exp → probabilities [N, C]
 *
 * N, H and W are dynamic (ResNet50 is fully convolutional), but the head was
 * trained on views of one size S (`meta.preprocessing.size`, 224 or 448):
 * the caller cuts each photo as rocks does — shorter side to S, centre crop
 * S×S, anti-aliased resampling — and passes the pixels as they are.
 * The class names, S and the preprocessing are in the model's
 * `metadata_props` and `doc_string`.
 *
 * The protobuf is written by `protobufjs` from the ONNX schema's messages
 * this module uses (`onnx_schema.ts`).
 * @module
 */
import type * as Protobuf from "npm:protobufjs@8.8.1";
import { ONNX_PROTO } from "./onnx_schema.ts";
import { type Classifier, type ClassifierMeta, headParamsOf } from "./classifier.ts";
import { CAFFE_MEAN_BGR, EMBEDDING_SIZE } from "../trunk/facts.ts";
import { BN_EPSILON, convSpecs, STAGES } from "../trunk/resnet50.ts";
import { loadResnetWeights, type ResnetWeights, sameNetwork } from "../trunk/weights.ts";
import { RocksError } from "../util/errors.ts";
import { VERSION } from "../util/version.ts";

/** The ONNX operator set the exported graph uses (onnxruntime ≥ 1.7 runs it). */
export const ONNX_OPSET = 13;
/** The ONNX IR version written (the one that goes with opset 13). */
export const ONNX_IR_VERSION = 7;

/** One input or output of the exported graph. */
export interface OnnxValue {
  /** Its name in the graph (`image`, `log_probabilities`, `probabilities`, `embedding`). */
  name: string;
  /** Its shape: numbers are fixed, strings are dynamic (`batch`, `height`, `width`). */
  shape: (number | string)[];
  /** What it holds (also its `doc_string` in the graph). */
  description: string;
}

/** The inputs and outputs of a classifier's ONNX graph. */
export interface OnnxSignature {
  /** `image`. */
  inputs: OnnxValue[];
  /** `log_probabilities`, `probabilities`, `embedding`. */
  outputs: OnnxValue[];
}

/** Options of {@linkcode exportOnnx} and {@linkcode writeOnnx}. */
export interface OnnxExportOptions {
  /**
   * The trunk's weights, as `loadResnetWeights()` returns them; their
   * checksum must be the one the classifier was trained on.
   * @default read and verified with `loadResnetWeights()`
   */
  weights?: ResnetWeights;
}

/** What {@linkcode writeOnnx} wrote. */
export interface OnnxFile extends OnnxSignature {
  /** The file. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** The operator set. */
  opset: number;
  /** The side S of the square view the photos must be cut to. */
  viewSize: number;
}

/** How a photo becomes the graph's input, in words (the metadata's and the README's). */
export function viewDescription(size: number): string {
  return `shorter side to ${size}, centre crop ${size}×${size}, anti-aliased ` +
    `(area averaging when shrinking, bilinear when enlarging)`;
}

/**
 * The inputs and outputs of the graph {@linkcode exportOnnx} writes for a classifier.
 * @param meta The classifier's facts.
 */
export function onnxSignature(meta: ClassifierMeta): OnnxSignature {
  const size = meta.preprocessing.size;
  const c = meta.classes.length;
  const classes = meta.classes.join(", ");
  return {
    inputs: [{
      name: "image",
      shape: ["batch", "height", "width", 3],
      description:
        `RGB photos as float32 0–255, NHWC, cut as the model was trained: ${viewDescription(size)}; ` +
        `the graph does the rest (BGR, mean subtraction, ResNet50, head)`,
    }],
    outputs: [
      {
        name: "log_probabilities",
        shape: ["batch", c],
        description: `log-probability of each class (${classes})`,
      },
      { name: "probabilities", shape: ["batch", c], description: `probability of each class (${classes})` },
      {
        name: "embedding",
        shape: ["batch", EMBEDDING_SIZE],
        description: "the trunk's 2048-d global average pool, before any unit-length scaling",
      },
    ],
  };
}

// ---------------------------------------------------------------- protobuf

/** `TensorProto.DataType` values used here. */
const FLOAT = 1;
const INT64 = 7;
/** `AttributeProto.AttributeType` values used here. */
const ATTR_INT = 2;
const ATTR_INTS = 7;

let modelProto: Protobuf.Type | undefined;

/**
 * The `onnx.ModelProto` message type, parsed once from {@linkcode ONNX_PROTO}.
 * protobufjs loads here, at the first export, not with `mod.ts`.
 */
async function modelType(): Promise<Protobuf.Type> {
  if (modelProto) return modelProto;
  const protobuf = await import("npm:protobufjs@8.8.1");
  return modelProto = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType("onnx.ModelProto");
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a typed array in little-endian order, as ONNX's `raw_data` wants them. */
function rawData(a: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  a.forEach((v: number | bigint, i: number) =>
    typeof v === "bigint" ? view.setBigInt64(i * 8, v, true) : view.setFloat32(i * 4, v, true)
  );
  return out;
}

/** A node attribute, as the encoder takes it. */
type Attribute = { name: string; type: number; i?: number; ints?: number[] };

/** The graph being built: nodes in order, initializers by name. */
class Graph {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];

  /** Adds a constant tensor. */
  constant(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const dataType = data instanceof BigInt64Array ? INT64 : FLOAT;
    this.initializers.push({ name, dims, data_type: dataType, raw_data: rawData(data) });
    return name;
  }

  /**
   * Adds a node.
   * @param op The operator.
   * @param inputs Its inputs' names.
   * @param output Its output's name (also the node's).
   * @param attrs Whole-number attributes (a list for an array).
   */
  node(op: string, inputs: string[], output: string, attrs: Record<string, number | number[]> = {}): string {
    const attribute: Attribute[] = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v) ? { name, type: ATTR_INTS, ints: v } : { name, type: ATTR_INT, i: v }
    );
    this.nodes.push({ input: inputs, output: [output], name: output, op_type: op, attribute });
    return output;
  }
}

/** A graph input or output as `ValueInfoProto`. */
function valueInfo(v: OnnxValue): object {
  const dim = v.shape.map((d) => typeof d === "number" ? { dim_value: d } : { dim_param: d });
  return {
    name: v.name,
    doc_string: v.description,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim } } },
  };
}

// ---------------------------------------------------------------- the network

/** One weight tensor of the trunk, its name and shape checked. */
function tensorOf(weights: ResnetWeights, name: string, shape: number[]): Float32Array {
  const t = weights.tensors.get(name);
  if (!t) throw new RocksError("model", `Weights lack tensor ${name}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.shape.join(",") !== shape.join(",") || t.data.length !== size) {
    throw new RocksError("model", `Weight ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  return t.data;
}

/**
 * Adds the trunk: caffe preprocessing, ResNet50 with batch-norm folded into
 * each convolution exactly as `buildTrunk` folds it, the global average pool.
 * @returns The name of the `[N, 2048]` embedding.
 */
function addTrunk(g: Graph, weights: ResnetWeights, input: string): string {
  // Caffe: NHWC → NCHW, RGB → BGR, minus the BGR mean.
  let x = g.node("Transpose", [input], "nchw", { perm: [0, 3, 1, 2] });
  const bgr = g.constant("bgr_order", [3], new BigInt64Array([2n, 1n, 0n]));
  x = g.node("Gather", [x, bgr], "bgr", { axis: 1 });
  const mean = g.constant("caffe_mean_bgr", [1, 3, 1, 1], new Float32Array(CAFFE_MEAN_BGR));
  x = g.node("Sub", [x, mean], "caffe");

  // Every convolution, with its batch-norm folded in: w' = w·γ/√(σ²+ε), b' = (b−μ)·γ/√(σ²+ε) + β.
  const specs = new Map(convSpecs().map((s) => [s.name, s]));
  const conv = (from: string, name: string, relu: boolean): string => {
    const { k, cin, cout, stride, bn } = specs.get(name)!;
    const kernel = tensorOf(weights, `${name}/kernel`, [k, k, cin, cout]);
    const b = tensorOf(weights, `${name}/bias`, [cout]);
    const gamma = tensorOf(weights, `${bn}/gamma`, [cout]);
    const beta = tensorOf(weights, `${bn}/beta`, [cout]);
    const mu = tensorOf(weights, `${bn}/moving_mean`, [cout]);
    const variance = tensorOf(weights, `${bn}/moving_variance`, [cout]);
    const scale = new Float64Array(cout);
    const bias = new Float32Array(cout);
    for (let o = 0; o < cout; o++) {
      scale[o] = gamma[o]! / Math.sqrt(variance[o]! + BN_EPSILON);
      bias[o] = (b[o]! - mu[o]!) * scale[o]! + beta[o]!;
    }
    // Keras [k, k, cin, cout] → ONNX [cout, cin, k, k].
    const w = new Float32Array(kernel.length);
    for (let y = 0; y < k; y++) {
      for (let xk = 0; xk < k; xk++) {
        for (let i = 0; i < cin; i++) {
          const at = ((y * k + xk) * cin + i) * cout;
          for (let o = 0; o < cout; o++) w[((o * cin + i) * k + y) * k + xk] = kernel[at + o]! * scale[o]!;
        }
      }
    }
    // conv1 pads 3 (Keras' ZeroPadding2D), a 3×3 pads 1 ("same" at stride 1), a 1×1 none ("valid").
    const pad = (k - 1) / 2;
    const out = g.node(
      "Conv",
      [
        from,
        g.constant(`${name}/weight`, [cout, cin, k, k], w),
        g.constant(`${name}/bias_folded`, [cout], bias),
      ],
      name,
      {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
      },
    );
    return relu ? g.node("Relu", [out], `${name}_relu`) : out;
  };

  // Stem: the 7×7 convolution, then a 3×3 max pool at stride 2 over a 1-pixel border (ReLU's outputs
  // are ≥ 0, so Keras' zero border and ONNX's ignored one give the same maxima).
  x = conv(x, "conv1", true);
  x = g.node("MaxPool", [x], "pool1", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  // Bottleneck blocks: relu(1×1 → 3×3 → 1×1 + shortcut).
  for (const { stage, blocks } of STAGES) {
    for (let b = 0; b < blocks; b++) {
      const block = `${stage}${"abcdef"[b]}`;
      let y = conv(x, `res${block}_branch2a`, true);
      y = conv(y, `res${block}_branch2b`, true);
      y = conv(y, `res${block}_branch2c`, false);
      const shortcut = b === 0 ? conv(x, `res${block}_branch1`, false) : x;
      x = g.node("Relu", [g.node("Add", [y, shortcut], `res${block}`)], `res${block}_relu`);
    }
  }
  // Global average pool: [N, 2048, h, w] → [N, 2048].
  x = g.node("GlobalAveragePool", [x], "avg_pool");
  return g.node("Flatten", [x], "embedding", { axis: 1 });
}

/** Adds the head (and the unit-length scaling before it); returns the logits' name. */
async function addHead(g: Graph, classifier: Classifier, embedding: string): Promise<string> {
  const { inputSize, hiddenSize, classes } = classifier.meta.head;
  if (inputSize !== EMBEDDING_SIZE || classes !== classifier.meta.classes.length) {
    throw new RocksError(
      "model",
      `The head takes ${inputSize} inputs to ${classes} classes; the export needs ${EMBEDDING_SIZE} inputs ` +
        `and one output per class (${classifier.meta.classes.length})`,
    );
  }
  let x = embedding;
  if (classifier.meta.preprocessing.l2normalize) {
    // x / max(‖x‖₂, 1e-12): a row of zeros stays zeros, as rocks' l2normalizeRows leaves it.
    const norm = g.node("ReduceL2", [x], "embedding_norm", { axes: [1], keepdims: 1 });
    const safe = g.node(
      "Max",
      [norm, g.constant("norm_floor", [1], new Float32Array([1e-12]))],
      "embedding_norm_safe",
    );
    x = g.node("Div", [x, safe], "embedding_unit");
  }
  // data(), not dataSync(): WebGPU cannot read back synchronously.
  const p = headParamsOf(classifier);
  const [w1, b1, w2, b2] = await Promise.all([p.w1, p.b1, p.w2, p.b2].map((t) => t.data())) as Float32Array[];
  const h = g.node("Gemm", [
    x,
    g.constant("head/w1", [inputSize, hiddenSize], w1!),
    g.constant("head/b1", [hiddenSize], b1!),
  ], "head_hidden");
  x = g.node("Relu", [h], "head_hidden_relu"); // dropout is training's only
  return g.node("Gemm", [
    x,
    g.constant("head/w2", [hiddenSize, classes], w2!),
    g.constant("head/b2", [classes], b2!),
  ], "logits");
}

/** The model's `metadata_props`: what a caller needs to know without reading the graph. */
function metadata(
  meta: ClassifierMeta,
  signature: OnnxSignature,
  weights: ResnetWeights,
): Record<string, string> {
  const p = meta.preprocessing;
  return {
    classes: JSON.stringify(meta.classes),
    view_size: String(p.size),
    view: viewDescription(p.size),
    input: signature.inputs[0]!.description,
    preprocessing_in_graph: `${p.mode}: RGB → BGR, minus mean [${p.meanBgr.join(", ")}] (BGR order), ` +
      `scale ${p.scale}${p.l2normalize ? "; embedding scaled to unit length before the head" : ""}`,
    l2normalize: String(p.l2normalize === true),
    trunk_id: weights.trunkId,
    trunk_sha256: weights.sha256,
    rocks_version: VERSION,
    created: meta.created,
    preset: meta.training.preset ?? "custom",
  };
}

/**
 * Writes a classifier — the ResNet50 trunk and its trained head — as the
 * bytes of one ONNX model (see this module's doc for the graph; about 98 MB).
 * The classifier's tensors are read, not changed or disposed.
 *
 * Requires --allow-read for the weights when `options.weights` is not given.
 * @param classifier A classifier from `trainFolder` or `loadClassifier`.
 * @param options The trunk's weights, when already loaded.
 * @returns The serialised `onnx.ModelProto`.
 * @throws {RocksError} (kind `model`) when the weights are not the network the classifier was trained on.
 * @example
 * ```ts
 * import { exportOnnx, openEmbedder, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, "../shared/data/space-rocks", { preset: "course", epochs: 1, viewSize: 64 });
 * const onnx = await exportOnnx(classifier);
 * // An onnx.ModelProto starts with field 1, ir_version (7).
 * if (onnx[0] !== 0x08 || onnx[1] !== 7 || onnx.length < 90e6) throw new Error("a whole ResNet50 in ONNX");
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export async function exportOnnx(
  classifier: Classifier,
  options: OnnxExportOptions = {},
): Promise<Uint8Array> {
  const meta = classifier.meta;
  const weights = options.weights ?? await loadResnetWeights();
  if (!(await sameNetwork(meta.trunk.sha256, weights.sha256))) {
    throw new RocksError(
      "model",
      `The classifier was trained on trunk ${meta.trunk.id} (sha256 ${meta.trunk.sha256.slice(0, 12)}…), ` +
        `but the weights given have sha256 ${weights.sha256.slice(0, 12)}…`,
    );
  }
  const signature = onnxSignature(meta);
  const g = new Graph();
  const embedding = addTrunk(g, weights, "image");
  const logits = await addHead(g, classifier, embedding);
  g.node("LogSoftmax", [logits], "log_probabilities", { axis: 1 });
  g.node("Exp", ["log_probabilities"], "probabilities");

  const size = meta.preprocessing.size;
  const doc = `rocks ${VERSION}: ${meta.classes.join(" / ")} classifier, a frozen ImageNet ResNet50 ` +
    `and a trained head. Input "image": ${signature.inputs[0]!.description}. ` +
    `Outputs: log_probabilities and probabilities [batch, ${meta.classes.length}] over ` +
    `${JSON.stringify(meta.classes)}, embedding [batch, 2048]. Trained on ${size}×${size} views.`;
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: "", version: ONNX_OPSET }],
    producer_name: "rocks",
    producer_version: VERSION,
    doc_string: doc,
    graph: {
      name: "rocks",
      doc_string: doc,
      node: g.nodes,
      initializer: g.initializers,
      input: signature.inputs.map(valueInfo),
      output: signature.outputs.map(valueInfo),
    },
    metadata_props: Object.entries(metadata(meta, signature, weights)).map(([key, value]) => ({
      key,
      value,
    })),
  };
  const bytes = (await modelType()).encode(model).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Exports a classifier with {@linkcode exportOnnx} and writes it to a file
 * (through a temporary file beside it, renamed into place once complete).
 *
 * Requires --allow-write for the file's folder and --allow-read for the weights.
 * @param path The `.onnx` file to write.
 * @param classifier The classifier.
 * @param options The trunk's weights, when already loaded.
 * @returns What was written: path, size, inputs, outputs, the view size.
 * @throws {RocksError} When the weights do not match the classifier or the file cannot be written.
 * @example
 * ```ts
 * import { openEmbedder, trainFolder, writeOnnx } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const { classifier } = await trainFolder(embedder, "../shared/data/space-rocks", { preset: "course", epochs: 1, viewSize: 64 });
 * const dir = await Deno.makeTempDir();
 * const file = await writeOnnx(`${dir}/rock-model.onnx`, classifier);
 * // Photos are cut to 64×64 for this model; the graph's outputs are per class.
 * if (file.viewSize !== 64 || file.outputs[1]!.shape.join() !== "batch,2") throw new Error("its contract");
 * if ((await Deno.stat(file.path)).size !== file.bytes) throw new Error("the whole file");
 * classifier.dispose();
 * embedder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeOnnx(
  path: string,
  classifier: Classifier,
  options: OnnxExportOptions = {},
): Promise<OnnxFile> {
  const bytes = await exportOnnx(classifier, options);
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError("runtime", `Cannot write ${path}: ${why}`, path);
  }
  return {
    path,
    bytes: bytes.length,
    opset: ONNX_OPSET,
    viewSize: classifier.meta.preprocessing.size,
    ...onnxSignature(classifier.meta),
  };
}
