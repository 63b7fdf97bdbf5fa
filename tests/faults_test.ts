/**
 * Faults injected into running work: a stop request (the library's
 * AbortSignal; SIGINT and SIGTERM sent to a `rocks train` process), a full
 * disk and a read-only folder while saving, a cache folder that cannot be
 * written, a class whose every photo is unreadable, a learning rate that
 * diverges. Each ends in a clear error or warning, loses no saved model and
 * no complete cache record. (A worker crash: tests/pool_test.ts.)
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { RocksError } from "../lib/util/errors.ts";
import { loadClassifier, saveClassifier } from "../lib/model/model_file.ts";
import { openEmbedder } from "../lib/embed/embedder.ts";
import { trainFolder } from "../lib/train/train.ts";
import { randomClassifier } from "./_classifier.ts";
import {
  cliCommand,
  courseTrain,
  fileTempDir,
  flags,
  isRoot,
  runCli,
  tempDir,
  writeTextureDataset,
} from "./_helpers.ts";
import { testEmbedder, testTrunk } from "./_trunk.ts";
import { cacheProblems, readCacheFiles } from "./_cache_files.ts";

const data = fileTempDir("rocks-faults-");
await writeTextureDataset(data, 10);

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}${rel}`)) {
    if (e.isDirectory) out.push(...filesUnder(dir, `${rel}/${e.name}`));
    else out.push(`${rel}/${e.name}`);
  }
  return out.sort();
}

/** A model folder's files and their bytes. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of filesUnder(dir)) out[f] = Array.from(await Deno.readFile(`${dir}${f}`)).join(",");
  return out;
}

Deno.test("trainFolder() stops at the next step when its signal is aborted, and leaks no tensor", async () => {
  const embedder = await testEmbedder();
  const before = tf.memory().numTensors;
  const stop = new AbortController();
  const lines: number[] = [];
  const e = await trainFolder(embedder, data, {
    epochs: 3,
    batchSize: 4,
    printEvery: 1,
    augment: "none",
    onLine: (l) => {
      lines.push(l.step);
      if (l.step === 2) stop.abort("SIGINT");
    },
    signal: stop.signal,
  }).then(() => undefined, (e) => e);
  assert(e instanceof RocksError && e.kind === "interrupted", String(e));
  assertEquals(e.message, "Training was interrupted by SIGINT");
  assertEquals(lines, [1, 2]);
  assertEquals(tf.memory().numTensors, before);
  // Aborted before it starts: not one photo is embedded.
  let embedded = 0;
  const counting = {
    ...embedder,
    embed: (jobs: Parameters<typeof embedder.embed>[0]) => {
      embedded += jobs.length;
      return embedder.embed(jobs);
    },
  };
  await assertRejects(
    () => trainFolder(counting, data, { epochs: 1, signal: AbortSignal.abort("SIGTERM") }),
    RocksError,
    "Training was interrupted by SIGTERM",
  );
  assertEquals(embedded, 0);
});

Deno.test("rocks train stops cleanly on SIGINT: previous model untouched, cache records whole, next run resumes", async () => {
  await using dir = await tempDir();
  const model = `${dir.path}/model`;
  const cache = `${dir.path}/cache`;
  const previous = randomClassifier(["speckle", "stripes"], await testTrunk(), 9);
  await saveClassifier(model, previous);
  previous.dispose();
  const before = await snapshot(model);
  const args = [
    ...courseTrain(data, model),
    "--cache",
    cache,
    // Centre views embedded once, then 160 steps of a few ms each: the signal lands well before the last
    // one (with fresh crops every epoch, all of them may be embedded before the first step, and the few
    // steps after it can end before a signal arrives).
    ...flags("--workers 1 --augment none --epochs 40 --batch 4 --print-every 1 --seed 3"),
  ];
  const child = cliCommand(args).spawn();
  // Read stdout line by line; send SIGINT once the first training step has printed.
  let stdout = "";
  let sent = false;
  const stderrText = new Response(child.stderr).text();
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += chunk;
    if (!sent && /^Epoch 1\/40\.\. /m.test(stdout)) {
      child.kill("SIGINT");
      sent = true;
    }
  }
  const status = await child.status;
  const stderr = await stderrText;
  assert(sent, `no progress line came: ${stdout}\n${stderr}`);
  assertEquals(status.code, 130, stderr);
  assert(stderr.includes("error: Training was interrupted by SIGINT"), stderr);
  assert(stderr.includes(`${model} was left as it was`) && stderr.includes(cache), stderr);
  assert(!stdout.includes("Saved the classifier"), stdout);
  // 1. The previous model, byte for byte, and nothing left beside it.
  assertEquals(await snapshot(model), before);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["cache", "model"]);
  // 2. Every record in the cache is whole: each pack walks to its end in records whose magic, length and
  // CRC hold, each indexed, and nothing else is left in the folder (see tests/_cache_files.ts).
  assertEquals(cacheProblems(cache), "");
  const records = readCacheFiles(cache).records;
  assert(records.length >= 4, `records: ${records.length}`);
  // 3. The next run finds them all and finishes.
  const again = await runCli([...args, "--json"]);
  assertEquals(again.code, 0, again.stderr);
  const out = JSON.parse(again.stdout);
  assert(out.cacheHits >= records.length, `cache hits ${out.cacheHits} of ${records.length} records`);
  assertEquals(out.cacheHits + out.trunkRuns, out.views);
  const trained = await loadClassifier(model);
  assertEquals(trained.meta.training.seed, 3);
  trained.dispose();
});

Deno.test("rocks train stops on SIGTERM with exit code 143; other commands end at once", async () => {
  await using dir = await tempDir();
  const model = `${dir.path}/model`;
  const c = randomClassifier(["speckle", "stripes"], await testTrunk());
  await saveClassifier(model, c);
  c.dispose();
  for (const [command, marker] of [["train", "Backend:"], ["predict", null]] as const) {
    const args = command === "train"
      ? ["train", data, "--preset", "course", "--out", `${dir.path}/m`, "--no-cache", "--workers", "1"]
      : ["predict", model, `${data}/stripes`, "--workers", "1", "--no-cache"]; // no cache: a worker must start
    const child = cliCommand(args).spawn();
    let seen = "";
    let sent = false;
    const errText = new Response(child.stderr).text();
    if (!marker) {
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGTERM");
      sent = true;
    }
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      seen += chunk;
      if (!sent && seen.includes(marker!)) {
        child.kill("SIGTERM");
        sent = true;
      }
    }
    const status = await child.status;
    const stderr = await errText;
    assertEquals(status.code, 143, `${command}: ${stderr}`);
    if (command === "train") assert(stderr.includes("Training was interrupted by SIGTERM"), stderr);
  }
  assertEquals(
    [...Deno.readDirSync(dir.path)].map((e) => e.name),
    ["model"],
    "no new model, no temporary folder",
  );
});

Deno.test("rocks predict finishes when its reader goes away (a broken pipe, as with | head -1)", async () => {
  await using dir = await tempDir();
  const model = `${dir.path}/model`;
  const c = randomClassifier(["speckle", "stripes"], await testTrunk());
  await saveClassifier(model, c);
  c.dispose();
  const child = cliCommand(["predict", model, data]).spawn();
  await child.stdout.cancel(); // the reader is gone before the first line
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
});

Deno.test("rocks train to a full disk or a read-only folder says why (exit 1) and keeps the previous model", async () => {
  await using dir = await tempDir();
  const disk = `${dir.path}/disk`;
  await Deno.mkdir(disk);
  const root = isRoot();
  if (root) {
    const r = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=6m", "tmpfs", disk] })
      .output();
    assert(r.success, new TextDecoder().decode(r.stderr));
  }
  try {
    const model = `${disk}/m`;
    const previous = randomClassifier(["speckle", "stripes"], await testTrunk(), 9);
    await saveClassifier(model, previous);
    previous.dispose();
    const before = await snapshot(model);
    if (!root) await Deno.chmod(disk, 0o555);
    const r = await runCli(
      courseTrain(data, model, "--no-cache --workers 0 --epochs 1 --augment none --test-fraction 0"),
    );
    if (!root) await Deno.chmod(disk, 0o755);
    assertEquals(r.code, 1, r.stderr);
    const why = root ? "No space left on device" : "Permission denied";
    assert(
      r.stderr.includes(`error: Could not save the model to ${model}: ${why}`) &&
        r.stderr.includes(`nothing at ${model} was changed`),
      r.stderr,
    );
    assertEquals(await snapshot(model), before);
    assertEquals([...Deno.readDirSync(disk)].map((e) => e.name), ["m"]);
  } finally {
    if (root) await new Deno.Command("umount", { args: [disk] }).output();
  }
});

Deno.test("openEmbedder() goes on without a cache, with a warning, when the cache folder cannot be written", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  const warnings: string[] = [];
  const e = await openEmbedder({
    workers: 0,
    backend: "wasm",
    cache: `${dir.path}/file/cache`,
    onWarning: (m) => warnings.push(m),
  });
  try {
    assertEquals(e.cache, undefined);
    assertEquals(warnings.length, 1);
    assert(warnings[0]!.startsWith(`Cache folder ${dir.path}/file/cache is not writable`), warnings[0]);
    assert(warnings[0]!.endsWith("going on without a cache"), warnings[0]);
    const [r] = await e.embed([{ path: `${data}/stripes/stripes_000.png`, view: "centre" }]);
    assert(r && "embedding" in r, "embeds all the same");
  } finally {
    e.close();
  }
});

Deno.test("trainFolder() names a class whose every photo is unreadable, and trains a class of one photo", async () => {
  await using dir = await tempDir();
  await writeTextureDataset(dir.path, 4);
  await Deno.mkdir(`${dir.path}/broken`);
  await Deno.writeTextFile(`${dir.path}/broken/a.jpg`, "not a photo");
  await Deno.writeFile(`${dir.path}/broken/b.png`, new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  const embedder = await testEmbedder();
  await assertRejects(
    () => trainFolder(embedder, dir.path, { epochs: 1, augment: "none", testFraction: 0 }),
    RocksError,
    `Class broken in ${dir.path} has no readable photo to train on`,
  );
  await Deno.remove(`${dir.path}/broken`, { recursive: true });
  await Deno.mkdir(`${dir.path}/single`);
  await Deno.copyFile(`${dir.path}/stripes/stripes_000.png`, `${dir.path}/single/only one.png`);
  const warnings: string[] = [];
  const r = await trainFolder(embedder, dir.path, {
    epochs: 1,
    augment: "none",
    onWarning: (m) => warnings.push(m),
  });
  assertEquals(r.classifier.meta.classes, ["single", "speckle", "stripes"]);
  assert(r.split.train.some((s) => s.name === "single/only one.png"), "the one photo trains");
  // It is the same bytes as stripes_000.png: warned, both named.
  assertEquals(r.duplicates.map((d) => d.files), [["single/only one.png", "stripes/stripes_000.png"]]);
  assert(warnings[0]!.includes("single/only one.png, stripes/stripes_000.png"), warnings.join("\n"));
  r.classifier.dispose();
});

Deno.test("trainFolder() stops when the loss diverges instead of saving a broken head", async () => {
  const embedder = await testEmbedder();
  await assertRejects(
    () => trainFolder(embedder, data, { epochs: 2, augment: "none", lr: 1e30, testFraction: 0 }),
    RocksError,
    "Training diverged at step",
  );
});
