/**
 * `rocks export <model-dir> [--format onnx] [--out FILE]`: the whole network
 * (ResNet50 trunk and trained head) as one ONNX file for onnxruntime.
 * @module
 */
import { defineCommand, described, oneOf, valued } from "../command.ts";
import { backend, out } from "../options.ts";

/** The formats `--format` accepts. */
export const EXPORT_FORMATS = ["onnx"] as const;

/**
 * The file written when `--out` is not given: `<model-dir>.onnx` beside the
 * folder (`model.onnx` for `.` or `..`).
 * @param modelDir The model folder as typed.
 */
export function defaultExportPath(modelDir: string): string {
  const dir = modelDir.replace(/\/+$/, "");
  const last = dir.slice(dir.lastIndexOf("/") + 1);
  if (last === "" || last === "." || last === "..") return dir === "" ? "/model.onnx" : `${dir}/model.onnx`;
  return `${dir}.onnx`;
}

/** `rocks export`. */
export const exportCommand = defineCommand({
  name: "export",
  summary: "the whole network as an ONNX file for onnxruntime",
  usage: "export <model-dir>",
  description: `Writes a saved classifier, ResNet50 trunk and trained head together, as one
ONNX file (opset 13) that onnxruntime runs from Python, C#, Java, C++ or a
browser. Input "image": float32 [batch, height, width, 3], RGB 0-255, each
photo cut as the model was trained (shorter side to S, centre crop S×S,
anti-aliased; S is printed, and stored in the file's metadata as view_size).
The graph does the rest: BGR, mean subtraction, ResNet50, unit length when
trained so, the head. Outputs: log_probabilities and probabilities
[batch, classes], embedding [batch, 2048]. The README shows it run from Python.`,
  options: [
    valued("format", "onnx", "the file's format (default onnx, the only one)"),
    described(out, { value: "FILE", help: "the file to write (default <model-dir>.onnx)" }),
    described(backend, {
      help: "auto|webgpu|wasm|cpu: holds the head's weights while they are read (default cpu)",
    }),
  ] as const,
  positionals: { min: 1, max: 1, refusal: () => `export takes one model folder: see rocks export --help` },
  async run([modelDir], values, io) {
    oneOf(values, "format", EXPORT_FORMATS);
    const path = values.out ?? defaultExportPath(modelDir!);
    const rocks = await import("../../mod.ts");
    const { initBackend, loadResnetWeights, parseBackendName } = await import("../../lib/trunk/mod.ts");
    await initBackend(parseBackendName(values.backend ?? "cpu")); // the head's weights are read, nothing is computed
    const weights = await loadResnetWeights();
    const classifier = await rocks.loadClassifier(modelDir!, { trunkSha256: weights.sha256 });
    try {
      const file = await rocks.writeOnnx(path, classifier, { weights });
      const shape = (s: (number | string)[]) => `[${s.join(", ")}]`;
      io.out(`Wrote ${file.path}: ONNX opset ${file.opset}, ${(file.bytes / 1e6).toFixed(1)} MB`);
      const width = Math.max(...[...file.inputs, ...file.outputs].map((v) => v.name.length));
      for (const v of file.inputs) io.out(`  input  ${v.name.padEnd(width)}  float32 ${shape(v.shape)}`);
      for (const v of file.outputs) {
        io.out(`  output ${v.name.padEnd(width)}  float32 ${shape(v.shape)}: ${v.description}`);
      }
      io.out(
        `Cut each photo to its ${file.viewSize}×${file.viewSize} view first: shorter side to ${file.viewSize}, ` +
          `centre crop, anti-aliased; pass RGB 0-255 as float32.`,
      );
      return 0;
    } finally {
      classifier.dispose();
    }
  },
});
