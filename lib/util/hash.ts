/**
 * Checksums: sha256 for identities (weights, photos, model files, cache
 * keys) and CRC-32 for record and PNG chunk checks.
 * @module
 */
import { crc32 as zlibCrc32 } from "node:zlib";
import { createHash } from "node:crypto";

/**
 * sha256 of `bytes` as lowercase hex.
 * @param bytes What to hash.
 * @returns 64 hex digits.
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * const empty = await sha256Hex(new Uint8Array());
 * if (!empty.startsWith("e3b0c442")) throw new Error(empty);
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}

/**
 * sha256 of a string's UTF-8 bytes as lowercase hex, at once (for small
 * identities that must be known without waiting, such as an embedding key).
 * @param text What to hash.
 * @returns 64 hex digits.
 * @example
 * ```ts
 * import { sha256HexSync } from "./hash.ts";
 * if (!sha256HexSync("").startsWith("e3b0c442")) throw new Error("sha256");
 * ```
 */
export function sha256HexSync(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Lowercase hex of `bytes`.
 * @param bytes Any bytes.
 * @returns Two hex digits a byte.
 * @example
 * ```ts
 * import { toHex } from "./hash.ts";
 * if (toHex(new Uint8Array([0, 171, 255])) !== "00abff") throw new Error("hex");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG compute it) of `bytes`.
 * @param bytes What to check.
 * @returns The CRC as an unsigned 32-bit number.
 * @example
 * ```ts
 * import { crc32 } from "./hash.ts";
 * if (crc32(new TextEncoder().encode("123456789")) !== 0xcbf43926) throw new Error("check value");
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes) >>> 0;
}
