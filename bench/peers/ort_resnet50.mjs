// onnxruntime running a ResNet50 ONNX file under Node.js: the onnxruntime
// peers of bench/bench.ts, onnxruntime-web (wasm SIMD) and onnxruntime-node
// (native, CPU execution provider). It measures the trunk's throughput on
// tensors already made, as bench/trunk.ts does for ours.
//
// Usage: node ort_resnet50.mjs <peer-dir> <model.onnx> <threads> <batch> <images> [web|node] [nchw|nhwc]
// <peer-dir> holds node_modules/onnxruntime-web and node_modules/onnxruntime-node
// (npm install --prefix <peer-dir> onnxruntime-web@1.30.0 onnxruntime-node@1.30.0).
// nchw: a [N, 3, 224, 224] input and a [N, 2048] output (torchvision's ResNet50 without fc);
// nhwc: a [N, 224, 224, 3] input of 0–255 pixels, as `rocks export` writes (the whole classifier).
// Prints one JSON object on stdout.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";

const [peerDir, modelPath, threadsArg, batchArg, imagesArg, runtimeArg, layoutArg] = process.argv.slice(2);
if (!peerDir || !modelPath || !threadsArg || !batchArg || !imagesArg) {
  console.error(
    "usage: node ort_resnet50.mjs <peer-dir> <model.onnx> <threads> <batch> <images> [web|node] [nchw|nhwc]",
  );
  process.exit(2);
}
const threads = Number(threadsArg);
const batch = Number(batchArg);
const images = Number(imagesArg);
const runtime = runtimeArg ?? "web";
const layout = layoutArg ?? "nchw";

const pkgName = runtime === "node" ? "onnxruntime-node" : "onnxruntime-web";
const pkgDir = join(peerDir, "node_modules", pkgName);
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const version = pkg.version;
// onnxruntime-web: its own entry point for Node's ESM loader (its "node" export); onnxruntime-node: CommonJS.
const ort = runtime === "node"
  ? createRequire(join(peerDir, "package.json"))("onnxruntime-node")
  : await import(pathToFileURL(join(pkgDir, pkg.exports["."].node.import)).href);

ort.env.logLevel = "error";
if (runtime !== "node") ort.env.wasm.numThreads = threads;
const started = performance.now();
const session = await ort.InferenceSession.create(
  modelPath,
  runtime === "node"
    ? {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    }
    : { executionProviders: ["wasm"], graphOptimizationLevel: "all" },
);
const loadSeconds = (performance.now() - started) / 1000;

// nchw: [batch, 3, 224, 224] in the range of caffe-normalised pixels; nhwc: [batch, 224, 224, 3] pixels 0–255.
const data = new Float32Array(batch * 3 * 224 * 224);
let seed = 1;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  data[i] = (seed / 2 ** 32) * 255 - (layout === "nhwc" ? 0 : 128);
}
const input = new ort.Tensor(
  "float32",
  data,
  layout === "nhwc" ? [batch, 224, 224, 3] : [batch, 3, 224, 224],
);
const feeds = { [session.inputNames[0]]: input };

await session.run(feeds); // warm-up: first run allocates and plans
let done = 0;
const t0 = performance.now();
while (done < images) {
  const out = await session.run(feeds);
  const first = out[session.outputNames[0]];
  if (first.dims[0] !== batch || (layout === "nchw" && first.dims[1] !== 2048)) {
    throw new Error(`Unexpected output [${first.dims}] for a batch of ${batch}`);
  }
  done += batch;
}
const seconds = (performance.now() - t0) / 1000;
await session.release();
console.log(JSON.stringify({
  runtime: `${pkgName} ${version} (${
    runtime === "node" ? "native, CPU EP" : "wasm"
  }, node ${process.versions.node})`,
  threads,
  batch,
  images: done,
  seconds,
  imagesPerSecond: done / seconds,
  loadSeconds,
}));
