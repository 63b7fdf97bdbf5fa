/**
 * `rocks eval-recipe <data-dir>`: grouped, class-stratified k-fold
 * cross-validation of a training recipe, the number to compare recipes by.
 * @module
 */
import { defineCommand, described, num, valued } from "../command.ts";
import { openEmbedderFor } from "../embedder.ts";
import { backendLine, fmt3 } from "../format.ts";
import {
  backend,
  cache,
  groups,
  json,
  maxPixels,
  noCache,
  precision,
  preset,
  progress,
  quiet,
  RECIPE_OPTIONS,
  recipeValues,
  seed,
  workers,
} from "../options.ts";
import { screen } from "../screen.ts";

/** `rocks eval-recipe`. */
export const evalRecipe = defineCommand({
  name: "eval-recipe",
  summary: "grouped k-fold cross-validation of a training recipe",
  usage: "eval-recipe <data-dir>",
  description: `Grouped, class-stratified k-fold cross-validation of a training recipe: the
photos are dealt to folds by photo series (see --split group in rocks train),
each fold is scored by a head trained on the other folds. Reports the mean ±
standard deviation of the fold accuracies, each class's recall, and the photo
series the recipe gets most wrong. This is the number to compare recipes by.`,
  options: [
    described(preset, { help: "rocks (default) or course; the options below override it" }),
    ...RECIPE_OPTIONS,
    valued("folds", "K", "folds (default 5)"),
    valued("repeats", "N", "repeat with other group shuffles (default 1)"),
    described(seed, { help: "seed of the first repeat and of training (default 1)" }),
    groups,
    maxPixels,
    workers,
    cache,
    noCache,
    backend,
    precision,
    described(json, {
      help: "print one JSON object: accuracy {mean, std}, recall, folds, worstGroups, confusion",
    }),
    described(quiet, { help: "accepted as by rocks train (cross-validation draws no progress bar)" }),
    described(progress, { help: "accepted as by rocks train (cross-validation draws no progress bar)" }),
  ] as const,
  positionals: {
    min: 1,
    max: 1,
    refusal: () => `eval-recipe takes one data folder: see rocks eval-recipe --help`,
  },
  async run([dataDir], values, io) {
    const rocks = await import("../../mod.ts");
    const named = rocks.presetOptions(values.preset ?? rocks.DEFAULT_PRESET);
    const recipe = {
      ...named,
      ...recipeValues(values),
    };
    const folds = num(values, "folds", { integer: true, min: 2 }) ?? 5;
    const repeats = num(values, "repeats", { integer: true, min: 1 }) ?? 1;
    const scr = screen(io, values);
    const say = values.json ? scr.err : scr.out;
    const dataset = await rocks.scanDataset(dataDir!, values.groups ? { groupsFile: values.groups } : {});
    const embedder = await openEmbedderFor(values, scr);
    try {
      say(backendLine(embedder));
      const cv = await rocks.crossValidate(embedder, dataset, {
        recipe,
        folds,
        repeats,
        seed: recipe.seed ?? 1,
        onFold: (f) =>
          say(
            `Repeat ${f.repeat + 1}, fold ${f.fold + 1}/${folds}: accuracy ${
              fmt3(f.accuracy)
            } on ${f.testCount} photos`,
          ),
      });
      if (values.json) io.out(JSON.stringify({ recipe, k: folds, repeats, ...cv }));
      else {
        io.out(`\nRecipe: ${JSON.stringify(recipe)}`);
        io.out(`Grouped ${folds}-fold cross-validation${repeats > 1 ? `, ${repeats} repeats` : ""}:`);
        io.out(`  accuracy ${fmt3(cv.accuracy.mean)} ± ${fmt3(cv.accuracy.std)}`);
        for (const c of cv.classes) io.out(`  ${c} recall ${fmt3(cv.recall[c])}`);
        io.out(`Photo series most often wrong:`);
        for (const g of cv.worstGroups.slice(0, 5)) {
          io.out(`  ${g.group} (${g.class}): ${g.correct}/${g.photos} right`);
        }
      }
      return 0;
    } finally {
      embedder.close();
    }
  },
});
