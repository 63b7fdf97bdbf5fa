// onnxruntime-web's wasm backend running a ResNet50 ONNX file, under Node.js:
// the onnxruntime-web peer of bench/bench.ts. It measures the trunk's
// throughput on tensors already made, as bench/trunk.ts does for ours.
//
// Usage: node ort_resnet50.mjs <peer-dir> <model.onnx> <threads> <batch> <images>
// <peer-dir> holds node_modules/onnxruntime-web (npm install --prefix <peer-dir> onnxruntime-web@1.30.0).
// Prints one JSON object on stdout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";

const [peerDir, modelPath, threadsArg, batchArg, imagesArg] = process.argv.slice(2);
if (!peerDir || !modelPath || !threadsArg || !batchArg || !imagesArg) {
  console.error("usage: node ort_resnet50.mjs <peer-dir> <model.onnx> <threads> <batch> <images>");
  process.exit(2);
}
const threads = Number(threadsArg);
const batch = Number(batchArg);
const images = Number(imagesArg);

// The package's own entry point for Node's ESM loader (its "node" export).
const pkgDir = join(peerDir, "node_modules", "onnxruntime-web");
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const ort = await import(pathToFileURL(join(pkgDir, pkg.exports["."].node.import)).href);
const version = pkg.version;

ort.env.wasm.numThreads = threads;
ort.env.logLevel = "error";
const started = performance.now();
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "all",
});
const loadSeconds = (performance.now() - started) / 1000;

// [batch, 3, 224, 224] in the range of caffe-normalised pixels.
const data = new Float32Array(batch * 3 * 224 * 224);
let seed = 1;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  data[i] = (seed / 2 ** 32) * 255 - 128;
}
const input = new ort.Tensor("float32", data, [batch, 3, 224, 224]);
const feeds = { [session.inputNames[0]]: input };

await session.run(feeds); // warm-up: first run allocates and plans
let done = 0;
const t0 = performance.now();
while (done < images) {
  const out = await session.run(feeds);
  const emb = out[session.outputNames[0]];
  if (emb.dims[1] !== 2048) throw new Error(`Expected a [N, 2048] output, got [${emb.dims}]`);
  done += batch;
}
const seconds = (performance.now() - t0) / 1000;
await session.release();
console.log(JSON.stringify({
  runtime: `onnxruntime-web ${version} (wasm, node ${process.versions.node})`,
  threads,
  batch,
  images: done,
  seconds,
  imagesPerSecond: done / seconds,
  loadSeconds,
}));
