/**
 * `deno doc --lint` over every public entry point (`mod.ts` and each
 * stage's `mod.ts`, as `deno.json` `exports` lists them), together, so a
 * type that one entry point uses and another exports counts as public.
 *
 * One kind of report is let through, and counted: a public function or
 * type of ours that takes or returns a TensorFlow.js tensor (`Tensor2D`,
 * `Scalar`, …) is reported as referencing a private type, because those
 * types are tfjs's, not this package's to export or document. Every other
 * report fails the check.
 * @module
 */
import config from "../deno.json" with { type: "json" };

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** tfjs-core's tensor types, which the trunk, the head and the gradients pass around. */
const TFJS_TYPES = /references private type '(Tensor|Tensor[1-6]D|Scalar|Rank)'$/;

const entries = Object.values(config.exports as Record<string, string>);
const out = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entries],
  cwd: ROOT,
  stdout: "piped",
  stderr: "piped",
  env: { NO_COLOR: "1" },
}).output();
const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
const reports = [...text.matchAll(/^error\[([a-z-]+)\]: (.*)\n\s*--> (.*)$/gm)];
const tfjs = reports.filter((r) => r[1] === "private-type-ref" && TFJS_TYPES.test(r[2]!));
const rest = reports.filter((r) => !tfjs.includes(r));
if (rest.length || (!out.success && reports.length === 0)) {
  console.error(rest.length ? rest.map((r) => `${r[1]}: ${r[2]} (${r[3]})`).join("\n") : text);
  console.error(`doc lint: ${rest.length || "?"} problem(s) in ${entries.length} entry points`);
  Deno.exit(1);
}
console.log(
  `doc lint: ${entries.length} entry points clean (${tfjs.length} references to tfjs tensor types let through)`,
);
