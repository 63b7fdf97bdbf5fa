/**
 * Opening the embedder that a command's options describe. The library loads
 * here, on first use, not when the CLI starts.
 * @module
 */
import type { Classifier, Embedder } from "../mod.ts";
import { type Io, num, oneOf } from "./command.ts";
import type { EmbedderValues } from "./options.ts";

/** Most embedding workers: each holds its own ResNet50 (about 200 MB). */
export const MAX_WORKERS = 64;

/**
 * Opens the embedder the options describe: a worker pool (or this thread)
 * behind the cache. `rocks` refuses --cache with --no-cache before a command
 * runs.
 * @param values --backend, --workers, --cache, --no-cache, --max-pixels.
 * @param io Where warnings go (a cache that cannot be written, a worker that died).
 * @param photos How many photos there are, when known: no more workers start than photos.
 * @param modelDir A model the embeddings are for: without --precision, its precision is used.
 * @returns The embedder; `close()` it when done.
 */
export async function openEmbedderFor(
  values: EmbedderValues,
  io: Pick<Io, "err">,
  photos?: number,
  modelDir?: string,
): Promise<Embedder> {
  const rocks = await import("../mod.ts");
  const { parseBackendName } = await import("../lib/trunk/mod.ts");
  const { defaultCacheDir } = await import("../lib/embed/mod.ts");
  const requested = num(values, "workers", { integer: true, min: 0, max: MAX_WORKERS }) ??
    navigator.hardwareConcurrency ?? 1;
  // No more workers than photos: predicting one photo needs one trunk.
  const workers = photos === undefined ? requested : Math.min(requested, Math.max(1, photos));
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  const precision = await rocks.precisionForModel(askedPrecision(values), modelDir);
  return await rocks.openEmbedder({
    precision,
    backend: parseBackendName(values.backend ?? "auto"),
    workers,
    cache: values["no-cache"] ? false : values.cache ?? defaultCacheDir(),
    ...(maxPixels !== undefined ? { maxPixels } : {}),
    onWarning: (m: string) => io.err(`warning: ${m}`),
  });
}

/** `--precision`, checked (a usage error names the choices), or undefined when not given. */
export function askedPrecision(
  values: Pick<EmbedderValues, "precision">,
): "auto" | "fp32" | "int8" | undefined {
  return oneOf(values, "precision", ["auto", "fp32", "int8"] as const);
}

/**
 * Loads the model at `modelDir` for `embedder`: it must have been trained on
 * the same network, and, when --precision was given, at that precision.
 * @param embedder From {@linkcode openEmbedderFor}.
 * @param values The command's options.
 * @param modelDir The model folder.
 * @returns The classifier; `dispose()` it when done.
 */
export async function loadModelFor(
  embedder: Embedder,
  values: EmbedderValues,
  modelDir: string,
): Promise<Classifier> {
  const rocks = await import("../mod.ts");
  const precision = askedPrecision(values);
  return await rocks.loadClassifier(modelDir, {
    trunkSha256: embedder.trunk.sha256,
    ...(precision && precision !== "auto" ? { precision } : {}),
  });
}
