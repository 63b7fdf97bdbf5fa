/**
 * Choosing and starting the TensorFlow.js backend that runs the network.
 *
 * `auto` picks WASM SIMD (the fast CPU path). `cpu` is tfjs's plain
 * JavaScript backend, kept for debugging. WebGPU slots in here as one more
 * entry of {@linkcode BACKENDS}.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
import { setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
import { RocksError } from "./errors.ts";

/** The backends a user may ask for. */
export const BACKENDS = ["auto", "wasm", "cpu"] as const;
/** A backend a user may ask for. */
export type BackendName = typeof BACKENDS[number];

/** What {@linkcode initBackend} started, and why. */
export interface BackendInfo {
  /** The tfjs backend that now runs every op. */
  name: "wasm" | "cpu";
  /** What the user asked for. */
  requested: BackendName;
  /** One sentence on why this backend was chosen. */
  reason: string;
  /** Whether the WASM backend runs its SIMD build. */
  simd: boolean;
  /** Threads the backend uses for one op. */
  threads: number;
}

let current: BackendInfo | undefined;

// Production mode: skips tfjs's debug checks and its "install tfjs-node" banner.
tf.env().set("PROD", true);

/** Checks that `name` is a backend this build knows, and narrows its type. */
export function parseBackendName(name: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(name)) {
    return name as BackendName;
  }
  throw new RocksError(
    "usage",
    `Unknown backend "${name}": expected ${BACKENDS.map((b) => `"${b}"`).join(", ")}`,
  );
}

function wasmFolder(): string {
  // The wasm binaries sit next to the package's entry point. Resolving the
  // npm package (not a path in this repo) works from a checkout, from Deno's
  // global cache when mod.ts is imported by URL, and inside a compiled binary.
  const entry = import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  if (!entry.startsWith("file:")) {
    throw new RocksError("runtime", `The WASM backend package resolved to ${entry}, not a local file`);
  }
  return new URL(".", entry).href;
}

async function startWasm(): Promise<boolean> {
  const dir = wasmFolder();
  // Deno is treated as Node by tfjs, and Node's reader takes plain paths.
  setWasmPaths(
    dir.startsWith("file:") ? decodeURIComponent(new URL(dir).pathname) : dir,
  );
  // tfjs's pthread build cannot start its workers under Deno: one thread per
  // backend; parallelism comes from separate workers instead.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  return await tf.setBackend("wasm");
}

/**
 * Starts the backend `requested` names (once per process; later calls with
 * the same request return the same info).
 * @param requested `auto` (default), `wasm` or `cpu`.
 * @returns What was started and why.
 */
export async function initBackend(
  requested: BackendName = "auto",
): Promise<BackendInfo> {
  if (current && (current.requested === requested || requested === "auto")) {
    return current;
  }
  let info: BackendInfo;
  if (requested === "cpu") {
    if (!(await tf.setBackend("cpu"))) {
      throw new RocksError("runtime", "The cpu backend could not start");
    }
    info = {
      name: "cpu",
      requested,
      reason: "asked for by name",
      simd: false,
      threads: 1,
    };
  } else {
    if (!(await startWasm())) {
      throw new RocksError(
        "runtime",
        "The WASM backend could not start: WebAssembly is unavailable",
      );
    }
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
    info = {
      name: "wasm",
      requested,
      reason: requested === "wasm"
        ? "asked for by name"
        : "no GPU backend in this build; WASM SIMD is the fastest CPU path",
      simd,
      threads: 1,
    };
  }
  await tf.ready();
  current = info;
  return info;
}

/** The backend started by {@linkcode initBackend}, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
