/**
 * Leaks: thousands of predictions in one process leave
 * `tf.memory().numTensors` where it was and resident memory within a stated
 * bound. The bulk runs from cached embeddings (the same path `rocks predict`
 * takes when the cache holds the photos), so the test stays under a minute;
 * a smaller number of full predictions runs the trunk, the decoder and the
 * resampler every time.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "./_assert.ts";
import { cachedEmbedder, openEmbedCache } from "../lib/embed/cache.ts";
import { predict } from "../lib/score/predict.ts";
import { loadTrunk } from "../lib/trunk/load.ts";
import { trunkEmbedder } from "../lib/embed/embedder.ts";
import { randomClassifier } from "./_classifier.ts";
import { tempDir, texturePng } from "./_helpers.ts";

/** RSS growth allowed over each phase, after its warm-up: V8 collects garbage when it likes. */
const RSS_BOUND_MB = 64;

const mb = () => Deno.memoryUsage().rss / 2 ** 20;

Deno.test("5,000 cached and 40 full predictions leave numTensors flat and RSS within 64 MiB", async () => {
  await using dir = await tempDir();
  const trunk = await loadTrunk({ backend: "wasm" });
  const classifier = randomClassifier(["speckle", "stripes"], trunk);
  const photos: string[] = [];
  for (let i = 0; i < 10; i++) {
    const file = `${dir.path}/p${i}.png`;
    await Deno.writeFile(file, texturePng(i % 2 ? "stripes" : "speckle", i, 48));
    photos.push(file);
  }
  const full = trunkEmbedder(trunk).embed;
  const cache = await openEmbedCache(`${dir.path}/cache`);
  const cached = cachedEmbedder(full, cache, trunk.sha256);
  try {
    // Warm-up: fills the cache and every lazy allocation (codecs, kernels, buffers).
    await predict({ embed: cached }, classifier, photos);
    await predict({ embed: full }, classifier, photos.slice(0, 2));
    const tensors = tf.memory().numTensors;
    const figures: string[] = [];

    // 1. 5,000 predictions through predict() from cached embeddings (500 calls of 10 photos).
    let rss0 = mb();
    let peak = rss0;
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) {
      const preds = await predict({ embed: cached }, classifier, photos);
      assertEquals(preds.length, 10);
      if (i % 50 === 49) {
        assertEquals(tf.memory().numTensors, tensors, `after ${(i + 1) * 10} cached predictions`);
        peak = Math.max(peak, mb());
      }
    }
    assertEquals(cache.stats.misses, 10, "all 5,000 came from the cache");
    figures.push(
      `5000 cached predictions: ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rss0.toFixed(0)} → ${
        mb().toFixed(0)
      } MiB (peak ${peak.toFixed(0)})`,
    );
    assert(mb() - rss0 < RSS_BOUND_MB, figures.at(-1));

    // 2. 1,000 single-embedding calls of Classifier.probabilities.
    const embedding = new Float32Array(2048).map((_, i) => (i % 7) / 7);
    rss0 = mb();
    for (let i = 0; i < 1000; i++) {
      const [p] = await classifier.probabilities([embedding]);
      assert(p && Math.abs(p[0]! + p[1]! - 1) < 1e-5);
    }
    assertEquals(tf.memory().numTensors, tensors, "after 1000 probabilities() calls");
    figures.push(`1000 probabilities() calls: RSS ${rss0.toFixed(0)} → ${mb().toFixed(0)} MiB`);
    assert(mb() - rss0 < RSS_BOUND_MB, figures.at(-1));

    // 3. 40 full predictions: read, decode, resample, trunk, head, every time.
    rss0 = mb();
    const t3 = performance.now();
    for (let i = 0; i < 20; i++) {
      const preds = await predict({ embed: full }, classifier, photos.slice(i % 9, (i % 9) + 2));
      assert(preds.every((p) => "class" in p));
    }
    assertEquals(tf.memory().numTensors, tensors, "after 40 full predictions");
    figures.push(
      `40 full predictions: ${((performance.now() - t3) / 1000).toFixed(1)} s, RSS ${rss0.toFixed(0)} → ${
        mb().toFixed(0)
      } MiB`,
    );
    assert(mb() - rss0 < RSS_BOUND_MB, figures.at(-1));
    console.log(figures.join("\n"));
  } finally {
    classifier.dispose();
    trunk.dispose();
  }
});
