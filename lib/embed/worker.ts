/**
 * A pool worker: its own single-threaded backend and its own copy of the
 * trunk, embedding the chunks of photos the pool sends it. Messages:
 *
 * - in `{ type: "init", backend, precision?, weightsDir?, maxPixels?, batchSize?, crashAfter? }`
 *   out `{ type: "ready", trunk: { id, sha256, precision }, backend }` or `{ type: "fatal", message }`
 * - in `{ type: "embed", id, jobs }` → out `{ type: "done", id, results }`
 *   (embedding buffers are transferred, not copied)
 *
 * `crashAfter` makes the worker throw (an uncaught error, as a real crash
 * would) after that many chunks: a test aid for the pool's recovery.
 * @module
 */
/// <reference lib="deno.worker" />
import { parseBackendName } from "../trunk/backend.ts";
import { type LoadedTrunk, loadTrunk } from "../trunk/load.ts";
import { embedFiles } from "./embed_files.ts";
import type { EmbedJob } from "./job.ts";

let trunk: LoadedTrunk | undefined;
let options: { maxPixels?: number; batchSize?: number; crashAfter?: number } = {};
let chunks = 0;

self.onmessage = async (event: MessageEvent) => {
  const msg = event.data;
  if (msg.type === "init") {
    try {
      trunk = await loadTrunk({
        backend: parseBackendName(msg.backend ?? "auto"),
        ...(msg.weightsDir ? { weightsDir: msg.weightsDir } : {}),
        ...(msg.precision ? { precision: msg.precision } : {}),
      });
      options = { maxPixels: msg.maxPixels, batchSize: msg.batchSize, crashAfter: msg.crashAfter };
      self.postMessage({
        type: "ready",
        trunk: { id: trunk.id, sha256: trunk.sha256, precision: trunk.precision },
        backend: trunk.backend,
      });
    } catch (e) {
      self.postMessage({ type: "fatal", message: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  if (msg.type === "embed" && trunk) {
    if (options.crashAfter !== undefined && chunks++ >= options.crashAfter) {
      throw new Error("crash injected by the pool's crashAfter test option");
    }
    const results = await embedFiles(trunk, msg.jobs as EmbedJob[], {
      ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
    const transfer = results.flatMap((r) => ("embedding" in r ? [r.embedding.buffer as ArrayBuffer] : []));
    self.postMessage({ type: "done", id: msg.id, results }, { transfer });
  }
};
