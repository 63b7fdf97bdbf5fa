/**
 * This toolkit's version, read from `deno.json`; importing it loads nothing
 * else, so `rocks --version` answers at once.
 * @module
 */
import config from "../../deno.json" with { type: "json" };

/**
 * This toolkit's version (from `deno.json`).
 * @example
 * ```ts
 * import { VERSION } from "../../mod.ts";
 * if (!/^\d+\.\d+\.\d+$/.test(VERSION)) throw new Error(VERSION);
 * ```
 */
export const VERSION: string = config.version;
