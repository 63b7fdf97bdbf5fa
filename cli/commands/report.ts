/**
 * `rocks report <model-dir> <data-dir>`: a saved classifier scored on every
 * photo of a labelled folder, written as one self-contained HTML page.
 * @module
 */
import { defineCommand, described } from "../command.ts";
import { modelAndDataFolders, reportRequest, scoreFolder } from "../eval_run.ts";
import { fmt3, skippedText } from "../format.ts";
import { BAR_OPTIONS, EMBEDDER_OPTIONS, gridSeed, out, samples } from "../options.ts";

/** `rocks report`. */
export const report = defineCommand({
  name: "report",
  summary: "an HTML report: captioned photos, confusion matrix, curves",
  usage: "report <model-dir> <data-dir>",
  description: `Scores a saved classifier on every photo of a labelled folder and writes one
self-contained HTML file (no network, photos embedded): the course's grid of
random photos captioned Class:True / Class:False with the probability, the
confusion matrix with per-class precision / recall / support and accuracy,
the training curves from the model's progress lines, the mistakes (most
confident first) and the run's facts. Pass photos the model was not trained
on (rocks train --report uses the run's own test photos).`,
  options: [
    described(out, { value: "FILE", help: "the HTML file to write (default ./rocks-report.html)" }),
    described(samples, { help: "photos in the grid (default 5)" }),
    gridSeed,
    ...EMBEDDER_OPTIONS,
    ...BAR_OPTIONS,
  ] as const,
  positionals: modelAndDataFolders("report"),
  async run([modelDir, dataDir], values, io) {
    const path = values.out ?? "rocks-report.html";
    const ev = await scoreFolder(modelDir!, dataDir!, values, io, reportRequest(values, path));
    io.out(`Wrote the report to ${path}: accuracy ${fmt3(ev.accuracy)} on ${ev.count} photos`);
    const sk = skippedText(ev.skipped);
    if (sk) io.out(`\n${sk}`);
    return ev.count > 0 ? 0 : 1;
  },
});
