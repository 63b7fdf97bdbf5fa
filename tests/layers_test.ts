/**
 * The shape of the house (ARCHITECTURE.md) as scripts/check_layers.ts
 * checks it: its rules on small made-up graphs, then on the real one.
 */
import { assert, assertEquals } from "./_assert.ts";
import { cycles, layerProblems } from "../scripts/check_layers.ts";
import { ROOT } from "./_helpers.ts";

const graph = (edges: [string, string[]][]) => new Map(edges.map(([k, v]) => [k, new Set(v)]));

Deno.test("layerProblems() allows imports down the stages and refuses one that runs up", () => {
  assertEquals(
    layerProblems(graph([
      ["lib/train/train.ts", ["lib/embed/job.ts", "lib/train/feed.ts", "lib/util/errors.ts"]],
      ["lib/train/feed.ts", ["lib/embed/schedule.ts"]],
    ])),
    [],
  );
  const up = layerProblems(graph([["lib/model/classifier.ts", ["lib/train/options.ts"]]]));
  assertEquals(up, [
    "lib/model/classifier.ts (stage model) imports lib/train/options.ts from stage train, above it",
  ]);
});

Deno.test("layerProblems() refuses entry points inside lib/ and deep imports from the CLI", () => {
  const problems = layerProblems(graph([
    ["lib/report/report.ts", ["mod.ts", "lib/model/mod.ts"]],
    ["cli/commands/train.ts", ["lib/train/train.ts", "lib/train/mod.ts", "lib/util/errors.ts", "mod.ts"]],
  ]));
  assertEquals(problems.length, 3, problems.join("\n"));
  assert(problems[0]!.includes("imports the entry point mod.ts"));
  assert(problems[1]!.includes("imports the entry point lib/model/mod.ts"));
  assert(problems[2]!.startsWith("cli/commands/train.ts imports lib/train/train.ts"));
});

Deno.test("cycles() finds every import cycle, self-imports included, and nothing in a tree", () => {
  assertEquals(cycles(graph([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]])), []);
  const found = cycles(graph([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["a.ts", "c.ts"]],
    ["c.ts", ["c.ts"]],
    ["d.ts", ["a.ts"]],
  ]));
  assertEquals(found.map((c) => [...c].sort().join(",")).sort(), ["a.ts,b.ts", "c.ts"]);
});

Deno.test("the project's own module graph keeps its layers and has no cycle", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", `${ROOT}/scripts/check_layers.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assert(text.includes("no cycle: ok"), text);
});
