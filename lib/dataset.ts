/**
 * Labelled photos on disk: scanning class folders (torchvision's ImageFolder
 * layout), grouping photos of one rock sample, and train / test splits.
 *
 * Grouping rule (used by `--split group`): NASA photo numbers look like
 * `S69-45539`. Photos of one sample were taken as one run of consecutive
 * frames, so within one year prefix, numbers sorted ascending start a new
 * group wherever the gap to the previous number exceeds
 * {@linkcode SERIES_GAP}. A file whose name holds no NASA number is its own
 * group. A `groups.csv` in the data folder (`file,group` per line, `file`
 * relative to the data folder) overrides the rule for the files it lists.
 * @module
 */
import { type Duplicate, findDuplicates } from "./duplicates.ts";
import { RocksError } from "./errors.ts";
import { hashSeed } from "./rng.ts";

/** File extensions read as photos (any letter case). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"] as const;

/** Largest gap between frame numbers of one photo series. */
export const SERIES_GAP = 20;

/** One labelled photo. */
export interface Sample {
  /** Full path. */
  path: string;
  /** Path relative to the data folder, `/`-separated (`Basalt/x.jpg`). */
  name: string;
  /** Index into {@linkcode Dataset.classes}. */
  label: number;
  /** Which photo series (rock sample) it belongs to. */
  group: string;
}

/** A file that was not used, and why. */
export interface Skipped {
  /** The file, relative to the data folder when it is in one. */
  file: string;
  /** What was wrong with it. */
  reason: string;
}

/** The photos of a data folder. */
export interface Dataset {
  /** The data folder. */
  root: string;
  /** Class names: the sub-folder names, sorted. */
  classes: string[];
  /** Every photo, sorted by class then name. */
  samples: Sample[];
  /** Files that are not photos (wrong extension, not a file). */
  skipped: Skipped[];
  /** Photos whose bytes appear under more than one class (found by {@linkcode scanDataset}). */
  duplicates?: Duplicate[];
}

/** Whether a file name has a photo extension. */
export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** The NASA photo number in a file name: `{ series: "s69", frame: 45539 }`. */
export function nasaPhotoNumber(name: string): { series: string; frame: number } | undefined {
  const m = /(?:^|[^a-z0-9])s(\d{2})-(\d{3,6})(?:[^0-9]|$)/i.exec(name);
  return m ? { series: `s${m[1]}`, frame: Number(m[2]) } : undefined;
}

/**
 * Groups photos into series by the rule in this module's doc.
 * @param names File names (or relative paths).
 * @returns The group of each name, in order.
 * @example
 * ```ts
 * import { seriesGroups } from "../mod.ts";
 * const [a, b, c] = seriesGroups(["B/x_s69-45539.jpg", "B/x_s69-45540.jpg", "B/x_s70-10000.jpg"]);
 * if (a !== b || a === c) throw new Error("frames of one series share a group");
 * ```
 */
export function seriesGroups(names: string[]): string[] {
  const numbered = names
    .map((n, i) => ({ i, id: nasaPhotoNumber(n.split("/").pop() ?? n) }))
    .filter((x): x is { i: number; id: { series: string; frame: number } } => x.id !== undefined)
    .sort((a, b) => a.id.series.localeCompare(b.id.series) || a.id.frame - b.id.frame);
  const groups = names.map((n) => `file:${n.split("/").pop()}`);
  let current = "";
  let last: { series: string; frame: number } | undefined;
  for (const { i, id } of numbered) {
    if (!last || last.series !== id.series || id.frame - last.frame > SERIES_GAP) {
      current = `${id.series}-${id.frame}`;
    }
    groups[i] = current;
    last = id;
  }
  return groups;
}

/** Reads a `file,group` CSV (header line optional). */
export function parseGroupsCsv(text: string, source: string): Map<string, string> {
  const map = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const comma = trimmed.lastIndexOf(",");
    if (comma <= 0 || comma === trimmed.length - 1) {
      throw new RocksError(
        "input",
        `${source} line ${i + 1}: expected "file,group", found "${trimmed}"`,
        source,
      );
    }
    const file = trimmed.slice(0, comma).trim().replace(/^"|"$/g, "");
    const group = trimmed.slice(comma + 1).trim().replace(/^"|"$/g, "");
    if (i === 0 && file.toLowerCase() === "file" && group.toLowerCase() === "group") return;
    map.set(file, group);
  });
  return map;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Options for {@linkcode scanDataset}. */
export interface ScanOptions {
  /** A `file,group` CSV; default `<root>/groups.csv` when it exists. */
  groupsFile?: string;
  /** Require at least this many classes. @default 2 */
  minClasses?: number;
  /**
   * A class folder without photos is an error (`"error"`: training cannot
   * learn it) or is left out and listed as skipped (`"skip"`: scoring).
   * @default "error"
   */
  emptyClasses?: "error" | "skip";
}

/** Why a file system call on `path` failed, as a phrase. */
function failure(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "is a broken symbolic link (its target does not exist)";
  if (e instanceof Deno.errors.FilesystemLoop) return "is a symbolic link loop";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "cannot be read: permission denied";
  }
  return `cannot be read: ${e instanceof Error ? e.message : String(e)}`;
}

/** Follows a symbolic link: its target's info, or why there is none. */
async function follow(path: string): Promise<Deno.FileInfo | string> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    return failure(e);
  }
}

/**
 * Lists the photos of a data folder: one sub-folder per class, photos inside
 * (any depth), hidden files and folders ignored.
 *
 * Requires --allow-read.
 * @param root The data folder.
 * @param options Groups file and checks.
 * @returns The dataset, with files that are not photos listed as skipped.
 * @throws {RocksError} When the folder is missing, has too few class folders, or a class has no photos.
 * @example
 * ```ts
 * import { scanDataset } from "../mod.ts";
 * const dir = await Deno.makeTempDir();
 * for (const c of ["Basalt", "Highland"]) {
 *   await Deno.mkdir(`${dir}/${c}`);
 *   await Deno.writeFile(`${dir}/${c}/a.jpg`, new Uint8Array([0xff, 0xd8]));
 * }
 * const data = await scanDataset(dir);
 * if (data.classes.join() !== "Basalt,Highland" || data.samples.length !== 2) throw new Error("two classes");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function scanDataset(root: string, options: ScanOptions = {}): Promise<Dataset> {
  const info = await follow(root);
  if (typeof info === "string") {
    const why = info.startsWith("is a broken") && !(await Deno.lstat(root).catch(() => null))
      ? "does not exist"
      : info;
    throw new RocksError("input", `Data folder ${root} ${why}`, root);
  }
  if (!info.isDirectory) {
    throw new RocksError("input", `Data folder ${root} is a file, expected a folder`, root);
  }
  let classes: string[] = [];
  const skipped: Skipped[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      if (e.name.startsWith(".")) continue;
      const target = e.isSymlink ? await follow(`${root}/${e.name}`) : undefined;
      if (typeof target === "string") skipped.push({ file: e.name, reason: target });
      else if (e.isDirectory || target?.isDirectory) classes.push(e.name);
    }
  } catch (e) {
    throw new RocksError("input", `Data folder ${root} ${failure(e)}`, root);
  }
  classes.sort();
  const minClasses = options.minClasses ?? 2;
  if (classes.length < minClasses) {
    throw new RocksError(
      "input",
      `Data folder ${root} has ${classes.length} class folder${classes.length === 1 ? "" : "s"}` +
        `${classes.length ? ` (${classes.join(", ")})` : ""}, expected at least ${minClasses}: ` +
        `one folder per class, e.g. ${root}/Basalt and ${root}/Highland`,
      root,
    );
  }
  const samples: Sample[] = [];
  const empty: string[] = [];
  // Real paths of the folders walked: a link back up would loop forever.
  const seen = new Set<string>();
  for (const [label, cls] of classes.entries()) {
    const names: string[] = [];
    const walk = async (dir: string, rel: string): Promise<string | undefined> => {
      const real = await Deno.realPath(dir).catch(() => dir);
      if (seen.has(real)) return "is a link to a folder already scanned";
      seen.add(real);
      const entries: Deno.DirEntry[] = [];
      try {
        for await (const e of Deno.readDir(dir)) entries.push(e);
      } catch (e) {
        return failure(e);
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (e.name.startsWith(".")) continue;
        const path = `${dir}/${e.name}`;
        const relPath = `${rel}/${e.name}`;
        const target = e.isSymlink ? await follow(path) : undefined;
        if (typeof target === "string") {
          skipped.push({ file: relPath, reason: target });
        } else if (e.isDirectory || target?.isDirectory) {
          if (isImageName(e.name)) skipped.push({ file: relPath, reason: "is a folder, not a photo" });
          else {
            const problem = await walk(path, relPath);
            if (problem) skipped.push({ file: relPath, reason: `folder ${problem}` });
          }
        } else if (!isImageName(e.name)) {
          skipped.push({ file: relPath, reason: `not a photo (expected ${IMAGE_EXTENSIONS.join(", ")})` });
        } else if (!(e.isFile || target?.isFile)) {
          skipped.push({ file: relPath, reason: "is not a regular file (a pipe, socket or device)" });
        } else {
          names.push(relPath);
        }
      }
      return undefined;
    };
    const problem = await walk(`${root}/${cls}`, cls);
    if (problem) throw new RocksError("input", `Class folder ${root}/${cls} ${problem}`, `${root}/${cls}`);
    if (names.length === 0) {
      if (options.emptyClasses === "skip") {
        empty.push(cls);
        skipped.push({ file: `${cls}/`, reason: "class folder holds no photos" });
        continue;
      }
      throw new RocksError(
        "input",
        `Class folder ${root}/${cls} holds no photos (${IMAGE_EXTENSIONS.join(", ")}): ` +
          `add photos or remove the folder`,
        `${root}/${cls}`,
      );
    }
    for (const name of names) samples.push({ path: `${root}/${name}`, name, label, group: "" });
  }
  if (empty.length) {
    // Renumber the labels of the classes that are left.
    const kept = classes.filter((c) => !empty.includes(c));
    for (const s of samples) s.label = kept.indexOf(classes[s.label]!);
    classes = kept;
    if (classes.length === 0) {
      throw new RocksError("input", `Data folder ${root} holds no photos in any class folder`, root);
    }
  }
  const groups = seriesGroups(samples.map((s) => s.name));
  const groupsFile = options.groupsFile ?? `${root}/groups.csv`;
  const csv = await statOrNull(groupsFile);
  const overrides = csv?.isFile ? parseGroupsCsv(await Deno.readTextFile(groupsFile), groupsFile) : new Map();
  if (options.groupsFile && !csv) {
    throw new RocksError("input", `Groups file ${groupsFile} does not exist`, groupsFile);
  }
  samples.forEach((s, i) => {
    s.group = overrides.get(s.name) ?? overrides.get(s.name.split("/").pop()) ?? groups[i]!;
  });
  const duplicates = await findDuplicates(samples, classes);
  return { root, classes, samples, skipped, duplicates };
}

/** How to split: `random` (by photo) or `group` (whole photo series on one side). */
export type SplitMode = "random" | "group";

/** Train and test samples. */
export interface Split {
  /** Samples to train on. */
  train: Sample[];
  /** Samples held out for testing (empty when the test fraction is 0). */
  test: Sample[];
}

/**
 * Splits samples into train and test, stratified by class: each class gives
 * `round(n × testFraction)` photos to the test side (random), or whole groups
 * until its share is reached, never more than a quarter above it (group).
 * Each class keeps at least one photo (group: one group) on the train side.
 * @param samples The photos.
 * @param testFraction Fraction held out, 0 ≤ f < 1.
 * @param mode `random` or `group`.
 * The order in which photos (or groups) are taken is a hash of the seed and
 * the photo's (group's) name, so adding a photo moves at most the photos at
 * the boundary: earlier embeddings stay useful.
 * @param seed The same seed gives the same split.
 * @example
 * ```ts
 * import { splitSamples } from "../mod.ts";
 * const samples = Array.from({ length: 10 }, (_, i) => ({ path: `p${i}`, name: `c/p${i}.jpg`, label: i % 2, group: `g${i}` }));
 * const { train, test } = splitSamples(samples, 0.2, "random", 1);
 * if (train.length !== 8 || test.length !== 2) throw new Error("80/20 split");
 * ```
 */
export function splitSamples(samples: Sample[], testFraction: number, mode: SplitMode, seed: number): Split {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new RocksError("usage", `Test fraction must be at least 0 and below 1, got ${testFraction}`);
  }
  const test = new Set<Sample>();
  const labels = [...new Set(samples.map((s) => s.label))].sort((a, b) => a - b);
  for (const label of labels) {
    const ofClass = samples.filter((s) => s.label === label);
    const target = Math.round(ofClass.length * testFraction);
    if (target === 0) continue;
    if (mode === "random") {
      const order = [...ofClass].sort((a, b) =>
        hashSeed(seed, "split", a.name) - hashSeed(seed, "split", b.name) || (a.name < b.name ? -1 : 1)
      );
      for (const s of order.slice(0, Math.min(target, ofClass.length - 1))) test.add(s);
      continue;
    }
    // Groups are assigned to the class most of their photos belong to.
    const byGroup = new Map<string, Sample[]>();
    for (const s of samples) byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s]);
    const majority = (g: Sample[]) => {
      const counts = new Map<number, number>();
      for (const s of g) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
      return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
    };
    const groups = [...byGroup.entries()].filter(([, g]) => majority(g) === label).sort(([a], [b]) =>
      hashSeed(seed, "group", a) - hashSeed(seed, "group", b) || (a < b ? -1 : 1)
    );
    // Whole groups, in hashed order, while the class's test share stays within
    // a quarter above its target; the last group always stays for training.
    const cap = Math.ceil(target * 1.25);
    const ofLabel = (g: Sample[]) => g.filter((s) => s.label === label).length;
    let taken = 0;
    for (const [, g] of groups.slice(0, -1)) {
      if (taken + ofLabel(g) > cap) continue;
      for (const s of g) test.add(s);
      taken += ofLabel(g);
      if (taken >= target) break;
    }
    if (taken === 0 && groups.length > 1) {
      // Every group is larger than the share: hold out the smallest one.
      const smallest = groups.slice(0, -1).sort((a, b) => ofLabel(a[1]) - ofLabel(b[1]))[0]!;
      for (const s of smallest[1]) test.add(s);
    }
  }
  return { train: samples.filter((s) => !test.has(s)), test: samples.filter((s) => test.has(s)) };
}
