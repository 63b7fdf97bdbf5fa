/**
 * Builds the standalone `rocks` executable with `deno compile`, embedding
 * only what runs: the CLI and lib/ (the pool's worker script included), the
 * ResNet50 weights (weights/resnet50, float16 kernels), the node builds and
 * SIMD wasm of TensorFlow.js, and imagescript's JPEG/PNG wasm codecs.
 * Everything else in node_modules (tests' tools, source maps, other bundles)
 * is excluded.
 *
 * The runtime `deno compile` writes the program into (`denort`) is taken from
 * `DENORT_BIN` when set (as CI does, from ../shared/tools), else Deno
 * downloads it.
 *
 * Usage: deno run -A scripts/compile.ts [--target TRIPLE] [--output dist/rocks]
 * @module
 */
import { parseArgs } from "node:util";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** Packages the executable needs, and which of their files (paths relative to the package; `*` = all). */
const KEEP: Record<string, string[]> = {
  "@tensorflow/tfjs-core": ["package.json", "dist/tf-core.node.js"],
  "@tensorflow/tfjs-backend-cpu": ["package.json", "dist/tf-backend-cpu.node.js"],
  "@tensorflow/tfjs-backend-wasm": [
    "package.json",
    "dist/tf-backend-wasm.node.js",
    "dist/tfjs-backend-wasm-simd.wasm",
    "dist/tfjs-backend-wasm.wasm",
  ],
  "@tensorflow/tfjs-backend-webgpu": ["package.json", "dist/tf-backend-webgpu.node.js"],
  "imagescript": [
    "package.json",
    "wasm/node/jpeg.js",
    "wasm/node/png.js",
    "wasm/any/jpeg.wasm",
    "wasm/any/png.wasm",
  ],
  // Writes the ONNX file of `rocks export` (loaded only by that command).
  "protobufjs": ["package.json", "LICENSE", "index.js", "src"],
  "long": ["*"],
  "seedrandom": ["*"],
  "node-fetch": ["*"],
  "whatwg-url": ["*"],
  "tr46": ["*"],
  "webidl-conversions": ["*"],
};

/** Every path under `dir` to exclude so that only `keep` (files or folders) remain. */
function excludesFor(dir: string, keep: string[], rel = ""): string[] {
  if (keep.includes("*")) return [];
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (keep.includes(path)) continue;
    if (e.isDirectory && keep.some((k) => k.startsWith(`${path}/`))) {
      out.push(...excludesFor(`${dir}/${e.name}`, keep, path));
    } else {
      out.push(`${dir}/${e.name}`);
    }
  }
  return out;
}

function packageOf(entry: string): string | undefined {
  // node_modules/.deno/<name with + for />@<version>
  const at = entry.lastIndexOf("@");
  const name = (at > 0 ? entry.slice(0, at) : entry).replace("+", "/");
  return Object.hasOwn(KEEP, name) ? name : undefined;
}

/** The `--exclude` arguments for node_modules. */
export function nodeModulesExcludes(root = ROOT): string[] {
  const store = `${root}/node_modules/.deno`;
  const out: string[] = [];
  for (const e of Deno.readDirSync(store)) {
    if (!e.isDirectory) continue;
    const name = packageOf(e.name);
    if (!name) {
      out.push(`node_modules/.deno/${e.name}`);
      continue;
    }
    const pkgDir = `${store}/${e.name}/node_modules/${name}`;
    out.push(...excludesFor(pkgDir, KEEP[name]!).map((p) => p.slice(root.length + 1)));
  }
  // Top-level links to packages that are not kept.
  for (const e of Deno.readDirSync(`${root}/node_modules`)) {
    if (e.name === ".deno" || e.name.startsWith(".")) continue;
    if (e.name.startsWith("@")) {
      for (const s of Deno.readDirSync(`${root}/node_modules/${e.name}`)) {
        if (!Object.hasOwn(KEEP, `${e.name}/${s.name}`)) out.push(`node_modules/${e.name}/${s.name}`);
      }
    } else if (!Object.hasOwn(KEEP, e.name)) out.push(`node_modules/${e.name}`);
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string" }, output: { type: "string", default: "dist/rocks" } },
  });
  const args = [
    "compile",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-net", // rocks serve listens on a port
    "--include",
    "lib/embed/worker.ts",
    "--include",
    "weights/resnet50",
    ...["LICENSE", "THIRD_PARTY_LICENSES.txt"].flatMap((f) => ["--include", f]), // rocks --licenses prints them
    ...nodeModulesExcludes().flatMap((p) => ["--exclude", p]),
    ...(values.target ? ["--target", values.target] : []),
    "--output",
    values.output!,
    "cli.ts",
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!out.success) Deno.exit(out.code);
  const output = values.output!.startsWith("/") ? values.output! : `${ROOT}/${values.output}`;
  const size = (await Deno.stat(output)).size;
  console.log(`Built ${values.output}: ${(size / 1e6).toFixed(1)} MB`);
}
