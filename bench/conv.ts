/**
 * The convolution kernel against tfjs-wasm's own, layer by layer: every
 * distinct convolution shape of ResNet50 past its stem, at one batch size,
 * timed through `fastConv2d` (FMA build and mul + add build), through
 * `tf.fused.conv2d` (XNNPACK), and on the int8 path (`quantizeActivations` +
 * `fastConv2dInt8`), each with bias and ReLU, in one thread.
 *
 * Usage: deno run --allow-read --allow-env bench/conv.ts [--batch 4] [--seconds 0.5] [--json]
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/trunk/backend.ts";
import {
  fastConv2d,
  fastConv2dInt8,
  fastConvUsesFma,
  packFilter,
  packWinogradFilter,
  quantizeActivations,
  registerFastConv,
} from "../lib/trunk/conv_kernel.ts";
import { packFilterInt8 } from "../lib/trunk/pack_int8.ts";

/** One convolution shape: input side, channels in and out, filter side, stride. */
interface Layer {
  side: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  /** How many times ResNet50 runs this shape. */
  count: number;
}

/** ResNet50's convolutions past the stem, by shape (Keras layout: stride on the first 1×1). */
const LAYERS: Layer[] = [
  { side: 56, cin: 64, cout: 64, k: 1, stride: 1, count: 1 },
  { side: 56, cin: 64, cout: 64, k: 3, stride: 1, count: 3 },
  { side: 56, cin: 64, cout: 256, k: 1, stride: 1, count: 4 },
  { side: 56, cin: 256, cout: 64, k: 1, stride: 1, count: 2 },
  { side: 56, cin: 256, cout: 128, k: 1, stride: 2, count: 1 },
  { side: 28, cin: 128, cout: 128, k: 3, stride: 1, count: 4 },
  { side: 28, cin: 128, cout: 512, k: 1, stride: 1, count: 4 },
  { side: 56, cin: 256, cout: 512, k: 1, stride: 2, count: 1 },
  { side: 28, cin: 512, cout: 128, k: 1, stride: 1, count: 3 },
  { side: 28, cin: 512, cout: 256, k: 1, stride: 2, count: 1 },
  { side: 14, cin: 256, cout: 256, k: 3, stride: 1, count: 6 },
  { side: 14, cin: 256, cout: 1024, k: 1, stride: 1, count: 6 },
  { side: 28, cin: 512, cout: 1024, k: 1, stride: 2, count: 1 },
  { side: 14, cin: 1024, cout: 256, k: 1, stride: 1, count: 5 },
  { side: 14, cin: 1024, cout: 512, k: 1, stride: 2, count: 1 },
  { side: 7, cin: 512, cout: 512, k: 3, stride: 1, count: 3 },
  { side: 7, cin: 512, cout: 2048, k: 1, stride: 1, count: 3 },
  { side: 14, cin: 1024, cout: 2048, k: 1, stride: 2, count: 1 },
  { side: 7, cin: 2048, cout: 512, k: 1, stride: 1, count: 2 },
];

/** Mean milliseconds of `fn` over at least `seconds`, after one warm-up call. */
function time(fn: () => void, seconds: number): number {
  fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

const { values } = parseArgs({
  args: Deno.args,
  options: { batch: { type: "string" }, seconds: { type: "string" }, json: { type: "boolean" } },
  strict: true,
});
const batch = Number(values.batch ?? 4);
const seconds = Number(values.seconds ?? 0.5);
await initBackend("wasm");
registerFastConv();

const rows = LAYERS.map((l) => {
  const x = tf.randomUniform([batch, l.side, l.side, l.cin], -1, 1, "float32", 1) as tf.Tensor4D;
  const filter = tf.randomUniform([l.k, l.k, l.cin, l.cout], -0.1, 0.1, "float32", 2) as tf.Tensor4D;
  const bias = tf.randomUniform([l.cout], -1, 1, "float32", 3) as tf.Tensor1D;
  const values = filter.dataSync() as Float32Array;
  const packed = tf.tensor1d(packFilter(values, [l.k, l.k, l.cin, l.cout]));
  const winograd = l.k === 3 ? tf.tensor1d(packWinogradFilter(values, l.cin, l.cout)) : undefined;
  const attrs = { kernelSize: l.k, stride: l.stride, pad: (l.k - 1) / 2, outChannels: l.cout, relu: true };
  const ours = (fma: boolean) => () => fastConv2d({ x, filter: packed, bias, ...attrs, fma }).dispose();
  const wino = () => fastConv2d({ x, filter: winograd!, bias, ...attrs, winograd: true }).dispose();
  // The int8 path as the trunk runs it: quantize the input (ReLU'd, as every int8 layer's is), then convolve.
  const relued = tf.relu(x) as tf.Tensor4D;
  const actScale = new Float32Array(l.cin).fill(1 / 127);
  const q = packFilterInt8(values, [l.k, l.k, l.cin, l.cout], actScale);
  const [qWords, qScale, inverse] = [
    tf.tensor1d(q.words, "int32"),
    tf.tensor1d(q.scale),
    tf.tensor1d(actScale.map((v) => 1 / v)),
  ];
  const int8 = () =>
    tf.tidy(() => {
      fastConv2dInt8({
        x: quantizeActivations(relued, inverse),
        filter: qWords,
        scale: qScale,
        bias,
        ...attrs,
      });
    });
  const theirs = () =>
    tf.fused.conv2d({
      x,
      filter,
      strides: l.stride,
      pad: l.k === 3 ? "same" : "valid",
      bias,
      activation: "relu",
    })
      .dispose();
  const out = Math.floor((l.side - 1) / l.stride) + 1;
  const macs = batch * out * out * l.cout * l.cin * l.k * l.k;
  const fma = time(ours(true), seconds);
  const ms = {
    fma,
    mulAdd: time(ours(false), seconds),
    winograd: winograd ? time(wino, seconds) : null,
    tfjs: time(theirs, seconds),
    int8: fastConvUsesFma() ? time(int8, seconds) : null,
  };
  tf.dispose([x, filter, bias, packed, relued, qWords, qScale, inverse, ...(winograd ? [winograd] : [])]);
  return { ...l, macs, ms, trunk: ms.winograd ?? fma };
});

if (values.json) console.log(JSON.stringify({ batch, fma: fastConvUsesFma(), rows }));
else {
  const g = (macs: number, ms: number | null) =>
    (ms === null ? "—" : (macs / ms / 1e6).toFixed(1)).padStart(6);
  console.log(
    `batch ${batch}, one thread; GMAC/s of the direct convolution's multiply-adds (higher is better)`,
  );
  console.log(`FMA build runs here: ${fastConvUsesFma()}; "trunk" = what the trunk runs (Winograd for 3×3)`);
  console.log(
    "layer                        ×    FMA mul+add  Winograd  tfjs  trunk/tfjs    int8  int8/trunk",
  );
  const total = { fma: 0, mulAdd: 0, trunk: 0, tfjs: 0, int8: 0 };
  for (const r of rows) {
    const name = `${r.side}² ${r.cin}→${r.cout} ${r.k}×${r.k}/${r.stride}`;
    console.log(
      `${name.padEnd(28)} ${String(r.count).padStart(2)} ${g(r.macs, r.ms.fma)}  ${
        g(r.macs, r.ms.mulAdd)
      }    ${g(r.macs, r.ms.winograd)} ${g(r.macs, r.ms.tfjs)}  ${(r.ms.tfjs / r.trunk).toFixed(2)}×      ${
        g(r.macs, r.ms.int8)
      }  ${r.ms.int8 === null ? "—" : `${(r.trunk / r.ms.int8).toFixed(2)}×`}`,
    );
    total.int8 += (r.ms.int8 ?? NaN) * r.count;
    total.fma += r.ms.fma * r.count;
    total.mulAdd += r.ms.mulAdd * r.count;
    total.trunk += r.trunk * r.count;
    total.tfjs += r.ms.tfjs * r.count;
  }
  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  console.log(
    `all ${LAYERS.reduce((a, l) => a + l.count, 0)} convolutions of one trunk call: as the trunk runs them ` +
      `${f(total.trunk)}, direct FMA ${f(total.fma)}, direct mul+add ${f(total.mulAdd)}, tfjs ${
        f(total.tfjs)
      } ` +
      `(${(total.tfjs / total.trunk).toFixed(2)}× tfjs's speed); int8 (quantizing included) ${
        f(total.int8)
      } ` +
      `(${(total.trunk / total.int8).toFixed(2)}× the float32 trunk's)`,
  );
}
