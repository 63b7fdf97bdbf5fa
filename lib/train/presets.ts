/**
 * Named training recipes, each written once here. `course` is the Learn
 * notebook's recipe exactly, and every training option a caller leaves out
 * takes the course's value (see `options.ts`); `rocks` is the recipe measured
 * to generalise better on grouped cross-validation (see bench/ACCURACY.md
 * for every recipe tried and the numbers behind the choice). Options given
 * next to a preset override it.
 * @module
 */
import { RocksError } from "../util/errors.ts";

/** What a preset sets: the recipe's name and the options that make it. */
export interface Recipe {
  /** The preset's name, saved with the model. */
  preset: string;
  /** Passes over the training photos. */
  epochs: number;
  /** Photos per Adam step. */
  batchSize: number;
  /** Adam's learning rate. */
  lr: number;
  /** `crop`: a fresh RandomResizedCrop per photo per epoch; `none`: the centre view. */
  augment: "crop" | "none";
  /** Side of the square the trunk sees, in pixels. */
  viewSize: number;
  /** Whether each embedding is scaled to unit length before the head. */
  l2normalize: boolean;
}

/**
 * The recipes by name.
 * @example
 * ```ts
 * import { PRESETS } from "../../mod.ts";
 * if (PRESETS.rocks.viewSize !== 2 * PRESETS.course.viewSize) throw new Error("rocks sees twice the resolution");
 * ```
 */
export const PRESETS: Readonly<{ course: Readonly<Recipe>; rocks: Readonly<Recipe> }> = {
  /** The notebook: RandomResizedCrop(224) every epoch, 5 epochs, batch 16, Adam 0.003. */
  course: {
    preset: "course",
    epochs: 5,
    batchSize: 16,
    lr: 0.003,
    augment: "crop",
    viewSize: 224,
    l2normalize: false,
  },
  /**
   * The centre square at 448 px (twice the course's resolution: rock texture is what tells the classes
   * apart), unit-length embeddings, 60 epochs at lr 0.001 on the fixed centre view. Grouped 5-fold
   * cross-validation × 5 repeats on the Learn photos: 0.932 ± 0.068 against the course's 0.892 ± 0.067,
   * +0.040 paired over the same folds (2.8 standard errors). See bench/ACCURACY.md.
   */
  rocks: {
    preset: "rocks",
    epochs: 60,
    batchSize: 16,
    lr: 0.001,
    augment: "none",
    viewSize: 448,
    l2normalize: true,
  },
};

/**
 * The preset `rocks train` and `rocks eval-recipe` use when none is named (`demo` always runs `course`;
 * the library's `trainFolder` without a preset runs the course's values).
 * @example
 * ```ts
 * import { DEFAULT_PRESET, presetOptions } from "../../mod.ts";
 * if (presetOptions(DEFAULT_PRESET).preset !== "rocks") throw new Error("rocks");
 * ```
 */
export const DEFAULT_PRESET = "rocks";

/**
 * The options of a named preset.
 * @param name A key of {@linkcode PRESETS}.
 * @returns A copy of the preset's recipe.
 * @throws {RocksError} (kind `usage`) for an unknown name, listing the known ones.
 * @example
 * ```ts
 * import { presetOptions } from "../../mod.ts";
 * const course = presetOptions("course");
 * if (course.epochs !== 5 || course.lr !== 0.003 || course.viewSize !== 224) throw new Error("the notebook's recipe");
 * ```
 */
export function presetOptions(name: string): Recipe {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new RocksError(
      "usage",
      `Unknown preset "${name}": expected ${Object.keys(PRESETS).map((k) => `"${k}"`).join(" or ")}`,
    );
  }
  return { ...PRESETS[name as keyof typeof PRESETS] };
}
