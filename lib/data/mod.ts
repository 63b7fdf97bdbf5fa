/**
 * The data stage: which photos there are, their classes and photo series,
 * and how they are split. Nothing here decodes a photo.
 *
 * ```ts
 * import { scanDataset, splitSamples } from "./mod.ts";
 * const data = await scanDataset("../shared/data/space-rocks");
 * const { train, test } = splitSamples(data.samples, 0.2, "group", 1);
 * console.log(data.classes, train.length, test.length);
 * ```
 * @module
 */
export type { Dataset, Duplicate, Sample, Skipped } from "./sample.ts";
export { scanDataset, type ScanOptions } from "./scan.ts";
export { groupsByClass, nasaPhotoNumber, parseGroupsCsv, SERIES_GAP, seriesGroups } from "./groups.ts";
export { type Split, type SplitMode, splitSamples } from "./split.ts";
export { groupedFolds } from "./folds.ts";
export { duplicateWarning, findDuplicates } from "./duplicates.ts";
export { expandInputs } from "./inputs.ts";
