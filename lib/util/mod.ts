/**
 * The bottom stage: what every other stage may use. The error class and its
 * kinds, the seeded random numbers, sha256 and CRC-32, one CSV line, and the
 * version. Nothing here loads TensorFlow.js.
 *
 * ```ts
 * import { createRng, RocksError } from "./mod.ts";
 * const a = createRng(1).shuffle([1, 2, 3]).join();
 * if (a !== createRng(1).shuffle([1, 2, 3]).join()) throw new RocksError("runtime", "the same seed, the same order");
 * ```
 * @module
 */
export { RocksError, type RocksErrorKind, throwIfAborted, usageCheck } from "./errors.ts";
export { createRng, hashSeed, type Rng } from "./rng.ts";
export { crc32, sha256Hex } from "./hash.ts";
export { csvCell, parseCsvLine } from "./csv.ts";
export { type SystemFacts, userCacheDir } from "./dirs.ts";
export { VERSION } from "./version.ts";
