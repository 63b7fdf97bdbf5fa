/**
 * What a training run embeds, and when: the test photos' centre views once,
 * the training photos' centre views once (`augment: "none"`) or a fresh
 * random crop of each per epoch (`augment: "crop"`).
 *
 * A crop depends only on (seed, epoch, photo), not on the order the photos
 * come in, so it is reproducible, cacheable and can be embedded ahead:
 * several epochs' crops go to the embedder in one list, photo by photo, so a
 * pool stays busy across steps and decodes each photo once for all its crops
 * (at most {@linkcode PREFETCH_VIEWS} views at a time). Photos that cannot
 * be read are reported once, as skipped, and counted nowhere else.
 * @module
 */
import type { Sample, Skipped } from "../data/sample.ts";
import type { EmbedFn, EmbedJob, EmbedResult } from "../embed/job.ts";
import { embedInRuns } from "../embed/schedule.ts";
import { sizedView, type ViewName } from "../image/view.ts";
import { hashSeed } from "../util/rng.ts";

/** Random crops embedded ahead of the steps that use them, at most this many at a time (8 KiB each). */
export const PREFETCH_VIEWS = 4096;

/** A photo and its embedding. */
export interface Row {
  /** The photo. */
  sample: Sample;
  /** Its view's 2048 floats. */
  embedding: Float32Array;
}

/** What the feed needs of the recipe. */
export interface FeedOptions {
  /** Seed of the crops. */
  seed: number;
  /** Side of each view. */
  viewSize: number;
  /** Epochs the crops are drawn for. */
  epochs: number;
  /** A photo that could not be embedded, as soon as it is found. */
  onSkip?: (skipped: Skipped) => void;
  /** A stop request, heard between embedding calls. */
  signal?: AbortSignal;
}

/** A training run's supply of embeddings. */
export interface Feed {
  /** The centre view of each photo; those that cannot be read are skipped. */
  centre(samples: Sample[]): Promise<Row[]>;
  /**
   * This epoch's crop of each photo of `batch`; those that cannot be read are skipped. The first call for
   * an epoch embeds the crops of `pool` for it and the next epochs, as far as {@linkcode PREFETCH_VIEWS} allows.
   */
  crops(epoch: number, batch: Sample[], pool: Sample[]): Promise<Row[]>;
  /** Photos skipped so far, in the order found. */
  readonly skipped: Skipped[];
  /** Views embedded and used so far. */
  readonly embedded: number;
}

/** The crop of `sample` that epoch `epoch` of a run seeded `seed` trains on. */
export function cropView(seed: number, epoch: number, sample: Sample, size: number): ViewName {
  return sizedView(`crop:${hashSeed(seed, "crop", epoch, sample.name)}`, size);
}

/**
 * Starts a feed over an embedder.
 * @param embed The embedder's function.
 * @param options The recipe's seed, view size and epochs; skip and stop hooks.
 * @returns The feed.
 */
export function createFeed(embed: EmbedFn, options: FeedOptions): Feed {
  const skipped: Skipped[] = [];
  let embedded = 0;
  const run = (jobs: EmbedJob[]) =>
    embedInRuns(embed, jobs, { ...(options.signal ? { signal: options.signal } : {}), what: "Training" });
  // Keeps the photos that embedded; reports the others as skipped.
  const keep = (samples: Sample[], results: EmbedResult[]): Row[] => {
    const rows: Row[] = [];
    results.forEach((r, i) => {
      const sample = samples[i]!;
      if ("embedding" in r) rows.push({ sample, embedding: r.embedding });
      else {
        const entry = { file: sample.name, reason: r.error };
        skipped.push(entry);
        options.onSkip?.(entry);
      }
    });
    embedded += rows.length;
    return rows;
  };
  const centre = sizedView("centre", options.viewSize);
  const ahead = new Map<number, Map<Sample, EmbedResult>>();
  const cropsOf = async (epoch: number, pool: Sample[]): Promise<Map<Sample, EmbedResult>> => {
    ahead.delete(epoch - 1);
    if (!ahead.has(epoch)) {
      const span = Math.max(1, Math.floor(PREFETCH_VIEWS / pool.length));
      const epochs = Array.from({ length: Math.min(span, options.epochs - epoch + 1) }, (_, i) => epoch + i);
      const wanted = pool.flatMap((s) => epochs.map((e) => ({ s, e })));
      const results = await run(
        wanted.map(({ s, e }) => ({ path: s.path, view: cropView(options.seed, e, s, options.viewSize) })),
      );
      for (const e of epochs) ahead.set(e, new Map());
      wanted.forEach(({ s, e }, i) => ahead.get(e)!.set(s, results[i]!));
    }
    return ahead.get(epoch)!;
  };
  return {
    centre: async (samples) => keep(samples, await run(samples.map((s) => ({ path: s.path, view: centre })))),
    crops: async (epoch, batch, pool) => {
      const got = await cropsOf(epoch, pool);
      return keep(batch, batch.map((s) => got.get(s)!));
    },
    skipped,
    get embedded() {
      return embedded;
    },
  };
}
