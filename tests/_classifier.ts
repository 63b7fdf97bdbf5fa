/**
 * A classifier with a freshly initialised head, for tests that need one
 * without training (fuzzing, leak checks, model files).
 * @module
 */
import {
  type Classifier,
  FORMAT_VERSION,
  makeClassifier,
  preprocessingFacts,
} from "../lib/model/classifier.ts";
import { headConfig, initHead } from "../lib/model/head.ts";
import { createRng } from "../lib/util/rng.ts";

/**
 * A classifier over `classes` whose head holds PyTorch-style random weights.
 * @param classes The class names.
 * @param trunk The trunk it claims to be trained on.
 * @param seed Seed of the weights.
 */
export function randomClassifier(
  classes: string[],
  trunk: { id: string; sha256: string },
  seed = 1,
): Classifier {
  const head = headConfig(classes.length);
  return makeClassifier({
    formatVersion: FORMAT_VERSION,
    classes,
    trunk: { id: trunk.id, sha256: trunk.sha256, embeddingSize: head.inputSize },
    preprocessing: preprocessingFacts(),
    head,
    training: {
      data: "none",
      epochs: 0,
      batchSize: 16,
      lr: 0.003,
      testFraction: 0,
      split: "random",
      seed,
      augment: "none",
      backend: "wasm",
      trainCount: 0,
      testCount: 0,
      seconds: 0,
    },
    test: null,
    testLoss: null,
    history: [],
    created: new Date(0).toISOString(),
  }, initHead(head, createRng(seed)));
}
