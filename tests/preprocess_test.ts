import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { assertAlmostEquals, assertEquals } from "./_assert.ts";
import { CAFFE_MEAN_BGR } from "../lib/trunk/facts.ts";
import { toInputTensor } from "../lib/trunk/preprocess.ts";

Deno.test("CAFFE_MEAN_BGR holds Keras caffe-mode ImageNet means in BGR order", () => {
  assertEquals(CAFFE_MEAN_BGR, [103.939, 116.779, 123.68]);
});

Deno.test("toInputTensor() flips RGB to BGR and subtracts the means, without scaling", async () => {
  await tf.setBackend("cpu");
  const view = new Uint8Array(2 * 2 * 3);
  view.set([10, 20, 30], 0); // R, G, B of pixel 0
  view.set([255, 0, 128], 9); // pixel 3
  const t = toInputTensor([view, view], 2);
  assertEquals(t.shape, [2, 2, 2, 3]);
  const d = t.dataSync();
  [30 - 103.939, 20 - 116.779, 10 - 123.68].forEach((v, i) => assertAlmostEquals(d[i]!, v, 1e-4));
  [128 - 103.939, 0 - 116.779, 255 - 123.68].forEach((v, i) => assertAlmostEquals(d[9 + i]!, v, 1e-4));
  assertAlmostEquals(d[12 + 9]!, d[9]!, 0); // the second view equals the first
  t.dispose();
});
