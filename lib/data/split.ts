/**
 * Train / test splits, stratified by class: by photo (`random`) or by whole
 * photo series (`group`, see `groups.ts`). The order in which photos or
 * groups are taken is a hash of the seed and their name, so adding a photo
 * moves at most the photos at the boundary.
 * @module
 */
import { RocksError } from "../util/errors.ts";
import { hashSeed } from "../util/rng.ts";
import { groupsByClass } from "./groups.ts";
import type { Sample } from "./sample.ts";

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
 * @param seed The same seed gives the same split.
 * @example
 * ```ts
 * import { splitSamples } from "./split.ts";
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
  const byClass = groupsByClass(samples);
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
    const groups = [...(byClass.get(label) ?? [])].sort(([a], [b]) =>
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
