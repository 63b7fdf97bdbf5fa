/**
 * Training options: what a caller may set, and every default filled in. A
 * named preset's values come first, then each option given explicitly; what
 * is still unset takes the course's value ({@linkcode PRESETS}`.course`), so
 * the library's defaults are the notebook's run. Resuming a saved model
 * without naming a preset continues that model's recipe.
 * @module
 */
import type { Split, SplitMode } from "../data/split.ts";
import type { Classifier } from "../model/classifier.ts";
import { usageCheck } from "../util/errors.ts";
import { presetOptions, PRESETS } from "./presets.ts";

/** Training settings. Every default is the course's. */
export interface TrainOptions {
  /** A named recipe (`course`, `rocks`) whose values the options below override. @default "custom" (the course's values) */
  preset?: string;
  /** Passes over the training photos. @default 5 */
  epochs?: number;
  /** Photos per Adam step. @default 16 */
  batchSize?: number;
  /** Adam's learning rate. @default 0.003 */
  lr?: number;
  /** Fraction of photos held out for testing, 0 ≤ f < 1. @default 0.2 */
  testFraction?: number;
  /** `random` (by photo) or `group` (whole photo series). @default "random" */
  split?: SplitMode;
  /** Seed of split, crops, initial weights and dropout. @default 1 */
  seed?: number;
  /** `crop`: a fresh RandomResizedCrop per photo per epoch; `none`: the centre view. @default "crop" */
  augment?: "crop" | "none";
  /** Report a progress line every this many steps. @default 5 */
  printEvery?: number;
  /** Name of the backend, saved with the model. @default the embedder's */
  backend?: string;
  /** Side of the square the trunk sees, in pixels; ResNet50 is fully convolutional. @default 224 */
  viewSize?: number;
  /** Scale each embedding to unit length before the head (saved with the model). @default false */
  l2normalize?: boolean;
  /**
   * Continue from this classifier's head (same classes, same view size) instead of new weights; Adam
   * starts afresh. Without `preset`, the classifier's own preset is used.
   */
  resumeFrom?: Classifier;
  /** Train and test on exactly these photos instead of splitting (cross-validation uses it). */
  presplit?: Split;
}

/** Training options that have no default. */
export type UnsetTrainOptions = "resumeFrom" | "presplit";

/** Training options with every default filled in. */
export type ResolvedTrainOptions =
  & Required<Omit<TrainOptions, UnsetTrainOptions>>
  & Pick<TrainOptions, UnsetTrainOptions>;

/**
 * The preset a saved model was trained with: its recorded name, or `course`
 * for one saved before presets existed or trained with custom options (whose
 * defaults are the course's).
 * @param model The model's facts.
 * @returns A key of {@linkcode PRESETS}.
 */
export function savedPreset(model: Pick<Classifier, "meta">): string {
  const preset = model.meta.training.preset;
  return preset !== undefined && Object.hasOwn(PRESETS, preset) ? preset : "course";
}

/**
 * Fills in training options: the named `preset`'s values when one is given
 * (`"custom"` names none; without one, a resumed model's own), else the
 * course's recipe, then every option given explicitly on top.
 * @param options What the caller set.
 * @returns Every option, checked.
 * @throws {RocksError} (kind `usage`) naming an option out of range.
 * @example
 * ```ts
 * import { resolveTrainOptions } from "./options.ts";
 * const o = resolveTrainOptions({ preset: "rocks", epochs: 3 });
 * if (o.epochs !== 3 || o.viewSize !== 448 || o.testFraction !== 0.2) throw new Error("preset, then options, then the course");
 * ```
 */
export function resolveTrainOptions(options: TrainOptions = {}): ResolvedTrainOptions {
  const name = options.preset ?? (options.resumeFrom ? savedPreset(options.resumeFrom) : undefined);
  const named = name !== undefined && name !== "custom" ? presetOptions(name) : {};
  const o: ResolvedTrainOptions = {
    ...PRESETS.course,
    preset: "custom",
    testFraction: 0.2,
    split: "random",
    seed: 1,
    printEvery: 5,
    backend: "wasm",
    ...named,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  checkOptions(o);
  return o;
}

function checkOptions(o: ResolvedTrainOptions): void {
  usageCheck(
    Number.isInteger(o.viewSize) && o.viewSize >= 32 && o.viewSize <= 1024,
    `View size must be a whole number from 32 to 1024, got ${o.viewSize}`,
  );
  usageCheck(
    Number.isInteger(o.epochs) && o.epochs >= 1,
    `Epochs must be a whole number ≥ 1, got ${o.epochs}`,
  );
  usageCheck(
    Number.isInteger(o.batchSize) && o.batchSize >= 1,
    `Batch size must be a whole number ≥ 1, got ${o.batchSize}`,
  );
  usageCheck(o.lr > 0 && Number.isFinite(o.lr), `Learning rate must be a number > 0, got ${o.lr}`);
  usageCheck(
    o.testFraction >= 0 && o.testFraction < 1,
    `Test fraction must be at least 0 and below 1, got ${o.testFraction}`,
  );
  usageCheck(
    o.split === "random" || o.split === "group",
    `Unknown split "${o.split}": expected "random" or "group"`,
  );
  usageCheck(
    o.augment === "crop" || o.augment === "none",
    `Unknown augment "${o.augment}": expected "crop" or "none"`,
  );
  usageCheck(Number.isInteger(o.seed), `Seed must be a whole number, got ${o.seed}`);
  usageCheck(
    Number.isInteger(o.printEvery) && o.printEvery >= 1,
    `Print interval must be a whole number ≥ 1, got ${o.printEvery}`,
  );
}
