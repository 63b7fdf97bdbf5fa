/**
 * Giving large temporary arrays back at once. The trunk's weights pass through
 * several copies while they load (the files, the float32 values, the folded
 * and packed filters): about 400 MB for each trunk, of which the backend keeps
 * only its own copy in its heap. An array that is merely dropped is freed at
 * the next full garbage collection, and a worker that spends its life inside
 * WebAssembly may not run one for a long time: measured, a trunk held 170 MB
 * more resident memory after loading than after a collection. Detaching the
 * array's buffer (`ArrayBuffer.prototype.transfer(0)`) frees its memory now.
 * @module
 */

/**
 * Frees the memory of arrays that nothing else will read: their buffers are
 * detached, so the arrays (and every view of the same buffers) become empty.
 * Buffers already detached, shared or resizable are left alone.
 * @param arrays The arrays.
 * @example
 * ```ts
 * import { releaseArrays } from "./release.ts";
 * const values = new Float32Array(1_000_000);
 * releaseArrays(values);
 * if (values.length !== 0) throw new Error("detached: empty");
 * ```
 */
export function releaseArrays(...arrays: ArrayBufferView[]): void {
  for (const a of arrays) {
    const buffer = a.buffer;
    if (buffer instanceof ArrayBuffer && !buffer.detached && !buffer.resizable) buffer.transfer(0);
  }
}
