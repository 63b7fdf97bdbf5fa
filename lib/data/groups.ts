/**
 * Photo series: which photos show the same rock sample, so that a split or a
 * fold never puts one rock on both sides.
 *
 * Rule: NASA photo numbers look like `S69-45539`. Photos of one sample were
 * taken as one run of consecutive frames, so within one year prefix,
 * numbers sorted ascending start a new group wherever the gap to the
 * previous number exceeds {@linkcode SERIES_GAP}. A file whose name holds no
 * NASA number is its own group. A `groups.csv` (`file,group` per line, `file`
 * relative to the data folder; CSV quoting as `rocks predict --csv` writes
 * it) overrides the rule for the files it lists.
 * @module
 */
import { parseCsvLine } from "../util/csv.ts";
import { RocksError } from "../util/errors.ts";
import type { Sample } from "./sample.ts";

/** Largest gap between frame numbers of one photo series. */
export const SERIES_GAP = 20;

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
 * import { seriesGroups } from "./groups.ts";
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

/**
 * Reads a `file,group` CSV (header line optional, `#` comments). Quoted
 * fields may hold commas and doubled quotes; an unquoted line with more than
 * one comma takes the last field as the group.
 * @param text The file's text.
 * @param source The file's name, for messages.
 * @returns Group by file.
 * @throws {RocksError} Naming the line that is not `file,group`.
 */
export function parseGroupsCsv(text: string, source: string): Map<string, string> {
  const map = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const fields = parseCsvLine(trimmed);
    const file = fields?.slice(0, -1).join(",") ?? "";
    const group = fields?.at(-1) ?? "";
    if (!fields || fields.length < 2 || file === "" || group === "") {
      throw new RocksError(
        "input",
        `${source} line ${i + 1}: expected "file,group", found "${trimmed}"`,
        source,
      );
    }
    if (i === 0 && file.toLowerCase() === "file" && group.toLowerCase() === "group") return;
    map.set(file, group);
  });
  return map;
}

/**
 * The photo series of each class: every group (with all its photos) under
 * the class most of its photos have (ties: the lower label).
 * @param samples The photos, with `group` and `label`.
 * @returns For each label, its groups as `[name, photos]`.
 */
export function groupsByClass(samples: Sample[]): Map<number, [string, Sample[]][]> {
  const byGroup = new Map<string, Sample[]>();
  for (const s of samples) byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s]);
  const out = new Map<number, [string, Sample[]][]>();
  for (const [name, g] of byGroup) {
    const counts = new Map<number, number>();
    for (const s of g) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
    const label = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
    out.set(label, [...(out.get(label) ?? []), [name, g]]);
  }
  return out;
}
