/**
 * Opening the embedder that a command's options describe. The library loads
 * here, on first use, not when the CLI starts.
 * @module
 */
import type { Embedder } from "../mod.ts";
import { type Io, num } from "./command.ts";
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
 * @returns The embedder; `close()` it when done.
 */
export async function openEmbedderFor(
  values: EmbedderValues,
  io: Pick<Io, "err">,
  photos?: number,
): Promise<Embedder> {
  const rocks = await import("../mod.ts");
  const { parseBackendName } = await import("../lib/trunk/mod.ts");
  const { defaultCacheDir } = await import("../lib/embed/mod.ts");
  const requested = num(values, "workers", { integer: true, min: 0, max: MAX_WORKERS }) ??
    navigator.hardwareConcurrency ?? 1;
  // No more workers than photos: predicting one photo needs one trunk.
  const workers = photos === undefined ? requested : Math.min(requested, Math.max(1, photos));
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  return await rocks.openEmbedder({
    backend: parseBackendName(values.backend ?? "auto"),
    workers,
    cache: values["no-cache"] ? false : values.cache ?? defaultCacheDir(),
    ...(maxPixels !== undefined ? { maxPixels } : {}),
    onWarning: (m: string) => io.err(`warning: ${m}`),
  });
}
