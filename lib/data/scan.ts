/**
 * Scanning a data folder: one sub-folder per class (torchvision's
 * ImageFolder layout), photos inside at any depth, hidden files ignored.
 * Files that are not photos are listed as skipped with the reason; each
 * photo gets its series group (`groups.ts`) and photos filed under two
 * classes are found (`duplicates.ts`).
 * @module
 */
import { RocksError } from "../util/errors.ts";
import { IMAGE_EXTENSIONS, isImageName } from "../image/read_photo.ts";
import { findDuplicates } from "./duplicates.ts";
import { parseGroupsCsv, seriesGroups } from "./groups.ts";
import type { Dataset, Sample, Skipped } from "./sample.ts";

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
  /**
   * Look for photos filed under two classes (which reads the files whose sizes match across classes).
   * `rocks embed` leaves it out: at archive scale it would read most photos once more.
   * @default true
   */
  findDuplicates?: boolean;
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
 * import { scanDataset } from "../../mod.ts";
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
  if (options.findDuplicates === false) return { root, classes, samples, skipped };
  const duplicates = await findDuplicates(samples, classes);
  return { root, classes, samples, skipped, duplicates };
}
