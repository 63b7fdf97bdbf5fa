/**
 * The same photo filed under two classes: files with identical bytes whose
 * class folders differ. Such a photo teaches the head both answers and, when
 * the split puts one copy on each side, leaks the test set. Only files whose
 * size matches a file of another class are read and hashed, so a folder
 * without duplicates costs one `stat` a photo.
 * @module
 */
import { maxPhotoBytes } from "../image/read_photo.ts";
import { sha256Hex } from "../util/hash.ts";
import type { Duplicate, Sample } from "./sample.ts";

/**
 * Finds photos whose bytes appear under more than one class.
 *
 * Requires --allow-read.
 * @param samples The photos (`name` relative to the data folder, `label` the class index).
 * @param classes Class names by label.
 * @returns One entry per set of identical files spanning two or more classes.
 * @example
 * ```ts
 * import { findDuplicates } from "./duplicates.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.jpg`, "same bytes");
 * await Deno.writeTextFile(`${dir}/b.jpg`, "same bytes");
 * const samples = [
 *   { path: `${dir}/a.jpg`, name: "Basalt/a.jpg", label: 0, group: "" },
 *   { path: `${dir}/b.jpg`, name: "Highland/b.jpg", label: 1, group: "" },
 * ];
 * const [d] = await findDuplicates(samples, ["Basalt", "Highland"]);
 * if (d?.classes.join() !== "Basalt,Highland") throw new Error("one duplicate across two classes");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function findDuplicates(samples: Sample[], classes: string[]): Promise<Duplicate[]> {
  // 1. Group by size; only sizes shared across classes can hide a duplicate.
  const bySize = new Map<number, Sample[]>();
  for (const s of samples) {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(s.path);
    } catch {
      continue; // unreadable: the embedding step names it
    }
    if (!st.isFile || st.size > maxPhotoBytes()) continue;
    const size = st.size;
    bySize.set(size, [...(bySize.get(size) ?? []), s]);
  }
  // 2. Hash those, group by content.
  const byHash = new Map<string, Sample[]>();
  for (const group of bySize.values()) {
    if (new Set(group.map((s) => s.label)).size < 2) continue;
    for (const s of group) {
      let sha: string;
      try {
        sha = await sha256Hex(await Deno.readFile(s.path));
      } catch {
        continue;
      }
      byHash.set(sha, [...(byHash.get(sha) ?? []), s]);
    }
  }
  // 3. Report the contents that sit under two or more classes.
  const out: Duplicate[] = [];
  for (const group of byHash.values()) {
    const labels = [...new Set(group.map((s) => s.label))];
    if (labels.length < 2) continue;
    out.push({
      files: group.map((s) => s.name).sort(),
      classes: labels.map((l) => classes[l] ?? String(l)).sort(),
    });
  }
  return out.sort((a, b) => (a.files[0]! < b.files[0]! ? -1 : 1));
}

/**
 * The warning printed for a duplicate.
 * @param d The duplicate.
 * @returns `The same photo is in 2 classes (Basalt, Highland): Basalt/a.jpg, Highland/b.jpg`
 */
export function duplicateWarning(d: Duplicate): string {
  return `The same photo (identical bytes) is in ${d.classes.length} classes (${d.classes.join(", ")}): ${
    d.files.join(", ")
  }`;
}
