/**
 * The train stage: recipes (`course`, `rocks`) and their options, what a run
 * embeds and when (and everything it may ask for, to embed beforehand), the
 * loss, its gradients and Adam written out by hand, the training loop, and
 * grouped cross-validation of a recipe.
 *
 * ```ts
 * import { PRESETS, resolveTrainOptions } from "./mod.ts";
 * const o = resolveTrainOptions({ preset: "course" });
 * if (o.lr !== PRESETS.course.lr) throw new Error("the course's learning rate");
 * ```
 * @module
 */
export { DEFAULT_PRESET, presetOptions, PRESETS, type Recipe } from "./presets.ts";
export {
  type ResolvedTrainOptions,
  resolveTrainOptions,
  savedPreset,
  type TrainOptions,
  type UnsetTrainOptions,
} from "./options.ts";
export { createFeed, cropView, type Feed, type FeedOptions, PREFETCH_VIEWS, type Row } from "./feed.ts";
export { dropoutMask, headGradients, nllLoss } from "./gradients.ts";
export { ADAM_DEFAULTS, type AdamConfig, type AdamState, adamStep, initAdam } from "./adam.ts";
export {
  plannedViews,
  trainClassifier,
  type TrainEvents,
  trainFolder,
  type TrainFolderOptions,
  type TrainResult,
} from "./train.ts";
export { embedFolder, type EmbedFolderOptions, type EmbedFolderResult, recipeViews } from "./plan.ts";
export {
  crossValidate,
  type CrossValidateOptions,
  type CrossValidation,
  type FoldResult,
} from "./cross_validate.ts";
