/**
 * A trained classifier: the trunk's identity, the head's weights, the class
 * names, how photos are prepared, how it was trained and how it scored.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { disposeHead, type HeadConfig, headLogProbs, type HeadParams } from "./head.ts";
import type { Metrics } from "./metrics.ts";
import { PREPROCESSING } from "../trunk/facts.ts";
import type { Precision } from "../trunk/precision.ts";
import { sizedView, VIEW_SIZE, type ViewName } from "../image/view.ts";

/** Version of the model folder's layout; loading another version fails clearly. */
export const FORMAT_VERSION = 1;

/** One progress line of training: the course's print every few steps. */
export interface ProgressLine {
  /** 1-based epoch. */
  epoch: number;
  /** Total epochs. */
  epochs: number;
  /** 1-based optimiser step, counted over all epochs. */
  step: number;
  /** Mean training loss since the previous line. */
  trainLoss: number;
  /** Mean NLL on the test photos (null without a test set). */
  testLoss: number | null;
  /** Accuracy on the test photos (null without a test set). */
  testAccuracy: number | null;
}

/** How a classifier was trained (saved with it). */
export interface TrainingFacts {
  /** The preset the options came from (`course`, `rocks`, or `custom`). */
  preset?: string;
  /** Data folder trained on. */
  data: string;
  /** Epochs. */
  epochs: number;
  /** Photos per optimiser step. */
  batchSize: number;
  /** Adam's learning rate. */
  lr: number;
  /** Fraction of photos held out. */
  testFraction: number;
  /** `random` or `group`. */
  split: "random" | "group";
  /** Seed of split, crops, weights and dropout. */
  seed: number;
  /** `crop` (RandomResizedCrop) or `none` (centre view). */
  augment: "crop" | "none";
  /** Backend that ran training. */
  backend: string;
  /** Photos trained on. */
  trainCount: number;
  /** Photos tested on. */
  testCount: number;
  /** Seconds the training took. */
  seconds: number;
}

/** Everything saved about a classifier besides its weights. */
export interface ClassifierMeta {
  /** {@linkcode FORMAT_VERSION} of the folder it was read from or will be written as. */
  formatVersion: number;
  /** Class names, in label order. */
  classes: string[];
  /**
   * The frozen trunk it was trained on; `precision` is the arithmetic that made its embeddings
   * (absent in models from before int8: `fp32`).
   */
  trunk: { id: string; sha256: string; embeddingSize: number; precision?: Precision };
  /** How photos become network input. */
  preprocessing: typeof PREPROCESSING & {
    /** How a photo becomes the network's square input. */
    view: string;
    /** Side of that square, in pixels (224 is the course's). */
    size: number;
    /** Whether each embedding is scaled to unit length before the head. */
    l2normalize?: boolean;
  };
  /** The head's shape. */
  head: HeadConfig;
  /** How it was trained. */
  training: TrainingFacts;
  /** How it scored on its test photos (null without any). */
  test: Metrics | null;
  /** Mean NLL on its test photos (null without any). */
  testLoss: number | null;
  /** The progress lines printed while training. */
  history: ProgressLine[];
  /** When it was made (ISO 8601). */
  created: string;
}

/** A trained classifier. Call `dispose()` to free its weights. */
export interface Classifier {
  /** Facts about it. */
  readonly meta: ClassifierMeta;
  /**
   * Class probabilities for embeddings.
   * @param embeddings Each 2048 floats.
   * @returns One probability row per embedding, summing to 1.
   */
  probabilities(embeddings: Float32Array[]): Promise<Float32Array[]>;
  /** Frees the head's tensors. */
  dispose(): void;
}

/** The preprocessing description stored with every classifier. */
export function preprocessingFacts(size = VIEW_SIZE, l2normalize = false): ClassifierMeta["preprocessing"] {
  return { ...PREPROCESSING, view: `shorter side to ${size}, centre crop`, size, l2normalize };
}

/** The view a classifier scores photos with: the centre square at its input size. */
export function evalView(meta: ClassifierMeta): ViewName {
  return sizedView("centre", meta.preprocessing.size ?? VIEW_SIZE);
}

/** Scales each row to unit length (rows of zeros stay zero). Returns new arrays. */
export function l2normalizeRows(rows: Float32Array[]): Float32Array[] {
  return rows.map((r) => {
    let n = 0;
    for (const v of r) n += v * v;
    const k = n > 0 ? 1 / Math.sqrt(n) : 0;
    return r.map((v) => v * k);
  });
}

/** Each classifier's head weights, kept out of the public interface (tensors are an implementation detail). */
const HEADS = new WeakMap<Classifier, HeadParams>();

/** The head weights of a classifier made by {@linkcode makeClassifier} (owned by the classifier). */
export function headParamsOf(classifier: Classifier): HeadParams {
  const p = HEADS.get(classifier);
  if (!p) throw new Error("headParamsOf: not a classifier made by makeClassifier()");
  return p;
}

/** Wraps head weights and facts as a {@linkcode Classifier}, which then owns the weights. */
export function makeClassifier(meta: ClassifierMeta, params: HeadParams): Classifier {
  const classifier: Classifier = {
    meta,
    async probabilities(embeddings) {
      if (embeddings.length === 0) return [];
      if (meta.preprocessing.l2normalize) embeddings = l2normalizeRows(embeddings);
      const width = meta.head.inputSize;
      const flat = new Float32Array(embeddings.length * width);
      embeddings.forEach((e, i) => flat.set(e, i * width));
      const probs = tf.tidy(() =>
        tf.exp(headLogProbs(params, tf.tensor2d(flat, [embeddings.length, width])))
      );
      // data(), not dataSync(): WebGPU cannot read back synchronously here.
      const data = await probs.data() as Float32Array;
      probs.dispose();
      const c = meta.classes.length;
      return embeddings.map((_, i) => data.slice(i * c, (i + 1) * c));
    },
    dispose() {
      disposeHead(params);
    },
  };
  HEADS.set(classifier, params);
  return classifier;
}
