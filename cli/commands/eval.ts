/**
 * `rocks eval <model-dir> <data-dir>`: a saved classifier's scores on a
 * labelled folder (accuracy, per-class precision / recall, confusion matrix).
 * @module
 */
import { defineCommand, described } from "../command.ts";
import { modelAndDataFolders, reportRequest, scoreFolder } from "../eval_run.ts";
import { metricsText, skippedText } from "../format.ts";
import { BAR_OPTIONS, EMBEDDER_OPTIONS, gridSeed, json, report, samples } from "../options.ts";

/** `rocks eval`. */
export const evalCommand = defineCommand({
  name: "eval",
  summary: "accuracy, per-class precision/recall, confusion matrix",
  usage: "eval <model-dir> <data-dir>",
  description: `Scores a saved classifier on a labelled folder (one sub-folder per class).`,
  options: [
    described(json, {
      help: "print one JSON object: accuracy, count, classes, perClass, confusion, skipped",
    }),
    report,
    samples,
    gridSeed,
    ...EMBEDDER_OPTIONS,
    ...BAR_OPTIONS,
  ] as const,
  positionals: modelAndDataFolders("eval"),
  async run([modelDir, dataDir], values, io) {
    const reportPath = values.report;
    const ev = await scoreFolder(modelDir!, dataDir!, values, io, reportRequest(values, reportPath));
    if (values.json) {
      const { predictions: _p, ...rest } = ev;
      io.out(JSON.stringify(reportPath === undefined ? rest : { ...rest, report: reportPath }));
    } else {
      io.out(metricsText(ev));
      const sk = skippedText(ev.skipped);
      if (sk) io.out(`\n${sk}`);
      if (reportPath !== undefined) io.out(`\nWrote the report to ${reportPath}`);
    }
    return ev.count > 0 ? 0 : 1;
  },
});
