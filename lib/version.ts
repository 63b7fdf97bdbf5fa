/**
 * Version facts reported by `rocks --version` and `rocks info`.
 * @module
 */
import config from "../deno.json" with { type: "json" };
import { version_core as tfjsVersion } from "npm:@tensorflow/tfjs-core@4.22.0";

/** This toolkit's version (from `deno.json`). */
export const VERSION: string = config.version;

/** Versions of the toolkit, Deno, V8, TypeScript and TensorFlow.js. * @example
 * ```ts
 * import { versions } from "../mod.ts";
 * if (versions().tfjs !== "4.22.0") throw new Error("pinned tfjs");
 * ```
 */
export function versions(): Record<string, string> {
  return {
    rocks: VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tfjsVersion,
  };
}
