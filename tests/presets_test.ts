import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { DEFAULT_PRESET, presetOptions, PRESETS } from "../lib/train/presets.ts";
import { RocksError } from "../lib/util/errors.ts";
import { flags, runCli, tempDir, writeTextureDataset } from "./_helpers.ts";

Deno.test("presetOptions('course') is the notebook's recipe, and an unknown name lists the known ones", () => {
  assertEquals(presetOptions("course"), {
    preset: "course",
    epochs: 5,
    batchSize: 16,
    lr: 0.003,
    augment: "crop",
    viewSize: 224,
    l2normalize: false,
  });
  assert(DEFAULT_PRESET in PRESETS);
  assertThrows(
    () => presetOptions("magic"),
    RocksError,
    `Unknown preset "magic": expected "course" or "rocks"`,
  );
});

Deno.test("a preset and its options round-trip through the model folder and rocks info", async () => {
  await using dir = await tempDir();
  await writeTextureDataset(`${dir.path}/data`, 5);
  const common = [
    "--workers",
    "1",
    "--cache",
    `${dir.path}/cache`,
    ...flags("--epochs 1 --augment none --json"),
  ];
  for (const preset of Object.keys(PRESETS)) {
    const out = `${dir.path}/m-${preset}`;
    const r = await runCli(["train", `${dir.path}/data`, "--preset", preset, "--out", out, ...common]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).preset, preset);
    const meta = JSON.parse(await Deno.readTextFile(`${out}/rocks.json`));
    const p = presetOptions(preset);
    assertEquals(meta.training.preset, preset);
    assertEquals([meta.preprocessing.size, meta.preprocessing.l2normalize], [p.viewSize, p.l2normalize]);
    assertEquals(
      [meta.training.epochs, meta.training.augment],
      [1, "none"],
      "explicit options override the preset",
    );
    const info = await runCli(["info", out]);
    assert(info.stdout.includes(`preset ${preset}`), info.stdout);
    const pred = await runCli([
      "predict",
      out,
      `${dir.path}/data/stripes/stripes_001.png`,
      "--json",
      "--workers",
      "1",
    ]);
    assertEquals(JSON.parse(pred.stdout)[0].class, "stripes");
  }
});

Deno.test("rocks eval-recipe cross-validates a recipe by photo groups and reports mean ± std", async () => {
  await using dir = await tempDir();
  await writeTextureDataset(`${dir.path}/data`, 6);
  const r = await runCli([
    "eval-recipe",
    `${dir.path}/data`,
    ...flags("--folds 3 --augment none --workers 1 --cache"),
    `${dir.path}/cache`,
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const cv = JSON.parse(r.stdout);
  assertEquals(cv.folds.length, 3);
  assertEquals(cv.folds.reduce((a: number, f: { testCount: number }) => a + f.testCount, 0), 12);
  assert(cv.accuracy.mean >= 0.9 && cv.accuracy.std >= 0, JSON.stringify(cv.accuracy));
  assertEquals(Object.keys(cv.recall), ["speckle", "stripes"]);
  assert(Array.isArray(cv.worstGroups) && cv.worstGroups.length === 12, "every photo is its own group here");
  const bad = await runCli(["eval-recipe", `${dir.path}/data`, "--folds", "1"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("--folds must be at least 2"), bad.stderr);
});
