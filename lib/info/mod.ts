/**
 * What this build is and can do here: versions, every backend and which
 * one `auto` picks and why, the weights and whether they verify, the cache
 * folder, and a saved model's facts (`rocks info`).
 *
 * ```ts
 * import { versions } from "./mod.ts";
 * console.log(versions());
 * ```
 * @module
 */
export { type BackendAvailability, gatherInfo, type RocksInfo, versions } from "./info.ts";
