/**
 * Reading a photo file's bytes, with every way that can go wrong named:
 * missing, a broken or looping symbolic link, a folder, a pipe or device
 * (which would block or never end), not readable, empty, or larger than any
 * photo within the pixel limit could be. Nothing is read until the file is
 * known to be a regular file of a sane size. Which names are photos at all
 * (`.jpg`, `.jpeg`, `.png`) is said here too.
 * @module
 */
import { DEFAULT_MAX_PIXELS } from "./decode.ts";
import { RocksError } from "../util/errors.ts";

/** File extensions read as photos (any letter case). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"] as const;

/**
 * Whether a file name has a photo extension ({@linkcode IMAGE_EXTENSIONS}, any case).
 * @param name A file name or path.
 * @returns True for `x.JPG`, `y.png`; false for `notes.txt`.
 */
export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/**
 * The largest file read as a photo of at most `maxPixels` pixels: 8 bytes a
 * pixel (16-bit RGBA stored uncompressed) plus 64 MiB of other chunks.
 * @param maxPixels The pixel limit.
 * @returns A size in bytes.
 */
export function maxPhotoBytes(maxPixels = DEFAULT_MAX_PIXELS): number {
  return maxPixels * 8 + 64 * 1024 * 1024;
}

/** Why a file system call failed, as a phrase ("cannot be read: permission denied"). */
function describe(e: unknown, path: string): string {
  if (e instanceof Deno.errors.NotFound) return "does not exist";
  if (e instanceof Deno.errors.FilesystemLoop) return "is a symbolic link loop";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "cannot be read: permission denied";
  }
  if (e instanceof Deno.errors.IsADirectory) return "is a folder, not a photo";
  const why = e instanceof Error ? e.message.replace(`: readfile '${path}'`, "") : String(e);
  return `cannot be read: ${why}`;
}

/** Why `path` does not exist: gone, or a symbolic link to nothing. */
async function missing(path: string): Promise<string> {
  try {
    const l = await Deno.lstat(path);
    if (l.isSymlink) return "is a broken symbolic link (its target does not exist)";
  } catch {
    // lstat fails too: the name itself is missing.
  }
  return "does not exist";
}

/** Options of {@linkcode readPhotoFile}. */
export interface ReadPhotoOptions {
  /** Files larger than this are refused unread. @default maxPhotoBytes() */
  maxBytes?: number;
}

/**
 * Reads a photo file's bytes.
 *
 * Requires --allow-read.
 * @param path The file.
 * @param options Size limit.
 * @returns The bytes (at least one).
 * @throws {RocksError} (kind `input`) naming the file and what is wrong with it.
 * @example
 * ```ts
 * import { readPhotoFile } from "./read_photo.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/empty.jpg`, new Uint8Array());
 * const why = await readPhotoFile(`${dir}/empty.jpg`).catch((e) => e.message);
 * if (!why.endsWith("empty.jpg is empty (0 bytes)")) throw new Error(why);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readPhotoFile(path: string, options: ReadPhotoOptions = {}): Promise<Uint8Array> {
  const fail = (what: string): never => {
    throw new RocksError("input", `${path} ${what}`, path);
  };
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    return fail(e instanceof Deno.errors.NotFound ? await missing(path) : describe(e, path));
  }
  if (st.isDirectory) {
    try {
      for await (const _ of Deno.readDir(path)) break;
    } catch (e) {
      fail(`is a folder that ${describe(e, path)}`);
    }
    fail("is a folder, not a photo");
  }
  if (!st.isFile) fail("is not a regular file (a pipe, socket or device), not a photo");
  if (st.size === 0) fail("is empty (0 bytes)");
  const maxBytes = options.maxBytes ?? maxPhotoBytes();
  if (st.size > maxBytes) {
    fail(`is ${st.size} bytes, more than a photo within the pixel limit can be (${maxBytes} bytes)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    return fail(describe(e, path));
  }
  if (bytes.length === 0) fail("is empty (0 bytes)");
  return bytes;
}
