/**
 * The input matrix end to end: a data folder holding one of every kind of
 * file a real folder holds — sound photos of every format, and every way a
 * file can fail to be one — through `rocks train`, `eval` and `predict`. One
 * bad photo never stops a run: each command finishes the rest, names every
 * skipped file with its reason, and exits 0; with nothing readable it exits 1.
 * (tests/README.md lists the rows.)
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { crc32 } from "../lib/util/hash.ts";
import { saveClassifier } from "../lib/model/model_file.ts";
import { loadTrunk } from "../lib/trunk/load.ts";
import { randomClassifier } from "./_classifier.ts";
import {
  courseTrain,
  encodePng,
  isRoot,
  runCli,
  tempDir,
  testImage,
  texturePng,
  withExifOrientation,
  writeTextureDataset,
} from "./_helpers.ts";

/** Reasons, by file, that every skipped bad input must carry (a substring of each). */
const BAD: Record<string, string> = {
  "stripes/empty.jpg": "is empty (0 bytes)",
  "stripes/truncated.jpg": "could not be decoded as JPEG",
  "stripes/truncated.png": "could not be decoded as PNG",
  "stripes/random bytes.jpg": "is not a JPEG or PNG image",
  "stripes/text.png": "is not a JPEG or PNG image",
  "stripes/notes.txt": "not a photo (expected .jpg, .jpeg, .png)",
  "stripes/no-extension": "not a photo (expected .jpg, .jpeg, .png)",
  "stripes/folder.jpg": "is a folder, not a photo",
  "stripes/dangling.jpg": "is a broken symbolic link",
  "stripes/loop.jpg": "is a symbolic link loop",
  "stripes/pipe.jpg": "is not a regular file",
  "stripes/bomb.png": "is 100000×100000 pixels, over the limit of 100000000 (raise it with --max-pixels)",
  "stripes/secret.jpg": "cannot be read: permission denied",
  "stripes/locked": "folder cannot be read: permission denied",
};

/** Sound photos of every format, all to be trained on. */
async function writeOddGoodPhotos(dir: string): Promise<string[]> {
  const base = texturePng("speckle", 99, 64);
  // The JPEGs are this same picture as ImageMagick wrote them (tests/images/, scripts/make_test_images.ts).
  const rgb = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) & 255);
  const files: Record<string, Uint8Array> = {
    "speckle/gray.jpg": await testImage("speckle-gray.jpg"),
    "speckle/cmyk.jpg": await testImage("speckle-cmyk.jpg"),
    "speckle/progressive.jpg": await testImage("speckle-progressive.jpg"),
    "speckle/rotated.jpg": withExifOrientation(await testImage("speckle-baseline.jpg"), 6),
    "speckle/UPPER CASE.JPG": await testImage("speckle-baseline.jpg"),
    "speckle/Mondgestein ü 月.png": base,
    "speckle/a png named.jpg": base,
    "speckle/rgb16.png": encodePng(new Uint8Array(64 * 64 * 6).map((_, i) => (i * 7) & 255), 64, 64, 3, 16),
    "speckle/palette.png": encodePng(
      new Uint8Array(64 * 64).map((_, i) => i % 8),
      64,
      64,
      1,
      8,
      new Uint8Array(24).map((_, i) => i * 10),
    ),
    "speckle/alpha.png": encodePng(
      new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 0 : rgb[i]!)),
      64,
      64,
      4,
    ),
    "speckle/one pixel.png": encodePng(new Uint8Array([10, 200, 30]), 1, 1),
    "speckle/thin.png": encodePng(new Uint8Array(1 * 5000 * 3).fill(90), 1, 5000),
    "speckle/tiny.jpg": await testImage("red-1x1.jpg"),
  };
  for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(`${dir}/${name}`, bytes);
  return Object.keys(files);
}

async function writeBadInputs(dir: string): Promise<void> {
  const d = `${dir}/stripes`;
  const jpeg = await testImage("stripes-baseline.jpg"); // texturePng("stripes", 7, 64) as a JPEG
  const png = texturePng("stripes", 8, 64);
  await Deno.writeFile(`${d}/empty.jpg`, new Uint8Array());
  await Deno.writeFile(`${d}/truncated.jpg`, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await Deno.writeFile(`${d}/truncated.png`, png.subarray(0, 80));
  await Deno.writeFile(`${d}/random bytes.jpg`, crypto.getRandomValues(new Uint8Array(5000)));
  await Deno.writeTextFile(`${d}/text.png`, "This is a text file with a .png name.\n");
  await Deno.writeTextFile(`${d}/notes.txt`, "notes");
  await Deno.writeFile(`${d}/no-extension`, png);
  await Deno.mkdir(`${d}/folder.jpg`);
  await Deno.symlink(`${d}/nothing.jpg`, `${d}/dangling.jpg`);
  await Deno.symlink(`${d}/loop.jpg`, `${d}/loop.jpg`);
  await new Deno.Command("mkfifo", { args: [`${d}/pipe.jpg`] }).output();
  const bomb = png.slice();
  new DataView(bomb.buffer).setUint32(16, 100_000);
  new DataView(bomb.buffer).setUint32(20, 100_000);
  new DataView(bomb.buffer).setUint32(29, crc32(bomb.subarray(12, 29)));
  await Deno.writeFile(`${d}/bomb.png`, bomb);
  await Deno.writeFile(`${d}/secret.jpg`, jpeg);
  await Deno.chmod(`${d}/secret.jpg`, 0o000);
  await Deno.mkdir(`${d}/locked`);
  await Deno.writeFile(`${d}/locked/inside.png`, png);
  await Deno.chmod(`${d}/locked`, 0o000);
  await Deno.writeTextFile(`${d}/.DS_Store`, "hidden: ignored, not even skipped");
}

Deno.test("rocks train, eval and predict skip every bad input with its reason and finish the rest", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 4);
  const odd = await writeOddGoodPhotos(data);
  await writeBadInputs(data);
  // As root a chmod 000 file is still readable: a permission Deno refuses stands in for it.
  const denoFlags = isRoot() ? [`--deny-read=${data}/stripes/secret.jpg,${data}/stripes/locked`] : [];
  const common = ["--workers", "1", "--no-cache"];

  const train = await runCli([
    ...courseTrain(data, `${dir.path}/model`, "--epochs 1 --augment none --test-fraction 0.25 --json"),
    ...common,
  ], { denoFlags });
  assertEquals(train.code, 0, train.stderr);
  const t = JSON.parse(train.stdout);
  assertEquals(t.trainCount + t.testCount, 8 + odd.length, "every sound photo of every format is used");
  const skipped = new Map<string, string>(
    t.skipped.map((s: { file: string; reason: string }) => [s.file, s.reason]),
  );
  assertEquals([...skipped.keys()].sort(), Object.keys(BAD).sort());
  for (const [file, reason] of Object.entries(BAD)) {
    assert(skipped.get(file)!.includes(reason), `${file}: ${skipped.get(file)}`);
  }
  // Each is also named on stderr as it is met.
  for (const file of Object.keys(BAD)) assert(train.stderr.includes(`Skipping ${file}: `), file);

  const ev = await runCli(["eval", `${dir.path}/model`, data, ...common], { denoFlags });
  assertEquals(ev.code, 0, ev.stderr);
  assert(ev.stdout.includes(`Accuracy: `) && ev.stdout.includes(`on ${8 + odd.length} photos`), ev.stdout);
  assert(ev.stdout.includes(`Skipped ${Object.keys(BAD).length} files:`), ev.stdout);
  for (const [file, reason] of Object.entries(BAD)) {
    assert(ev.stdout.includes(`  ${file}: `), `${file} ${reason}`);
  }

  // predict: one entry per input, in order; folders expanded; a bad one as { file, error }.
  const inputs = [
    `${data}/stripes`,
    `${data}/stripes/no-extension`, // named directly: read by its content
    `${data}/gone.jpg`,
    `${data}/stripes/folder.jpg`,
  ];
  const pr = await runCli(["predict", `${dir.path}/model`, ...inputs, "--json", ...common], { denoFlags });
  assertEquals(pr.code, 0, pr.stderr);
  const preds: { file: string; class?: string; error?: string }[] = JSON.parse(pr.stdout);
  const byFile = new Map(preds.map((p) => [p.file.slice(data.length + 1), p]));
  for (const name of ["stripes/stripes_000.png", "stripes/no-extension"]) {
    assert(byFile.get(name)?.class, `${name}: ${JSON.stringify(byFile.get(name))}`);
  }
  assert(byFile.get("gone.jpg")?.error?.endsWith("gone.jpg does not exist"), pr.stdout);
  assert(byFile.get("stripes/folder.jpg")?.error?.endsWith("is a folder, not a photo"), pr.stdout);
  for (
    const name of ["empty.jpg", "truncated.png", "random bytes.jpg", "dangling.jpg", "loop.jpg", "pipe.jpg"]
  ) {
    const p = byFile.get(`stripes/${name}`);
    assert(p && p.error && !p.class, `${name}: ${JSON.stringify(p)}`);
  }
  assert(byFile.get("stripes/locked")?.error?.endsWith("cannot be read: permission denied"), pr.stdout);
  assertEquals(
    preds.filter((p) => p.error).length,
    13,
    "the folder's 10 bad photo names, its locked folder, 2 inputs",
  );
  await Deno.chmod(`${data}/stripes/locked`, 0o755); // so the temporary folder can be removed
});

Deno.test("rocks train, eval and predict exit 1 when no photo at all can be read, and write no model", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  for (const c of ["a", "b"]) {
    await Deno.mkdir(`${data}/${c}`, { recursive: true });
    await Deno.writeTextFile(`${data}/${c}/x.jpg`, "not a photo");
  }
  const common = ["--workers", "0", "--no-cache"];
  const train = await runCli([
    ...courseTrain(data, `${dir.path}/m`),
    "--augment",
    "none",
    ...common,
  ]);
  assertEquals(train.code, 1, train.stderr);
  assert(
    train.stderr.includes("error: No photo in") || train.stderr.includes("has no readable photo"),
    train.stderr,
  );
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["data"], "no model written");
  const trunk = await loadTrunk({ backend: "wasm" });
  const c = randomClassifier(["a", "b"], trunk);
  trunk.dispose();
  await saveClassifier(`${dir.path}/m`, c);
  c.dispose();
  const ev = await runCli(["eval", `${dir.path}/m`, data, "--json", ...common]);
  assertEquals(ev.code, 1, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assertEquals([e.count, e.skipped.length], [0, 2]);
  const pr = await runCli(["predict", `${dir.path}/m`, `${data}/a`, `${data}/b`, ...common]);
  assertEquals(pr.code, 1, pr.stderr);
  assert(pr.stderr.includes("2 of 2 photos could not be read"), pr.stderr);
  // A folder of other classes than the model's: which ones, and the model's.
  await Deno.mkdir(`${data}/Basalt`);
  await Deno.writeFile(`${data}/Basalt/x.png`, texturePng("stripes", 1, 16));
  const other = await runCli(["eval", `${dir.path}/m`, data, ...common]);
  assertEquals(other.code, 1, other.stderr);
  assert(
    other.stderr.includes(
      `${data} has class folder Basalt that the model does not know: it was trained on a, b`,
    ),
    other.stderr,
  );
});
