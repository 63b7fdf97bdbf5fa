/**
 * The report stage: a scored run as one self-contained HTML page (the
 * course's captioned photo grid, the confusion matrix, the training curves,
 * the mistakes, the run's facts), with its inline SVG charts and PNG
 * thumbnails.
 *
 * ```ts
 * import { rankMistakes } from "./mod.ts";
 * const wrong = rankMistakes([{ file: "a.jpg", truth: "Basalt", predicted: "Highland", probabilities: { Basalt: 0.3, Highland: 0.7 } }]);
 * if (wrong.length !== 1) throw new Error("one mistake");
 * ```
 * @module
 */
export {
  pickGridPhotos,
  rankMistakes,
  renderReport,
  type ReportInput,
  type ReportOptions,
  writeReport,
} from "./report.ts";
export { pngDataUri, type Thumbnail, thumbnail } from "./thumbnail.ts";
export {
  type ChartPoint,
  type ChartSeries,
  escapeXml,
  lineChart,
  type LineChartOptions,
  niceTicks,
} from "./svg_chart.ts";
