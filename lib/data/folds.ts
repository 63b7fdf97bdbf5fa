/**
 * Grouped, class-stratified folds for cross-validation: the groups of each
 * class (photo series, see `groups.ts`), largest first and ties in an order
 * hashed from the seed, are dealt one at a time to the fold that holds the
 * fewest photos of that class so far, so every fold gets a share of every
 * class and no group is ever in two folds.
 * @module
 */
import { RocksError } from "../util/errors.ts";
import { hashSeed } from "../util/rng.ts";
import { groupsByClass } from "./groups.ts";
import type { Sample } from "./sample.ts";

/**
 * Deals whole groups to `k` folds, stratified by class.
 * @param samples The photos (with `group` and `label`).
 * @param k Number of folds, ≥ 2.
 * @param seed Shuffles which groups go together.
 * @returns `k` lists of photos; every photo is in exactly one.
 * @throws {RocksError} When `k` is not a whole number ≥ 2, or there are fewer groups than folds.
 * @example
 * ```ts
 * import { groupedFolds } from "./folds.ts";
 * const samples = Array.from({ length: 12 }, (_, i) => ({ path: `${i}`, name: `${i}`, label: i % 2, group: `g${i % 6}` }));
 * const folds = groupedFolds(samples, 3, 1);
 * if (folds.flat().length !== 12 || folds.some((f) => f.length !== 4)) throw new Error("three folds of four");
 * ```
 */
export function groupedFolds(samples: Sample[], k: number, seed: number): Sample[][] {
  if (!Number.isInteger(k) || k < 2) {
    throw new RocksError("usage", `Folds must be a whole number ≥ 2, got ${k}`);
  }
  const byClass = groupsByClass(samples);
  const groupCount = [...byClass.values()].reduce((n, g) => n + g.length, 0);
  if (groupCount < k) {
    throw new RocksError(
      "input",
      `${k} folds need at least ${k} photo groups; the photos form ${groupCount}`,
    );
  }
  const folds: Sample[][] = Array.from({ length: k }, () => []);
  const labels = [...new Set(samples.map((s) => s.label))].sort((a, b) => a - b);
  for (const label of labels) {
    const groups = [...(byClass.get(label) ?? [])].sort(([a, ga], [b, gb]) =>
      gb.length - ga.length || hashSeed(seed, a) - hashSeed(seed, b) || (a < b ? -1 : 1)
    );
    for (const [name, g] of groups) {
      // The fold with the fewest photos of this class; ties broken by the seed.
      const count = (f: Sample[]) => f.filter((s) => s.label === label).length;
      const target = folds
        .map((f, i) => ({ i, n: count(f), tie: hashSeed(seed, name, i) }))
        .sort((a, b) => a.n - b.n || a.tie - b.tie)[0]!.i;
      folds[target]!.push(...g);
    }
  }
  return folds;
}
