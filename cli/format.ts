/**
 * The CLI's text: the course's progress line, the metrics table, the list of
 * skipped files, the backend line and the prediction table. Pure functions
 * of what the library returns; no module here loads TensorFlow.js.
 * @module
 */
import type { Prediction } from "../mod.ts";
import type { Metrics, ProgressLine } from "../lib/model/mod.ts";

/** A score with three decimals, or `n/a`. */
export const fmt3 = (x: number | null | undefined): string =>
  x === null || x === undefined ? "n/a" : x.toFixed(3);

/**
 * The course's progress line.
 * @param l The line's numbers.
 * @returns `Epoch 1/5.. Train loss: 0.693.. Test loss: 0.512.. Test accuracy: 0.806`
 */
export function progressLine(l: ProgressLine): string {
  const head = `Epoch ${l.epoch}/${l.epochs}.. Train loss: ${l.trainLoss.toFixed(3)}..`;
  if (l.testLoss === null) return head;
  return `${head} Test loss: ${fmt3(l.testLoss)}.. Test accuracy: ${fmt3(l.testAccuracy)}`;
}

/**
 * Accuracy, per-class precision / recall / support, and the confusion matrix.
 * @param m The scores.
 * @returns The lines, joined.
 */
export function metricsText(m: Metrics): string {
  const width = Math.max(9, ...m.classes.map((c) => c.length));
  const lines = [`Accuracy: ${fmt3(m.accuracy)} on ${m.count} photos`, ""];
  lines.push(`${"class".padEnd(width)}  precision  recall  support`);
  for (const c of m.classes) {
    const s = m.perClass[c]!;
    lines.push(
      `${c.padEnd(width)}  ${fmt3(s.precision).padStart(9)}  ${fmt3(s.recall).padStart(6)}  ${
        String(s.support).padStart(7)
      }`,
    );
  }
  lines.push("", `Confusion matrix (rows: true class, columns: predicted)`);
  lines.push(`${"".padEnd(width)}  ${m.classes.map((c) => c.padStart(Math.max(6, c.length))).join("  ")}`);
  m.confusion.forEach((row, i) => {
    lines.push(
      `${m.classes[i]!.padEnd(width)}  ${
        row.map((v, j) => String(v).padStart(Math.max(6, m.classes[j]!.length))).join("  ")
      }`,
    );
  });
  return lines.join("\n");
}

/**
 * The files left out, and why.
 * @param skipped The files.
 * @returns The lines, joined; empty for none.
 */
export function skippedText(skipped: { file: string; reason: string }[]): string {
  if (skipped.length === 0) return "";
  return [
    `Skipped ${skipped.length} file${skipped.length > 1 ? "s" : ""}:`,
    ...skipped.map((s) => `  ${s.file}: ${s.reason}`),
  ]
    .join("\n");
}

/**
 * Which backend embeds, on how many workers, and why that backend.
 * @param e The embedder.
 */
export function backendLine(
  e: { backend: { name: string; simd: boolean; reason: string }; workers: number },
): string {
  const where = e.workers ? `${e.workers} worker${e.workers > 1 ? "s" : ""}` : "this thread";
  return `Backend: ${e.backend.name}${e.backend.simd ? " (SIMD)" : ""}, ${where}: ${e.backend.reason}`;
}

/**
 * `rocks predict`'s table: file, class, then one probability column per
 * class. Every column is as wide as its header and its widest value, so a
 * long class name keeps the columns aligned.
 * @param preds The predictions.
 * @param classes The model's classes, in its order.
 * @returns The header line and one line per photo.
 */
export function predictionTable(preds: Prediction[], classes: readonly string[]): string[] {
  const fileWidth = Math.max(4, ...preds.map((p) => p.file.length));
  const classWidth = Math.max(5, ...classes.map((c) => c.length));
  const widths = classes.map((c) => Math.max(5, c.length)); // a probability is 5 wide: 0.123
  const header = `${"file".padEnd(fileWidth)}  ${"class".padEnd(classWidth)}  ${
    classes.map((c, i) => c.padStart(widths[i]!)).join("  ")
  }`;
  return [
    header,
    ...preds.map((p) =>
      "error" in p
        ? `${p.file.padEnd(fileWidth)}  error: ${p.error}`
        : `${p.file.padEnd(fileWidth)}  ${p.class.padEnd(classWidth)}  ${
          classes.map((c, i) => p.probabilities[c]!.toFixed(3).padStart(widths[i]!)).join("  ")
        }`
    ),
  ];
}
