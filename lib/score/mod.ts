/**
 * The score stage: a trained classifier applied to photos. `predict` gives
 * each photo's class and probabilities; `evaluate` scores labelled photos
 * (accuracy, per-class precision / recall, confusion matrix, loss).
 *
 * ```ts
 * import { evaluate, predict } from "./mod.ts";
 * console.log(typeof evaluate, typeof predict);
 * ```
 * @module
 */
export { argMax, predict, type Prediction, type PredictOptions } from "./predict.ts";
export { evaluate, type EvaluateOptions, type Evaluation, type Scored } from "./evaluate.ts";
