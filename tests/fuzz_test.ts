/**
 * A short, seeded run of tests/fuzz.ts (4 s of mutants; `deno task fuzz`
 * runs it for 5 minutes). It runs in a child process so that a hang — a
 * decoder looping forever inside WebAssembly, which no in-process timer can
 * interrupt — fails the test instead of stalling the suite.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import type { FuzzReport } from "./fuzz.ts";
import { ROOT, tempDir } from "./_helpers.ts";

const SEED = Number(Deno.env.get("ROCKS_FUZZ_SEED") ?? 1);

Deno.test("the fuzzer's mutants of real JPEGs and PNGs all end in pixels, a prediction or a RocksError", async () => {
  await using dir = await tempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}/tests/fuzz.ts`,
      "--seconds",
      "4",
      "--seed",
      String(SEED),
      "--predict-every",
      "15",
      "--crashes",
      `${dir.path}/crashes`,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // 4 s of fuzzing plus loading the trunk; far past that, it hangs.
  const deadline = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const out = await child.output();
  clearTimeout(deadline);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.signal !== "SIGKILL", `the fuzzer hung (seed ${SEED}): ${stderr}`);
  const report: FuzzReport = JSON.parse(new TextDecoder().decode(out.stdout));
  await Deno.mkdir(`${ROOT}/tests/.artifacts`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}/tests/.artifacts/fuzz-report.json`, JSON.stringify(report, null, 1));
  assertEquals(report.crashes, [], `seed ${SEED}`);
  assertEquals(out.code, 0, stderr);
  assert(report.decoded >= 40, `only ${report.decoded} inputs in 4 s`);
  assert(report.predicted >= 2, `only ${report.predicted} predictions`);
  assert((report.outcomes.ok ?? 0) > 0, "some mutants still decode");
  const errorClasses = Object.keys(report.outcomes).filter((k) => k !== "ok");
  assert(errorClasses.length >= 5, `error classes: ${errorClasses.join("; ")}`);
  assertEquals(Object.keys(report.mutations).length, 10, `mutations tried: ${Object.keys(report.mutations)}`);
  assert(report.slowestMs < 20_000, `slowest decode ${report.slowestMs} ms`);
});
