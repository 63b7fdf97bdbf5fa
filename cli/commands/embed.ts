/**
 * `rocks embed <data-dir>...`: every embedding a later `train`,
 * `eval-recipe`, `eval` or `predict` with the same recipe will ask for,
 * computed into the cache and nothing more; with `--shard I/N` (or a
 * Kubernetes Indexed Job's or a Slurm job array's environment) only one
 * machine's share.
 * @module
 */
import { RocksError } from "../../lib/util/errors.ts";
import { defineCommand, described, valued } from "../command.ts";
import { openEmbedderFor } from "../embedder.ts";
import { backendLine } from "../format.ts";
import {
  backend,
  cache,
  json,
  maxPixels,
  precision,
  preset,
  progress,
  quiet,
  RECIPE_OPTIONS,
  recipeValues,
  seed,
  workers,
} from "../options.ts";
import { formatDuration } from "../progress_bar.ts";
import { screen } from "../screen.ts";

/** A progress line is printed every this many views (and at least every {@linkcode LINE_SECONDS}). */
export const LINE_VIEWS = 1000;
/** Seconds between progress lines at most, while views are being embedded. */
export const LINE_SECONDS = 60;

/** `rocks embed`. */
export const embed = defineCommand({
  name: "embed",
  summary: "embed a photo archive into the cache beforehand, or one shard of it",
  usage: "embed <data-dir>...",
  description: `Computes every embedding that rocks train / eval-recipe with the same recipe,
and rocks eval / predict with a model trained by it, will ask for, stores them
in the cache, and stops there: each photo's centre view at the recipe's view
size and, with --augment crop, its crop of every epoch (whichever side of the
split it falls on). Class folders are listed as rocks train lists them, so
crops get the names training gives them; photos directly in a folder get their
centre view (what predict asks).

On many machines: --shard I/N embeds only the photos whose content hash mod N
is I (of their bytes, not their path), so N machines that see the same photos
split them exactly with no coordinator. Without --shard, a Kubernetes Indexed
Job (JOB_COMPLETION_INDEX with ROCKS_SHARDS) or a Slurm job array
(SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT) gives the share, and the
command says which. Merge the caches with rocks cache merge (or copy the
folders into one). Stopped or killed, it keeps every record written; run it
again to do only what is missing. A line every ${LINE_VIEWS} views says how far it is.`,
  options: [
    described(preset, { help: "rocks (default) or course: the recipe train will run" }),
    ...RECIPE_OPTIONS,
    described(seed, { help: "seed of the crops, as given to train (default 1)" }),
    valued(
      "shard",
      "I/N",
      "embed only shard I of N (0 ≤ I < N), photos dealt by content hash\n" +
        "(default: from a Kubernetes Indexed Job or a Slurm job array, else all)",
    ),
    maxPixels,
    workers,
    cache,
    backend,
    precision,
    described(json, {
      help: "print one JSON object: shard, photos, views, embedded, cached, failed, skipped",
    }),
    quiet,
    described(progress, {
      help:
        "draw the progress bar on stderr even when it is not a terminal\nor with --json (stdout stays clean)",
    }),
  ] as const,
  positionals: {
    min: 1,
    max: Infinity,
    refusal: () => `embed takes at least one data folder: see rocks embed --help`,
  },
  watchesSignal: true,
  async run(dataDirs, values, io) {
    const rocks = await import("../../mod.ts");
    const { parseShard, shardFromEnv } = await import("../../lib/embed/mod.ts");
    const recipe = {
      ...rocks.presetOptions(values.preset ?? rocks.DEFAULT_PRESET),
      ...recipeValues(values),
    };
    const shard = values.shard !== undefined
      ? { ...parseShard(values.shard), source: "--shard" }
      : shardFromEnv((name) => Deno.env.get(name));
    const json = values.json === true;
    const scr = screen(io, values);
    const say = json ? scr.err : scr.out;
    const started = performance.now();
    const embedder = await openEmbedderFor(values, scr);
    try {
      if (!embedder.cache) {
        throw new RocksError(
          "runtime",
          `rocks embed needs a cache to write to, and ${
            values.cache ?? "the cache folder"
          } cannot be written`,
        );
      }
      say(backendLine(embedder));
      const views = recipe.augment === "crop" ? `centre and ${recipe.epochs} crops` : "centre";
      say(
        `Recipe: ${recipe.preset}, ${recipe.viewSize} px, ${views} a photo${
          recipe.augment === "crop" ? `, seed ${recipe.seed ?? 1}` : ""
        }; cache ${embedder.cache.dir}`,
      );
      if (shard) say(`Shard ${shard.index}/${shard.count} (from ${shard.source})`);
      let lastLine = { views: 0, at: performance.now() };
      let t0 = performance.now();
      const result = await rocks.embedFolder(embedder, dataDirs, {
        ...recipe,
        ...(shard ? { shard } : {}),
        onFolder: (f) =>
          say(
            `Data: ${f.root}: ${f.photos} photos${f.classes ? ` in ${f.classes} class folders` : ""}`,
          ),
        onShard: (photos, total) => {
          say(
            `${
              shard ? `Shard ${shard.index}/${shard.count}: ` : ""
            }${photos} photos, ${total} views to embed`,
          );
          scr.start("embedding", "views");
          t0 = performance.now();
          lastLine = { views: 0, at: t0 };
        },
        onProgress: (c) => {
          scr.update(c.done, c.total);
          const now = performance.now();
          const crossed = Math.floor(c.done / LINE_VIEWS) > Math.floor(lastLine.views / LINE_VIEWS);
          if (c.done < c.total && (crossed || now - lastLine.at > LINE_SECONDS * 1000)) {
            const rate = (c.done - lastLine.views) / ((now - lastLine.at) / 1000);
            const overall = c.done / ((now - t0) / 1000);
            say(
              `Embedded ${c.done}/${c.total} views (${c.embedded} by the trunk, ${c.cached} cached, ${c.failed} failed); ` +
                `${rate.toFixed(1)} views/s, ${formatDuration((c.total - c.done) / overall)} left`,
            );
            lastLine = { views: c.done, at: now };
          }
        },
        onSkip: (s) => scr.err(`Skipping ${s.file}: ${s.reason}`),
        ...(io.signal ? { signal: io.signal } : {}),
      }).catch((e) => {
        if (e instanceof RocksError && e.kind === "interrupted") {
          throw new RocksError(
            "interrupted",
            `${e.message}: every embedding computed so far is in ${
              embedder.cache!.dir
            }; run the same command to finish`,
          );
        }
        throw e;
      });
      scr.finish();
      const seconds = (performance.now() - started) / 1000;
      const stats = embedder.cache.stats;
      if (json) {
        io.out(JSON.stringify({
          dataDirs,
          shard: shard ?? null,
          recipe: {
            preset: recipe.preset,
            viewSize: recipe.viewSize,
            augment: recipe.augment,
            epochs: recipe.epochs,
            seed: recipe.seed ?? 1,
          },
          photos: result.photos,
          inShard: result.inShard,
          views: result.total,
          embedded: result.embedded,
          cached: result.cached,
          failed: result.failed,
          trunkRuns: stats.misses - result.failed,
          cacheHits: stats.hits,
          corrupt: stats.corrupt,
          writeErrors: stats.writeErrors,
          skipped: result.skipped,
          cache: embedder.cache.dir,
          backend: embedder.backend.name,
          workers: embedder.workers,
          shardSeconds: result.shardSeconds,
          embedSeconds: result.embedSeconds,
          viewsPerSecond: result.embedSeconds > 0 ? result.embedded / result.embedSeconds : null,
          seconds,
        }));
      } else {
        say(
          `\nDone: ${result.total} views of ${result.inShard} photos in ${seconds.toFixed(1)} s: ` +
            `${result.embedded} embedded by the trunk${
              result.embedSeconds > 0 && result.embedded
                ? ` (${(result.embedded / result.embedSeconds).toFixed(1)} views/s)`
                : ""
            }, ${result.cached} found cached, ${result.skipped.length} photos skipped`,
        );
        if (stats.writeErrors) {
          say(`warning: ${stats.writeErrors} embeddings could not be written to the cache`);
        }
        say(`Cache: ${embedder.cache.dir}`);
      }
      // Nothing useful: every photo of a non-empty share failed.
      return result.inShard > 0 && result.failed === result.total ? 1 : 0;
    } finally {
      scr.finish();
      embedder.close();
    }
  },
});
