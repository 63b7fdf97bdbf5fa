/**
 * Named training recipes. `course` is the Learn notebook's recipe exactly;
 * `rocks` is the recipe measured to generalise better on grouped
 * cross-validation (see bench/ACCURACY.md for every recipe tried and the
 * numbers behind the choice). Options given next to a preset override it.
 * @module
 */
import { RocksError } from "./errors.ts";
import type { TrainOptions } from "./train.ts";

/** The recipes by name. */
export const PRESETS: Readonly<Record<string, Readonly<TrainOptions>>> = {
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

/** The preset `train` and `eval-recipe` use when none is named (`demo` always runs `course`). */
export const DEFAULT_PRESET = "rocks";

/**
 * The options of a named preset.
 * @param name A key of {@linkcode PRESETS}.
 * @throws {RocksError} For an unknown name, listing the known ones.
 */
export function presetOptions(name: string): TrainOptions {
  const p = PRESETS[name];
  if (!p) {
    throw new RocksError(
      "usage",
      `Unknown preset "${name}": expected ${Object.keys(PRESETS).map((k) => `"${k}"`).join(" or ")}`,
    );
  }
  return { ...p };
}

/**
 * The preset a saved model was trained with (`course` for models saved
 * before presets existed), or undefined when the folder cannot be read: the
 * full check is `loadClassifier()`'s.
 * @param dir The model folder.
 */
export async function savedPreset(dir: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/rocks.json`));
    const preset = meta?.training?.preset;
    return typeof preset === "string" && preset !== "custom" ? preset : "course";
  } catch {
    return undefined;
  }
}
