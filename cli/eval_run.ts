/**
 * Scoring a saved classifier on labelled photos and writing the HTML report,
 * as `eval` and `report` do on a folder and `train --report` / `demo
 * --report` do on the run's test photos.
 * @module
 */
import type { Classifier, Dataset, Embedder, Evaluation, ReportOptions } from "../mod.ts";
import { type Io, num, type Positionals, usage } from "./command.ts";
import { loadModelFor, openEmbedderFor } from "./embedder.ts";
import type { EmbedderValues, ScreenValues } from "./options.ts";
import { type Screen, screen } from "./screen.ts";

/** Where a report goes and what its options are. */
export interface ReportRequest {
  /** The HTML file. */
  path: string;
  /** --samples, --seed, --max-pixels. */
  options: ReportOptions;
}

/**
 * The report's --samples, checked: it needs a report to go in.
 * @param values The command's options.
 * @param path The report's file, when one is written.
 * @returns The report's options.
 */
export function reportOptions(
  values: { readonly samples?: string },
  path: string | undefined,
): ReportOptions {
  const samples = num(values, "samples", { integer: true, min: 0 });
  if (path === undefined && samples !== undefined) usage(`--samples needs --report FILE`);
  return { ...(samples !== undefined ? { samples } : {}) };
}

/**
 * The report `eval` and `report` write, from --samples, --seed (the grid's)
 * and --max-pixels, checked: --samples and --seed need a report.
 * @param values The command's options.
 * @param path The report's file, when one is written.
 * @returns The report, or undefined for none.
 */
export function reportRequest(
  values: { readonly samples?: string; readonly seed?: string; readonly "max-pixels"?: string },
  path: string | undefined,
): ReportRequest | undefined {
  const options = reportOptions(values, path);
  const seed = num(values, "seed", { integer: true });
  if (seed !== undefined && path === undefined) usage(`--seed needs --report FILE`);
  const maxPixels = num(values, "max-pixels", { integer: true, min: 1 });
  if (path === undefined) return undefined;
  return {
    path,
    options: {
      ...options,
      ...(seed !== undefined ? { seed } : {}),
      ...(maxPixels !== undefined ? { maxPixels } : {}),
    },
  };
}

/**
 * Scores `classifier` on labelled photos under a progress bar, warns of
 * photos filed under two classes, and writes the report when one is asked.
 * @param embedder Embeds the photos.
 * @param classifier The saved classifier, read back from `modelDir`.
 * @param data A folder of class folders, or the photos of a training run's test side.
 * @param scr Where the bar and the warnings go.
 * @param label The bar's label.
 * @param report The report, its scope (`folder`: every photo of `dataDir`; `test`: a run's test photos), and the folders it names.
 * @returns The scores.
 */
export async function scoreAndReport(
  embedder: Embedder,
  classifier: Classifier,
  data: string | Dataset,
  scr: Screen,
  label: string,
  report?: ReportRequest & { scope: "test" | "folder"; dataDir: string; modelDir: string },
): Promise<Evaluation> {
  const rocks = await import("../mod.ts");
  scr.start(label);
  const evaluation = await rocks.evaluate(embedder, classifier, data, {
    onProgress: (d, t) => scr.update(d, t),
  });
  scr.finish();
  if (evaluation.duplicates?.length) {
    const { duplicateWarning } = await import("../lib/data/mod.ts");
    for (const d of evaluation.duplicates) scr.err(`warning: ${duplicateWarning(d)}`);
  }
  if (report) {
    const { path, options, scope, dataDir, modelDir } = report;
    await rocks.writeReport(path, { evaluation, meta: classifier.meta, dataDir, scope, modelDir }, options);
  }
  return evaluation;
}

/**
 * `eval` and `report`: scores the classifier saved in `modelDir` on every
 * photo of `dataDir`, writing the report when one is asked.
 * @param modelDir The model folder.
 * @param dataDir One sub-folder per class.
 * @param values The embedder's and the screen's options.
 * @param io Where to write.
 * @param report The report, if any.
 * @returns The scores.
 */
export async function scoreFolder(
  modelDir: string,
  dataDir: string,
  values: EmbedderValues & ScreenValues,
  io: Io,
  report: ReportRequest | undefined,
): Promise<Evaluation> {
  const scr = screen(io, values);
  const embedder = await openEmbedderFor(values, scr, undefined, modelDir);
  try {
    const classifier = await loadModelFor(embedder, values, modelDir);
    try {
      return await scoreAndReport(
        embedder,
        classifier,
        dataDir,
        scr,
        "scoring",
        report && { ...report, scope: "folder", dataDir, modelDir },
      );
    } finally {
      classifier.dispose();
    }
  } finally {
    scr.finish();
    embedder.close();
  }
}

/**
 * The positional arguments of `eval` and `report`: a model folder and a data folder.
 * @param command The command's name, for the refusal.
 * @returns The rule.
 */
export function modelAndDataFolders(command: string): Positionals {
  return {
    min: 2,
    max: 2,
    refusal: () => `${command} takes a model folder and a data folder: see rocks ${command} --help`,
  };
}
