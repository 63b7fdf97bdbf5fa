/**
 * Choosing and starting the TensorFlow.js backend that runs the network.
 *
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` on the first adapter
 *   `navigator.gpu` offers, software adapters (llvmpipe) included;
 * - `wasm`: WASM SIMD, one thread (tfjs's pthread build cannot start its
 *   workers under Deno; the worker pool gives parallelism instead);
 * - `cpu`: tfjs's plain JavaScript backend, kept for debugging;
 * - `auto`: WebGPU when the adapter is a real GPU (not a fallback/software
 *   adapter), otherwise WASM SIMD.
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
import "npm:@tensorflow/tfjs-backend-webgpu@4.22.0";
import { setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
import { RocksError } from "../util/errors.ts";

/** The backends a user may ask for. */
export const BACKENDS = ["auto", "webgpu", "wasm", "cpu"] as const;
/** A backend a user may ask for. */
export type BackendName = typeof BACKENDS[number];

/** What WebGPU offers on this machine. */
export interface GpuAdapterFacts {
  /** Whether an adapter was found. */
  available: boolean;
  /** A software or fallback adapter (e.g. llvmpipe), not a real GPU. */
  fallback: boolean;
  /** Adapter vendor, as the driver reports it. */
  vendor: string;
  /** Adapter architecture. */
  architecture: string;
  /** Adapter description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  description: string;
  /** Why there is no adapter, when there is none. */
  error?: string;
}

/** What {@linkcode initBackend} started, and why. */
export interface BackendInfo {
  /** The tfjs backend that now runs every op. */
  name: "webgpu" | "wasm" | "cpu";
  /** What the user asked for. */
  requested: BackendName;
  /** One sentence on why this backend was chosen. */
  reason: string;
  /** Whether the WASM backend runs its SIMD build. */
  simd: boolean;
  /** Threads the backend uses for one op. */
  threads: number;
  /** The WebGPU adapter, when one was looked for. */
  adapter?: GpuAdapterFacts;
}

let current: BackendInfo | undefined;

// Production mode: skips tfjs's debug checks and its "install tfjs-node" banner.
tf.env().set("PROD", true);

/** Checks that `name` is a backend this build knows, and narrows its type. * @example
 * ```ts
 * import { RocksError } from "../../mod.ts";
 * import { parseBackendName } from "./mod.ts";
 * if (parseBackendName("wasm") !== "wasm") throw new Error("known name");
 * try {
 *   parseBackendName("cuda");
 * } catch (e) {
 *   if (!(e instanceof RocksError) || e.kind !== "usage") throw e;
 * }
 * ```
 */
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
  setWasmPaths(dir.startsWith("file:") ? decodeURIComponent(new URL(dir).pathname) : dir);
  // tfjs's pthread build cannot start its workers under Deno: one thread per
  // backend; parallelism comes from separate workers instead.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  return await tf.setBackend("wasm");
}

let adapterFacts: Promise<GpuAdapterFacts> | undefined;

/**
 * Asks `navigator.gpu` for an adapter (once per process) and describes it.
 * Never throws: no WebGPU, or no adapter, is a fact like any other.
 * @example
 * ```ts
 * import { probeGpu } from "./mod.ts";
 * const gpu = await probeGpu();
 * console.log(gpu.available ? `${gpu.description}${gpu.fallback ? " (software)" : ""}` : gpu.error);
 * ```
 */
export function probeGpu(): Promise<GpuAdapterFacts> {
  adapterFacts ??= (async () => {
    const none = (error: string) => ({
      available: false,
      fallback: false,
      vendor: "",
      architecture: "",
      description: "",
      error,
    });
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return none("this runtime has no navigator.gpu");
    quietXdgRuntimeDir();
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) {
        return none("navigator.gpu offered no adapter (no GPU driver, or no Vulkan/Metal/DX12 ICD)");
      }
      const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
      // The flag moved from the adapter to its info in newer WebGPU versions.
      const fallback =
        Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
        /llvmpipe|swiftshader|lavapipe|software/i.test(info.description ?? "");
      return {
        available: true,
        fallback,
        vendor: info.vendor ?? "",
        architecture: info.architecture ?? "",
        description: info.description ?? "",
      };
    } catch (e) {
      return none(`requestAdapter failed: ${e instanceof Error ? e.message : e}`);
    }
  })();
  return adapterFacts;
}

/**
 * Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" on
 * headless machines. Where it is unset, point it at a private temporary
 * folder (removed at exit) before asking for an adapter.
 */
function quietXdgRuntimeDir(): void {
  try {
    if (Deno.build.os !== "linux" || Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = Deno.makeTempDirSync({ prefix: "rocks-runtime-" });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
  } catch {
    // no permission to read or set the environment: the warning stays
  }
}

/** Which backend `requested` means on this machine, and why. */
async function choose(
  requested: BackendName,
): Promise<{ name: BackendInfo["name"]; reason: string; adapter?: GpuAdapterFacts }> {
  if (requested === "cpu") return { name: "cpu", reason: "asked for by name" };
  if (requested === "wasm") return { name: "wasm", reason: "asked for by name" };
  const adapter = await probeGpu();
  if (requested === "webgpu") {
    if (!adapter.available) {
      throw new RocksError("runtime", `WebGPU was asked for, but ${adapter.error}: use --backend wasm`);
    }
    return {
      name: "webgpu",
      reason: `asked for by name (adapter: ${adapter.description || adapter.vendor})`,
      adapter,
    };
  }
  if (adapter.available && !adapter.fallback) {
    return {
      name: "webgpu",
      reason: `a real GPU is present: ${adapter.description || adapter.vendor}`,
      adapter,
    };
  }
  return {
    name: "wasm",
    reason: adapter.available
      ? `the only WebGPU adapter is a software one (${adapter.description}); WASM SIMD is faster`
      : `no WebGPU adapter (${adapter.error}); WASM SIMD is the fastest CPU path`,
    adapter,
  };
}

/**
 * The backend `requested` names on this machine (`auto` decided as
 * {@linkcode initBackend} decides it, by asking `navigator.gpu` once per
 * process), without starting it.
 * @param requested `auto`, `webgpu`, `wasm` or `cpu`.
 * @returns `webgpu`, `wasm` or `cpu`.
 * @throws {RocksError} When WebGPU is asked for and no adapter exists.
 */
export async function resolveBackend(requested: BackendName): Promise<BackendInfo["name"]> {
  return (await choose(requested)).name;
}

/**
 * Starts the backend `requested` names. Later calls with the same request,
 * or with `auto`, return the running backend; another name switches to it.
 * @param requested `auto` (default), `webgpu`, `wasm` or `cpu`.
 * @throws {RocksError} When WebGPU is asked for and no adapter exists, or a backend fails to start.
 * @returns What was started and why.
 * @example
 * ```ts
 * import { initBackend } from "./mod.ts";
 * const backend = await initBackend("wasm");
 * if (backend.name !== "wasm") throw new Error(backend.reason);
 * ```
 */
export async function initBackend(requested: BackendName = "auto"): Promise<BackendInfo> {
  if (current && (current.requested === requested || requested === "auto" || current.name === requested)) {
    return current;
  }
  const pick = await choose(requested);
  let ok: boolean;
  if (pick.name === "wasm") ok = await startWasm();
  else ok = await tf.setBackend(pick.name);
  // setBackend answers false on failure while getBackend() may still name it.
  if (!ok || tf.getBackend() !== pick.name) {
    throw new RocksError("runtime", `The ${pick.name} backend could not start`);
  }
  await tf.ready();
  const simd = pick.name === "wasm" ? (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean : false;
  current = {
    name: pick.name,
    requested,
    reason: pick.reason,
    simd,
    threads: 1,
    ...(pick.adapter ? { adapter: pick.adapter } : {}),
  };
  return current;
}
