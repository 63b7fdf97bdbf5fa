/**
 * The course's recipe on the course's photos, through the real CLI.
 *
 * One run's final test accuracy swings with the seed, because the course's
 * Adam at lr 0.003 takes large steps and the test set has only 31 photos. So
 * the recipe is judged on the mean over seeds, the way the reference
 * numbers (0.96 ± 0.04 over 10 seeds) were measured. Each run uses the
 * worker pool (one worker per core); the runs share one fresh cache, so a
 * photo's centre view is embedded once for all of them.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { fileTempDir, runCli, SPACE_ROCKS, tempDir } from "./_helpers.ts";

interface TrainJson {
  testAccuracy: number;
  trainCount: number;
  testCount: number;
  epochs: number;
  history: unknown[];
  skipped: unknown[];
}

/** One cache for every run in this file: a photo's views are embedded once for all of them. */
const shared = fileTempDir("rocks-real-");

async function trainRuns(split: "random" | "group", seeds: number[], dir: string): Promise<TrainJson[]> {
  const results: TrainJson[] = [];
  for (const seed of seeds) {
    const r = await runCli([
      "train",
      SPACE_ROCKS,
      "--preset",
      "course",
      "--split",
      split,
      "--seed",
      String(seed),
      "--out",
      `${dir}/${split}-${seed}`,
      "--cache",
      `${shared}/cache`,
      "--json",
    ]);
    assertEquals(r.code, 0, r.stderr);
    results.push(JSON.parse(r.stdout) as TrainJson);
  }
  return results;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("rocks train with the course's defaults reaches ≥ 0.90 test accuracy on the random split (mean of 3 seeds)", async () => {
  await using dir = await tempDir();
  const runs = await trainRuns("random", [1, 2, 3], dir.path);
  const acc = runs.map((r) => r.testAccuracy);
  console.log(
    `random split test accuracy by seed: ${acc.map((a) => a.toFixed(3)).join(", ")}; mean ${
      mean(acc).toFixed(3)
    }`,
  );
  for (const r of runs) {
    assertEquals([r.trainCount, r.testCount, r.epochs, r.history.length, r.skipped.length], [
      123,
      31,
      5,
      8,
      0,
    ]);
  }
  assert(mean(acc) >= 0.9, `mean test accuracy ${mean(acc)}`);
});

Deno.test("rocks train --split group keeps photo series apart and reaches ≥ 0.80 (mean of 5 seeds)", async () => {
  await using dir = await tempDir();
  // A group split's test set is a handful of whole photo series, so one seed swings more than a random
  // split (measured: 0.718, 0.833, 0.889, 0.903, 0.914 for seeds 1–5). Crops depend on (seed, epoch,
  // photo), not on the split, so seeds 1–3 reuse the random-split runs' crops from the shared cache.
  const runs = await trainRuns("group", [1, 2, 3, 4, 5], dir.path);
  const acc = runs.map((r) => r.testAccuracy);
  console.log(
    `group split test accuracy by seed: ${acc.map((a) => a.toFixed(3)).join(", ")}; mean ${
      mean(acc).toFixed(3)
    }`,
  );
  assert(mean(acc) >= 0.8, `mean test accuracy ${mean(acc)}`);
});

Deno.test("the default preset (rocks) reaches ≥ 0.92 on grouped 5-fold cross-validation of the Learn photos", async () => {
  const r = await runCli([
    "eval-recipe",
    SPACE_ROCKS,
    "--folds",
    "5",
    "--cache",
    `${shared}/cache`,
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const cv = JSON.parse(r.stdout);
  assertEquals(cv.recipe.preset, "rocks");
  console.log(
    `rocks preset, grouped 5-fold CV: ${cv.accuracy.mean.toFixed(3)} ± ${cv.accuracy.std.toFixed(3)}, ` +
      `recall ${JSON.stringify(cv.recall)}`,
  );
  // Every fold holds whole photo series: no group is scored by a head that saw it.
  const seen = new Set<string>();
  for (const f of cv.folds as { groups: string[] }[]) {
    for (const g of f.groups) {
      assert(!seen.has(g), `group ${g} is in two folds`);
      seen.add(g);
    }
  }
  assertEquals(seen.size, 33);
  assert(cv.accuracy.mean >= 0.92, `grouped CV accuracy ${cv.accuracy.mean}`);
});
