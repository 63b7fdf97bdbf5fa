/**
 * What a training recipe will ask the embedder for, so that it can be
 * embedded beforehand, on this machine or shared out over many
 * (`rocks embed`): then `train`, `eval-recipe`, `eval` and `predict` with the
 * same recipe run no trunk pass for any of those photos.
 *
 * Which photos a run tests on and which it trains on depends on the split,
 * so the plan is the superset: every photo's centre view at the recipe's
 * view size (what the test side, a training side without augmentation,
 * `eval` and `predict` ask for), and with `augment: "crop"` every photo's
 * crop for every epoch, named as training names them ({@linkcode cropView}:
 * from the seed, the epoch and the photo's path under its data folder, so a
 * folder must be embedded under the same layout it is trained from).
 * @module
 */
import type { Dataset, Sample, Skipped } from "../data/sample.ts";
import { scanDataset } from "../data/scan.ts";
import type { Embedder } from "../embed/embedder.ts";
import { embedShare, type EmbedShareOptions, type SharePhoto, type ShareResult } from "../embed/share.ts";
import { isImageName } from "../image/read_photo.ts";
import { sizedView, type ViewName } from "../image/view.ts";
import { RocksError } from "../util/errors.ts";
import { cropView } from "./feed.ts";
import { resolveTrainOptions, type TrainOptions } from "./options.ts";

/**
 * The views of one photo that a recipe may ask for: its centre view, then
 * (with `augment: "crop"`) its crop of each epoch, at the recipe's view size.
 * @param sample The photo (its `name` is relative to its data folder).
 * @param options The recipe, as given to training (defaults filled in the same way).
 * @returns The view names, centre first.
 * @example
 * ```ts
 * import { recipeViews } from "./plan.ts";
 * const sample = { path: "data/Basalt/a.jpg", name: "Basalt/a.jpg", label: 0, group: "a" };
 * if (recipeViews(sample, { preset: "course" }).length !== 1 + 5) throw new Error("centre and 5 crops");
 * if (recipeViews(sample, { preset: "rocks" }).join() !== "centre@448") throw new Error("the centre at 448 px");
 * ```
 */
export function recipeViews(sample: Sample, options: TrainOptions = {}): ViewName[] {
  const o = resolveTrainOptions(options);
  const views: ViewName[] = [sizedView("centre", o.viewSize)];
  if (o.augment === "crop") {
    for (let epoch = 1; epoch <= o.epochs; epoch++) views.push(cropView(o.seed, epoch, sample, o.viewSize));
  }
  return views;
}

/** Options for {@linkcode embedFolder}: the recipe, and which share to embed. */
export interface EmbedFolderOptions extends TrainOptions, EmbedShareOptions {
  /** Called once each folder is listed, with its photos. */
  onFolder?: (folder: { root: string; photos: number; classes: number }) => void;
}

/** What {@linkcode embedFolder} did. */
export interface EmbedFolderResult extends ShareResult {
  /** Each folder: its photos and class folders. */
  folders: { root: string; photos: number; classes: number }[];
  /** Files the listing left out (not photos), and the photos of the share that could not be read. */
  skipped: Skipped[];
}

/**
 * The photos of a data folder with the views a recipe asks of each: the
 * photos of its class folders as training scans them (centre and crops), and
 * photos directly in it (a folder to predict) with their centre view only.
 */
async function folderPhotos(
  data: string | Dataset,
  o: TrainOptions,
): Promise<{ root: string; photos: SharePhoto[]; classes: number; skipped: Skipped[] }> {
  const centre = [sizedView("centre", resolveTrainOptions(o).viewSize)];
  const ofSamples = (d: Dataset) =>
    d.samples.map((s) => ({ path: s.path, name: s.name, views: recipeViews(s, o) }));
  if (typeof data !== "string") {
    return { root: data.root, photos: ofSamples(data), classes: data.classes.length, skipped: data.skipped };
  }
  const root = data;
  const st = await Deno.stat(root).catch(() => null);
  if (!st) throw new RocksError("input", `Data folder ${root} does not exist`, root);
  if (!st.isDirectory) {
    throw new RocksError("input", `Data folder ${root} is a file, expected a folder`, root);
  }
  const loose: SharePhoto[] = [];
  let folders = 0;
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) if (!e.name.startsWith(".")) names.push(e.name);
  for (const name of names.sort()) {
    const info = await Deno.stat(`${root}/${name}`).catch(() => null);
    if (info?.isDirectory) folders++;
    else if (info?.isFile && isImageName(name)) loose.push({ path: `${root}/${name}`, name, views: centre });
  }
  if (folders === 0) return { root, photos: loose, classes: 0, skipped: [] };
  let dataset: Dataset;
  try {
    dataset = await scanDataset(root, { minClasses: 1, emptyClasses: "skip", findDuplicates: false });
  } catch (e) {
    if (!(e instanceof RocksError) || loose.length === 0) throw e;
    return { root, photos: loose, classes: 0, skipped: [] };
  }
  return {
    root,
    photos: [...loose, ...ofSamples(dataset)],
    classes: dataset.classes.length,
    skipped: dataset.skipped,
  };
}

/**
 * Embeds, into the embedder's cache, every view a recipe will ask of the
 * photos of one or more folders ({@linkcode recipeViews}), or only one
 * shard's share of them: after it, `train` / `eval-recipe` with the recipe,
 * and `eval` / `predict` of a model trained with it, find every embedding
 * cached. A folder of class folders is listed as training lists it; photos
 * directly in a folder get their centre view (what `predict` asks).
 *
 * Requires --allow-read (and --allow-write for the cache).
 * @param embedder From {@linkcode openEmbedder}, with a cache (without one, the embeddings are computed and dropped).
 * @param data Folders (or scanned datasets).
 * @param options The recipe (without `preset`: the course's), the shard, progress hooks, stop request.
 * @returns Counts: photos, views embedded by the trunk, found cached, failed; the photos skipped.
 * @throws {RocksError} For a folder that is missing, options out of range, or a stop request.
 * @example
 * ```ts
 * import { embedFolder, openEmbedder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * // Shard 0 of 8 of the Learn photos, 64 px centre views (the presets use 224 or 448 px).
 * const r = await embedFolder(embedder, "../shared/data/space-rocks", {
 *   preset: "course",
 *   augment: "none",
 *   viewSize: 64,
 *   shard: { index: 0, count: 8 },
 * });
 * if (r.photos !== 154 || r.inShard === 0 || r.embedded + r.cached !== r.total) throw new Error("one share");
 * embedder.close();
 * ```
 */
export async function embedFolder(
  embedder: Pick<Embedder, "embed" | "cache">,
  data: string | Dataset | (string | Dataset)[],
  options: EmbedFolderOptions = {},
): Promise<EmbedFolderResult> {
  const { shard, concurrency, onShard, onProgress, onSkip, signal, onFolder, ...recipe } = options;
  resolveTrainOptions(recipe); // options out of range fail before any folder is read
  const folders: EmbedFolderResult["folders"] = [];
  const photos: SharePhoto[] = [];
  const listed: Skipped[] = [];
  const seen = new Set<string>();
  for (const d of Array.isArray(data) ? data : [data]) {
    const f = await folderPhotos(d, recipe);
    const fresh = f.photos.filter((p) => !seen.has(p.path));
    for (const p of fresh) seen.add(p.path);
    photos.push(...fresh);
    listed.push(...f.skipped);
    const folder = { root: f.root, photos: fresh.length, classes: f.classes };
    folders.push(folder);
    onFolder?.(folder);
  }
  const result = await embedShare(embedder, photos, {
    ...(shard ? { shard } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(onShard ? { onShard } : {}),
    ...(onProgress ? { onProgress } : {}),
    ...(onSkip ? { onSkip } : {}),
    ...(signal ? { signal } : {}),
  });
  return { ...result, folders, skipped: [...listed, ...result.skipped] };
}
