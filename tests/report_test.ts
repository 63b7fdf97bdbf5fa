import { assert, assertEquals } from "./_assert.ts";
import { pickGridPhotos, rankMistakes } from "../lib/report/report.ts";
import type { Scored } from "../lib/score/evaluate.ts";
import {
  type CliRun,
  fileTempDir,
  flags,
  ROOT,
  runCli,
  runPageScript,
  writeTextureDataset,
} from "./_helpers.ts";
import type { PageFacts } from "./_report_page.ts";
import { haveChromium } from "./_system.ts";

/** Screenshots of the rendered report are kept here (gitignored). */
const ARTIFACTS = `${ROOT}/tests/.artifacts`;

// One small training run serves every CLI test below: 8 photos a class,
// 40 % held out (3 + 3), one epoch of centre views in batches of 4 (3 steps,
// a progress line each), embeddings cached so later commands reuse them.
// It runs at the first test that needs it: the pure tests of this file pay nothing for it.
const dir = fileTempDir("rocks-report-");
const data = `${dir}/data`;
const model = `${dir}/model`;
const cache = `${dir}/cache`;
const html = `${dir}/report.html`;
const fast = ["--workers", "1", "--cache", cache];
let run: Promise<CliRun> | undefined;
const trained = () =>
  run ??= writeTextureDataset(data, 8).then(() =>
    runCli([
      "train",
      data,
      "--out",
      model,
      ...flags("--epochs 1 --augment none --batch 4 --print-every 1 --test-fraction 0.4"),
      ...fast,
      "--report",
      html,
      "--progress",
      "--json",
    ])
  );

const scored = (file: string, truth: string, predicted: string, p: number): Scored => ({
  file,
  truth,
  predicted,
  probabilities: truth === predicted ? { [truth]: p, other: 1 - p } : { [truth]: 1 - p, [predicted]: p },
});

Deno.test("pickGridPhotos() draws the same photos for the same seed, and no more than there are", () => {
  const all = Array.from({ length: 20 }, (_, i) => scored(`f${i}`, "a", "a", 0.9));
  const a = pickGridPhotos(all, 5, 7).map((s) => s.file);
  assertEquals(pickGridPhotos(all, 5, 7).map((s) => s.file), a);
  assertEquals(new Set(a).size, 5);
  assert(pickGridPhotos(all, 5, 8).map((s) => s.file).join() !== a.join(), "another seed, another draw");
  assertEquals(pickGridPhotos(all.slice(0, 3), 5, 7).length, 3);
  assertEquals(all[0]!.file, "f0", "the input is not reordered");
});

Deno.test("rankMistakes() lists only wrong photos, the most confident mistake first", () => {
  const ranked = rankMistakes([
    scored("right", "a", "a", 0.99),
    scored("unsure", "a", "b", 0.55),
    scored("sure", "b", "a", 0.97),
    scored("middle", "a", "b", 0.8),
  ]);
  assertEquals(ranked.map((s) => s.file), ["sure", "middle", "unsure"]);
});

Deno.test("rocks train --progress draws the bar on stderr up to total/total and keeps --json stdout clean", async () => {
  const train = await trained();
  assertEquals(train.code, 0, train.stderr);
  assert(!train.stdout.includes("\r") && !train.stdout.includes("█"), "no bar on stdout");
  const json = JSON.parse(train.stdout);
  assertEquals([json.trainCount, json.testCount, json.report], [10, 6, html]);
  // The bar's states are the \r-separated pieces of stderr; the last training one is complete.
  // Views: 6 test photos + 10 training photos (centre views, embedded once).
  const states = train.stderr.split(/[\r\n]/).filter((s) => s.startsWith("training ["));
  assert(states.length >= 2, train.stderr);
  assert(/ 0\/16 /.test(states[0]!), states[0]);
  const last = states[states.length - 1]!;
  assert(/\] 16\/16 {2}[\d.]+ views\/s {2}done in \d+:\d\d$/.test(last.trimEnd()), JSON.stringify(last));
  assert(/scoring test photos \[█+\] 6\/6 /.test(train.stderr), "the report's scoring has its bar too");
  // The course's lines stay whole lines, printed above the bar.
  const lines = train.stderr.split("\n").map((l) => l.split("\r").pop()!.trim());
  assertEquals(lines.filter((l) => /^Epoch 1\/1\.\. Train loss: \d\.\d{3}\.\. Test loss/.test(l)).length, 3);
});

Deno.test({
  name:
    "rocks train --report writes one self-contained page that Chromium shows with grid, matrix and curves",
  // Without Chromium (tests/_system.ts: ROCKS_CHROMIUM or /usr/bin/chromium, not ROCKS_SKIP_BROWSER=1) this
  // test is reported as ignored; tests/fixtures.ts installs Chromium where it can and says how otherwise.
  ignore: !haveChromium,
  async fn() {
    const train = await trained();
    assertEquals(train.code, 0, train.stderr);
    const history = JSON.parse(train.stdout).history as unknown[];
    assertEquals(history.length, 3);
    const text = await Deno.readTextFile(html);
    // Nothing outside the file: no http(s) or file references in any src or href.
    assert(!/\b(?:src|href)="(?!data:)/.test(text), "every src/href is a data: URI");

    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const shot = `${ARTIFACTS}/report.png`;
    const facts = await runPageScript<PageFacts>("_report_page.ts", [html, shot]);

    // No network: the only request is the page itself.
    const pageUrl = new URL(`file://${await Deno.realPath(html)}`).href;
    assertEquals(facts.requests.filter((u) => u !== pageUrl && !u.startsWith("data:")), []);
    assertEquals([facts.violations, facts.errors], [[], []]);

    // The course's grid: 5 of the 6 test photos, each picture decoded, captioned Class:True/False.
    assertEquals(facts.grid.length, 5);
    for (const g of facts.grid) {
      assert(/^(speckle|stripes):(True|False)/.test(g.caption), g.caption);
      assert(/p = [01]\.\d{3}/.test(g.caption), g.caption);
      assertEquals(g.naturalWidth, 160);
      assert(g.alt.startsWith("Photo ") && g.alt.includes("true class"), g.alt);
    }
    assertEquals(facts.imagesWithoutAlt, 0);

    // Confusion matrix: a real table with headers, cells summing to the test count.
    assertEquals(facts.confusionHeaders.rows, ["speckle", "stripes"]);
    assertEquals(facts.confusionHeaders.columns.slice(1, 3), ["speckle", "stripes"]);
    assertEquals(facts.confusion.flat().reduce((a, b) => a + b, 0), 6);

    // Curves: one point per progress line in each series, and the same lines as a table.
    assertEquals(facts.points, { "train-loss": 3, "test-loss": 3, "test-accuracy": 3 });
    assertEquals(facts.historyRows, 3);
    assert((await Deno.stat(shot)).size > 10_000, "screenshot saved");
  },
});

Deno.test("rocks report lists a mislabelled folder's mistakes, most confident first, with a seeded grid", async () => {
  const train = await trained();
  assertEquals(train.code, 0, train.stderr);
  // The same photos with the classes swapped: every prediction is now a mistake.
  const swapped = `${dir}/swapped`;
  for (const [from, to] of [["speckle", "stripes"], ["stripes", "speckle"]]) {
    await Deno.mkdir(`${swapped}/${to}`, { recursive: true });
    for (const i of [0, 1]) {
      await Deno.copyFile(`${data}/${from}/${from}_00${i}.png`, `${swapped}/${to}/${from}_00${i}.png`);
    }
  }
  const out = `${dir}/swapped.html`;
  const r = await runCli(["report", model, swapped, "--samples", "3", "--seed", "2", "--out", out, ...fast]);
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.includes(`Wrote the report to ${out}: accuracy 0.000 on 4 photos`), r.stdout);
  assert(!r.stderr.includes("\r"), "no bar when stderr is not a terminal");
  const text = await Deno.readTextFile(out);
  const captions = [...text.matchAll(/<figcaption><span class="verdict">([^<]+)<\/span>/g)].map((m) => m[1]);
  assertEquals(captions.length, 3);
  assert(captions.every((c) => /^(speckle|stripes):False$/.test(c!)), captions.join());
  const mistakes = text.slice(
    text.indexOf('<section id="mistakes"'),
    text.indexOf('<section id="facts-section"'),
  );
  assert(mistakes.includes("(4 of 4)"), mistakes.slice(0, 200));
  // Each row: p(speckle), p(stripes); the predicted class's probability falls row by row.
  const rows = [...mistakes.matchAll(/<tr><td>\d+<\/td>.*?<\/tr>/g)].map((m) => m[0]);
  assertEquals(rows.length, 4);
  const confidence = rows.map((row) => {
    const p = [...row.matchAll(/<td>([01]\.\d{3})<\/td>/g)].map((m) => Number(m[1]));
    return Math.max(...p);
  });
  assertEquals(confidence, [...confidence].sort((a, b) => b - a));
  assert(text.includes("every photo in"), "the facts say what was scored");
});
