/**
 * `rocks info [model-dir]`: versions, the backend `auto` picks and why, the
 * weights and whether they verify; a model folder's facts.
 * @module
 */
import { defineCommand, described } from "../command.ts";
import { askedPrecision } from "../embedder.ts";
import { fmt3 } from "../format.ts";
import { backend, json, precision } from "../options.ts";

/** `rocks info`. */
export const info = defineCommand({
  name: "info",
  summary: "versions, backend, weights; a model's facts",
  usage: "info [model-dir]",
  description: `Shows versions, the backend "auto" picks and why, where the ResNet50 weights
are and whether their checksums verify. With a model folder: its classes,
trunk, preprocessing, training options and scores.`,
  options: [
    backend,
    described(precision, {
      help: "auto|fp32|int8: say what this precision runs as here (default the model's, else auto)",
    }),
    described(json, { help: "print one JSON object" }),
  ] as const,
  positionals: { min: 0, max: 1, refusal: () => `info takes at most one model folder` },
  async run([modelDir], values, io) {
    const rocks = await import("../../mod.ts");
    const { parseBackendName } = await import("../../lib/trunk/mod.ts");
    const asked = askedPrecision(values);
    const info = await rocks.gatherInfo(parseBackendName(values.backend ?? "auto"), modelDir, asked);
    if (values.json) io.out(JSON.stringify(info, null, 1));
    else {
      const { backend, weights } = info;
      io.out(Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(", "));
      io.out(`Backend: ${backend.name}${backend.simd ? " (SIMD)" : ""}: ${backend.reason}`);
      io.out(`Backends here:`);
      for (const b of info.backends) {
        io.out(`  ${b.name.padEnd(6)} ${b.available ? "yes" : "no "}  ${b.note}`);
      }
      const a = info.adapter;
      if (a.available) {
        io.out(
          `WebGPU adapter: vendor ${a.vendor || "?"}, architecture ${a.architecture || "?"}, ${
            a.description || "?"
          }`,
        );
      }
      io.out(`tfjs flags: ${Object.entries(info.flags).map(([k, v]) => `${k}=${v}`).join(", ")}`);
      io.out(
        `Weights: ResNet50 from ${weights.package}, converted by rocks to ${weights.storage}, at ${weights.location}${
          weights.embedded ? " (embedded in this executable)" : ""
        }`,
      );
      io.out(
        weights.verified
          ? `  ${weights.files} files, sha256 verified (set ${weights.sha256!.slice(0, 16)}…)`
          : `  NOT verified: ${weights.error}`,
      );
      io.out(`Precision: ${info.precision.runs.precision}: ${info.precision.runs.reason}`);
      if (info.precision.runs.precision !== "int8") {
        io.out(
          `  int8 here: ${
            info.precision.int8.precision === "int8" ? "yes (--precision int8)" : "no"
          }: ${info.precision.int8.reason}`,
        );
      }
      io.out(`Embedding cache: ${info.cacheDir ?? "none (no HOME or XDG_CACHE_HOME)"}`);
      if (info.model) {
        const m = info.model;
        io.out(`\nModel ${m.dir}: format ${m.formatVersion}, classes ${m.classes.join(", ")}`);
        io.out(
          `  trunk ${m.trunk.id} (${
            m.trunk.precision ?? "fp32"
          } embeddings); preprocessing ${m.preprocessing.mode} (${m.preprocessing.view}` +
            `${m.preprocessing.l2normalize ? ", unit-length embeddings" : ""})`,
        );
        io.out(`  preset ${m.training.preset ?? "course"}`);
        const t = m.training;
        io.out(
          `  trained on ${t.data}: ${t.trainCount} photos, ${t.epochs} epochs, batch ${t.batchSize}, lr ${t.lr}, ` +
            `split ${t.split} ${t.testFraction}, seed ${t.seed}, augment ${t.augment}, ${t.backend}, ${
              t.seconds.toFixed(1)
            } s`,
        );
        io.out(`  test: ${m.test ? `accuracy ${fmt3(m.test.accuracy)} on ${m.test.count} photos` : "none"}`);
      }
    }
    return info.weights.verified ? 0 : 1;
  },
});
