/**
 * `rocks train <data-dir>`: trains the course's head on a folder of class
 * folders and saves the classifier.
 * @module
 */
import { defineCommand } from "../command.ts";
import { TRAIN_OPTIONS, trainAndSave } from "../train_run.ts";

/** `rocks train`. */
export const train = defineCommand({
  name: "train",
  summary: "train on one sub-folder per class, save the classifier",
  usage: "train <data-dir>",
  description: `Trains the course's head (Linear 2048→512, ReLU, Dropout 0.2, Linear 512→C,
LogSoftmax; NLL loss, Adam) on frozen ResNet50 embeddings of the photos in
<data-dir>/<class>/... and saves it.

Recipe: --preset rocks (the default) or --preset course (the notebook's run
exactly); the recipe options below override the preset's values.
  preset   epochs batch  lr     augment  view  l2normalize
  course   5      16     0.003  crop     224   no
  rocks    60     16     0.001  none     448   yes   (grouped CV 0.932 vs 0.892; bench/ACCURACY.md)`,
  options: TRAIN_OPTIONS,
  positionals: {
    min: 1,
    max: 1,
    refusal: (got) => `train takes one data folder, got ${got}: see rocks train --help`,
  },
  watchesSignal: true,
  async run([dataDir], values, io) {
    const { DEFAULT_PRESET } = await import("../../mod.ts");
    // --resume without --preset continues the saved model's recipe.
    const preset = values.preset ?? (values.resume ? undefined : DEFAULT_PRESET);
    return await trainAndSave(values, io, { dataDir: dataDir!, preset });
  },
});
