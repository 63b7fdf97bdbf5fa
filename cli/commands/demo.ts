/**
 * `rocks demo`: the course end to end on the Learn photos: train with the
 * course's recipe, report the test accuracy, save, and predict 5 random test
 * photos as the notebook shows them.
 * @module
 */
import { RocksError } from "../../lib/util/errors.ts";
import { createRng } from "../../lib/util/rng.ts";
import { defineCommand, described, valued } from "../command.ts";
import { backend, cache, noCache, out, progress, quiet, report, samples, seed, workers } from "../options.ts";
import { trainAndSave } from "../train_run.ts";

/** Where the course's photos come from, for when they are missing. */
const DATA_HINT =
  `The course's photos are the Data.zip of the Microsoft Learn module "Classify space rocks" ` +
  `(one folder per class: Basalt, Highland). Unzip it and pass its folder with --data DIR.`;

/** The Learn photos beside this checkout (`../shared/data/space-rocks`). */
function defaultDemoData(): string {
  const here = new URL("../../../shared/data/space-rocks", import.meta.url);
  return here.protocol === "file:" ? decodeURIComponent(here.pathname) : "../shared/data/space-rocks";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** `rocks demo`. */
export const demo = defineCommand({
  name: "demo",
  summary: "the course end to end: train, test, predict 5 photos",
  usage: "demo [--data DIR]",
  description: `Runs the course end to end on the Learn photos: trains with the course's
defaults (printing its progress lines), reports the test accuracy, saves the
classifier to --out, and predicts 5 random test photos, printed as
Class:True/False.`,
  options: [
    valued("data", "DIR", "the Learn photos (default ../shared/data/space-rocks)"),
    out,
    seed,
    backend,
    workers,
    cache,
    noCache,
    described(report, { help: "also write an HTML report of the test photos there" }),
    samples,
    quiet,
    progress,
  ] as const,
  positionals: { min: 0, max: 0, refusal: () => `demo takes no positional arguments; use --data DIR` },
  watchesSignal: true,
  async run(_positionals, values, io) {
    const dataDir = values.data ?? defaultDemoData();
    if (!(await exists(dataDir))) {
      throw new RocksError("input", `The demo's photos are not at ${dataDir}. ${DATA_HINT}`, dataDir);
    }
    return await trainAndSave(values, io, {
      dataDir,
      preset: "course",
      async then({ result, dataset, embedder, say, seed }) {
        const { predict } = await import("../../mod.ts");
        const { test, train } = result.split;
        const picks = createRng((seed ?? 1) + 7).shuffle([...(test.length ? test : train)]).slice(0, 5);
        const preds = await predict(embedder, result.classifier, picks.map((p) => p.path));
        say(`\n5 random test photos, as the course shows them (predicted class:correct?):`);
        preds.forEach((p, i) => {
          const truth = dataset.classes[picks[i]!.label]!;
          if ("error" in p) say(`  ${picks[i]!.name}: ${p.error}`);
          else {
            say(
              `  ${p.class}:${p.class === truth ? "True" : "False"}  ${picks[i]!.name}  (p=${
                p.probabilities[p.class]!.toFixed(3)
              })`,
            );
          }
        });
      },
    });
  },
});
