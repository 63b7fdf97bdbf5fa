import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { parseGroupsCsv, seriesGroups } from "../lib/data/groups.ts";
import { scanDataset } from "../lib/data/scan.ts";
import { splitSamples } from "../lib/data/split.ts";
import { duplicateWarning } from "../lib/data/duplicates.ts";
import { RocksError } from "../lib/util/errors.ts";
import { SPACE_ROCKS, tempDir } from "./_helpers.ts";

async function touch(path: string, bytes = new Uint8Array([0xff, 0xd8])) {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, bytes);
}

Deno.test("scanDataset() reads the Learn photos as two sorted classes with 91 and 63 photos", async () => {
  const d = await scanDataset(SPACE_ROCKS);
  assertEquals(d.classes, ["Basalt", "Highland"]);
  assertEquals(d.samples.filter((s) => s.label === 0).length, 91);
  assertEquals(d.samples.filter((s) => s.label === 1).length, 63);
  assertEquals(d.skipped, []);
});

Deno.test("scanDataset() ignores hidden files, lists non-photos as skipped, and walks sub-folders", async () => {
  await using dir = await tempDir();
  await touch(`${dir.path}/b class/one.JPG`);
  await touch(`${dir.path}/b class/.DS_Store`);
  await touch(`${dir.path}/b class/notes.txt`);
  await touch(`${dir.path}/a/nested/two.png`);
  await touch(`${dir.path}/a/three.jpeg`);
  await touch(`${dir.path}/.hidden/four.jpg`);
  const d = await scanDataset(dir.path);
  assertEquals(d.classes, ["a", "b class"]);
  assertEquals(d.samples.map((s) => [s.name, s.label]), [["a/nested/two.png", 0], ["a/three.jpeg", 0], [
    "b class/one.JPG",
    1,
  ]]);
  assertEquals(d.skipped.map((s) => s.file), ["b class/notes.txt"]);
});

Deno.test("scanDataset() says what is wrong with a folder it cannot use", async () => {
  await using dir = await tempDir();
  await assertRejects(() => scanDataset(`${dir.path}/nope`), RocksError, "does not exist");
  await assertRejects(() => scanDataset(dir.path), RocksError, "has 0 class folders");
  await touch(`${dir.path}/only/x.jpg`);
  await assertRejects(
    () => scanDataset(dir.path),
    RocksError,
    "has 1 class folder (only), expected at least 2",
  );
  await Deno.mkdir(`${dir.path}/empty`);
  await assertRejects(
    () => scanDataset(dir.path),
    RocksError,
    `Class folder ${dir.path}/empty holds no photos`,
  );
});

Deno.test("seriesGroups() puts consecutive NASA frames of one year in one group", () => {
  const g = seriesGroups([
    "B/Basalt_Cristobalite_s69-45539.jpg",
    "B/Basalt_Cristobalite_s69-45555.jpg", // gap 16: same series
    "B/Basalt_Cristobalite_s69-45583.jpg", // gap 28: new series
    "H/Crustal_Anorthosite_s72-45560.jpg", // another year
    "H/photo.jpg", // no number: its own group
  ]);
  assertEquals(g[0], g[1]);
  assert(g[2] !== g[1] && g[3] !== g[0] && g[4] === "file:photo.jpg");
});

Deno.test("scanDataset() groups the Learn photos into photo series, overridable by groups.csv", async () => {
  const d = await scanDataset(SPACE_ROCKS);
  const groups = new Set(d.samples.map((s) => s.group));
  assertEquals(groups.size, 33);
  const s10044 = d.samples.filter((s) => s.group === "s69-45539");
  assertEquals(s10044.length, 27); // the sample 10044 series, about 26 photos per the data README
  assertEquals(
    parseGroupsCsv('file,group\nBasalt/a.jpg,rock1\n"Highland/b c.jpg",rock2\n', "g.csv"),
    new Map([["Basalt/a.jpg", "rock1"], ["Highland/b c.jpg", "rock2"]]),
  );
  // Quoted as rocks' own CSV writer quotes: a comma and doubled quotes inside a field.
  assertEquals(
    parseGroupsCsv('"Highland/say ""hi"", twice.jpg","rock, 3"\nBasalt/a,b.jpg,rock4\n', "g.csv"),
    new Map([['Highland/say "hi", twice.jpg', "rock, 3"], ["Basalt/a,b.jpg", "rock4"]]),
  );
  assertThrows(() => parseGroupsCsv('"open.jpg,rock\n', "g.csv"), RocksError, "g.csv line 1");
  await using dir = await tempDir();
  await touch(`${dir.path}/x/a_s69-10001.jpg`);
  await touch(`${dir.path}/x/b_s69-10002.jpg`);
  await touch(`${dir.path}/y/c.jpg`);
  await Deno.writeTextFile(`${dir.path}/groups.csv`, "x/b_s69-10002.jpg,other\n");
  const o = await scanDataset(dir.path);
  assertEquals(o.samples.map((s) => s.group), ["s69-10001", "other", "file:c.jpg"]);
});

Deno.test("splitSamples() holds out 20 % of each class, the same for the same seed", async () => {
  const d = await scanDataset(SPACE_ROCKS);
  const a = splitSamples(d.samples, 0.2, "random", 5);
  const b = splitSamples(d.samples, 0.2, "random", 5);
  const c = splitSamples(d.samples, 0.2, "random", 6);
  assertEquals(a.test.map((s) => s.name), b.test.map((s) => s.name));
  assert(
    a.test.map((s) => s.name).join() !== c.test.map((s) => s.name).join(),
    "another seed, another split",
  );
  assertEquals([a.train.length, a.test.length], [123, 31]);
  assertEquals(a.test.filter((s) => s.label === 0).length, 18);
  assertEquals(a.test.filter((s) => s.label === 1).length, 13);
  assertEquals(splitSamples(d.samples, 0, "random", 1).test.length, 0);
});

Deno.test("splitSamples() in group mode never puts one photo series on both sides", async () => {
  const d = await scanDataset(SPACE_ROCKS);
  for (let seed = 0; seed < 20; seed++) {
    const s = splitSamples(d.samples, 0.2, "group", seed);
    const trainGroups = new Set(s.train.map((x) => x.group));
    assert(s.test.every((x) => !trainGroups.has(x.group)), `seed ${seed}: a group is on both sides`);
    assert(s.test.length >= 20 && s.test.length <= 45, `seed ${seed}: ${s.test.length} test photos`);
    for (const label of [0, 1]) {
      assert(
        s.test.some((x) => x.label === label) && s.train.some((x) => x.label === label),
        `class ${label}`,
      );
    }
  }
});

Deno.test("scanDataset() names link loops, broken links, pipes, folders named like photos and links back up", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await touch(`${d}/A/good.jpg`, new Uint8Array([1]));
  await touch(`${d}/B/good.png`, new Uint8Array([2]));
  await Deno.symlink(`${d}/A/loop.jpg`, `${d}/A/loop.jpg`);
  await Deno.symlink(`${d}/nowhere.png`, `${d}/A/dangling.png`);
  await Deno.mkdir(`${d}/A/folder.jpg`);
  await new Deno.Command("mkfifo", { args: [`${d}/B/pipe.jpg`] }).output();
  await Deno.symlink(`${d}/B`, `${d}/B/back-up`); // walking it would never end
  await Deno.symlink(`${d}/nowhere`, `${d}/broken-class`);
  const data = await scanDataset(d);
  assertEquals(data.classes, ["A", "B"]);
  assertEquals(data.samples.map((s) => s.name), ["A/good.jpg", "B/good.png"]);
  assertEquals(data.skipped, [
    { file: "broken-class", reason: "is a broken symbolic link (its target does not exist)" },
    { file: "A/dangling.png", reason: "is a broken symbolic link (its target does not exist)" },
    { file: "A/folder.jpg", reason: "is a folder, not a photo" },
    { file: "A/loop.jpg", reason: "is a symbolic link loop" },
    { file: "B/back-up", reason: "folder is a link to a folder already scanned" },
    { file: "B/pipe.jpg", reason: "is not a regular file (a pipe, socket or device)" },
  ]);
});

Deno.test("scanDataset() stops at an empty class for training and leaves it out for scoring", async () => {
  await using dir = await tempDir();
  await touch(`${dir.path}/Basalt/a.jpg`);
  await Deno.mkdir(`${dir.path}/Highland`);
  await touch(`${dir.path}/Highland/.DS_Store`); // hidden: no photo
  await assertRejects(
    () => scanDataset(dir.path),
    RocksError,
    `Class folder ${dir.path}/Highland holds no photos (.jpg, .jpeg, .png): add photos or remove the folder`,
  );
  const d = await scanDataset(dir.path, { minClasses: 1, emptyClasses: "skip" });
  assertEquals(d.classes, ["Basalt"]);
  assertEquals(d.samples.map((s) => [s.name, s.label]), [["Basalt/a.jpg", 0]]);
  assertEquals(d.skipped, [{ file: "Highland/", reason: "class folder holds no photos" }]);
});

Deno.test("scanDataset() finds the same photo (same bytes) under two classes and names both files", async () => {
  await using dir = await tempDir();
  const same = new Uint8Array([0xff, 0xd8, 1, 2, 3]);
  await touch(`${dir.path}/Basalt rock/x.jpg`, same);
  await touch(`${dir.path}/Highland/copy of x.jpg`, same);
  await touch(`${dir.path}/Highland/other.jpg`, new Uint8Array([0xff, 0xd8, 9, 9, 9])); // same size, other bytes
  await touch(`${dir.path}/Highland/twin.jpg`, new Uint8Array([7]));
  await touch(`${dir.path}/Highland/twin2.jpg`, new Uint8Array([7])); // one class: not reported
  const d = await scanDataset(dir.path);
  assertEquals(d.duplicates, [{
    files: ["Basalt rock/x.jpg", "Highland/copy of x.jpg"],
    classes: ["Basalt rock", "Highland"],
  }]);
  assertEquals(
    duplicateWarning(d.duplicates![0]!),
    "The same photo (identical bytes) is in 2 classes (Basalt rock, Highland): Basalt rock/x.jpg, Highland/copy of x.jpg",
  );
});

Deno.test("splitSamples() keeps a class's only photo for training and holds out none of it", () => {
  const samples = [
    ...Array.from(
      { length: 9 },
      (_, i) => ({ path: `a${i}`, name: `A/a${i}.jpg`, label: 0, group: `a${i}` }),
    ),
    { path: "b0", name: "B/b0.jpg", label: 1, group: "b0" },
  ];
  for (const mode of ["random", "group"] as const) {
    for (const fraction of [0.2, 0.5, 0.9]) {
      const { train, test } = splitSamples(samples, fraction, mode, 1);
      assert(train.some((s) => s.label === 1), `${mode} ${fraction}: B trains`);
      assert(!test.some((s) => s.label === 1), `${mode} ${fraction}: B is not tested`);
      assert(train.some((s) => s.label === 0) && test.some((s) => s.label === 0), `${mode} ${fraction}`);
    }
  }
});
