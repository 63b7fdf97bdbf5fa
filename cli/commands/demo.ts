/**
 * `rocks demo`: the course end to end on the Learn photos: train with the
 * course's recipe, report the test accuracy, save, predict 5 random test
 * photos as the notebook shows them, and write the HTML report (the
 * notebook's captioned 5-photo grid, the confusion matrix, the curves).
 * @module
 */
import { RocksError } from "../../lib/util/errors.ts";
import { createRng } from "../../lib/util/rng.ts";
import { defineCommand, described, valued } from "../command.ts";
import {
  backend,
  cache,
  noCache,
  out,
  precision,
  progress,
  quiet,
  report,
  samples,
  seed,
  workers,
} from "../options.ts";
import { trainAndSave } from "../train_run.ts";

/** Where the course's photos come from, for when they are missing. */
const DATA_HINT =
  `The course's photos are the Data.zip of the Microsoft Learn module "Classify space rocks" ` +
  `(one folder per class: Basalt, Highland). Unzip it and pass its folder with --data DIR.`;

/** Where `demo` writes its report unless `--report FILE` says otherwise. */
export const DEMO_REPORT = "rocks-demo-report.html";

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
classifier to --out, predicts 5 random test photos, printed as
Class:True/False, and writes the HTML report of the test photos (the course's
figure: a grid of captioned photos; also the confusion matrix and the curves)
to ./${DEMO_REPORT} or --report FILE, printing its path.`,
  options: [
    valued("data", "DIR", "the Learn photos (default ../shared/data/space-rocks)"),
    out,
    seed,
    backend,
    precision,
    workers,
    cache,
    noCache,
    described(report, { help: `the HTML report of the test photos (default ./${DEMO_REPORT})` }),
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
    const reportPath = values.report ?? DEMO_REPORT;
    return await trainAndSave({ ...values, report: reportPath }, io, {
      dataDir,
      preset: "course",
      async then({ result, dataset, embedder, say }) {
        const { predict } = await import("../../mod.ts");
        const { test, train } = result.split;
        // Drawn as the report draws its grid (pickGridPhotos: the test photos in order, shuffled with the
        // training seed), so the 5 printed are the first 5 photos of the report's figure.
        const shown = test.length ? test : train;
        const picks = createRng(result.classifier.meta.training.seed).shuffle([...shown]).slice(0, 5);
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
        say(`\nThe course's figure (these photos, so captioned), the confusion matrix and the curves are`);
        say(`in the report: ${reportPath}`);
      },
    });
  },
});
