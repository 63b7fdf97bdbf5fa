/**
 * `rocks predict <model-dir> <photo|folder>...`: the class and probabilities
 * of each photo, as a table, JSON or CSV.
 * @module
 */
import { csvCell } from "../../lib/util/csv.ts";
import { defineCommand, described } from "../command.ts";
import { loadModelFor, openEmbedderFor } from "../embedder.ts";
import { predictionTable } from "../format.ts";
import { BAR_OPTIONS, csv, EMBEDDER_OPTIONS, json } from "../options.ts";
import { screen } from "../screen.ts";

/** `rocks predict`. */
export const predict = defineCommand({
  name: "predict",
  summary: "class and probabilities of each photo",
  usage: "predict <model-dir> <photo|folder>...",
  description: `Predicts the class of each photo (folders are searched for .jpg, .jpeg, .png).`,
  options: [
    described(json, {
      help: "print a JSON array of { file, class, probabilities } ({ file, error } when unreadable)",
    }),
    csv,
    ...EMBEDDER_OPTIONS,
    ...BAR_OPTIONS,
  ] as const,
  positionals: {
    min: 2,
    max: Infinity,
    refusal: () => `predict takes a model folder and at least one photo or folder: see rocks predict --help`,
  },
  async run([modelDir, ...inputs], values, io) {
    const rocks = await import("../../mod.ts");
    const { expandInputs } = await import("../../lib/data/mod.ts");
    const files = await expandInputs(inputs);
    const scr = screen(io, values);
    const embedder = await openEmbedderFor(values, scr, files.length, modelDir);
    try {
      const classifier = await loadModelFor(embedder, values, modelDir!);
      const classes = classifier.meta.classes;
      scr.start("predicting");
      const preds = await rocks.predict(embedder, classifier, files, {
        onProgress: (d, t) => scr.update(d, t),
      }).finally(() => classifier.dispose());
      scr.finish();
      if (values.json) io.out(JSON.stringify(preds, null, 1));
      else if (values.csv) {
        io.out(["file", "class", ...classes, "error"].map(csvCell).join(","));
        for (const p of preds) {
          const cells = "error" in p
            ? [p.file, "", ...classes.map(() => ""), p.error]
            : [p.file, p.class, ...classes.map((c) => p.probabilities[c]!.toFixed(6)), ""];
          io.out(cells.map(csvCell).join(","));
        }
      } else {
        for (const line of predictionTable(preds, classes)) io.out(line);
        const failed = preds.filter((p) => "error" in p).length;
        if (failed) io.err(`${failed} of ${preds.length} photos could not be read`);
      }
      return preds.some((p) => !("error" in p)) ? 0 : 1;
    } finally {
      scr.finish();
      embedder.close();
    }
  },
});
