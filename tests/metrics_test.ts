import { assertEquals } from "./_assert.ts";
import { computeMetrics } from "../lib/model/metrics.ts";

Deno.test("computeMetrics() counts a confusion matrix with rows as the true class", () => {
  const m = computeMetrics(["a", "b", "c"], [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2]);
  assertEquals(m.confusion, [[2, 1, 0], [1, 1, 0], [0, 0, 1]]);
  assertEquals(m.accuracy, 4 / 6);
  assertEquals(m.count, 6);
  assertEquals(m.perClass.a, { precision: 2 / 3, recall: 2 / 3, support: 3 });
  assertEquals(m.perClass.b, { precision: 1 / 2, recall: 1 / 2, support: 2 });
  assertEquals(m.perClass.c, { precision: 1, recall: 1, support: 1 });
});

Deno.test("computeMetrics() gives null where a score has no photos to count", () => {
  const m = computeMetrics(["a", "b"], [0, 0], [0, 0]);
  assertEquals(m.perClass.b, { precision: null, recall: null, support: 0 });
  assertEquals(computeMetrics(["a"], [], []).accuracy, null);
});
