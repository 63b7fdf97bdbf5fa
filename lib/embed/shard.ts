/**
 * Sharding a photo archive over machines with no coordinator: shard `I` of
 * `N` embeds the photos whose content hash, taken mod `N`, is `I`.
 *
 * The hash is of the photo's bytes, never of its path or of the listing
 * order, so machines that each see the same files (or copies of them, under
 * other paths) split the work exactly: every photo falls in one shard, the
 * same one everywhere. To keep the pass that decides shares cheap at archive
 * scale, where every shard must look at every photo, the hash reads at most
 * 128 KiB of a photo ({@linkcode shardKey}): a shard of a million 2 MB photos
 * reads 128 GB to learn its share instead of 2 TB. Photos whose bytes
 * differ only in their middle land in the same shard, which changes
 * nothing but the balance.
 *
 * Where `--shard` is not given, the share is read from the cluster engine's
 * environment: a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with the
 * count in `ROCKS_SHARDS`, set to the Job's `completions` in its manifest) or
 * a Slurm job array (`SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT`, or
 * `SLURM_ARRAY_TASK_MIN` / `_MAX` / `_STEP`).
 * @module
 */
import { createHash } from "node:crypto";
import { RocksError } from "../util/errors.ts";
import { readFileAt } from "./pack.ts";

/** One machine's share: shard `index` of `count`. */
export interface Shard {
  /** 0 ≤ index < count. */
  index: number;
  /** Shards in all (1: everything). */
  count: number;
}

/** A share, and where it came from. */
export interface ShardChoice extends Shard {
  /** `--shard`, or the environment variables it was read from, as a phrase. */
  source: string;
}

/** Bytes read from each end of a photo for its shard key. */
export const SHARD_KEY_SPAN = 64 * 1024;
/** Most shards (a shard key is 64 bits; this keeps `index/count` readable). */
export const MAX_SHARDS = 1_000_000;

/**
 * Parses `I/N` (`0/4` … `3/4`).
 * @param text What was given.
 * @param what Where it came from, for the message.
 * @throws {RocksError} (kind `usage`) unless 0 ≤ I < N ≤ {@linkcode MAX_SHARDS}.
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * const s = parseShard("2/4");
 * if (s.index !== 2 || s.count !== 4) throw new Error("shard 2 of 4");
 * ```
 */
export function parseShard(text: string, what = "--shard"): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1 && count <= MAX_SHARDS) || !(index >= 0 && index < count)) {
    throw new RocksError(
      "usage",
      `${what} must be I/N with 0 ≤ I < N ≤ ${MAX_SHARDS} (shard I of N, counted from 0), got "${text}"`,
    );
  }
  return { index, count };
}

/** A whole number ≥ `min` from an environment variable, or a usage error naming it. */
function envInt(get: (name: string) => string | undefined, name: string, min: number): number | undefined {
  const raw = get(name);
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min) {
    throw new RocksError("usage", `${name} must be a whole number ≥ ${min}, got "${raw}"`);
  }
  return n;
}

/**
 * The share a cluster engine gives this process through its environment: a
 * Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` and `ROCKS_SHARDS`) or a
 * Slurm job array (`SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`, or
 * `SLURM_ARRAY_TASK_MIN` / `SLURM_ARRAY_TASK_MAX`, with
 * `SLURM_ARRAY_TASK_STEP`): task ids from MIN to MAX in steps of STEP are
 * shards 0 to N−1.
 * @param get Reads an environment variable (`Deno.env.get`; needs --allow-env).
 * @returns The share and its source, or undefined when neither engine set one.
 * @throws {RocksError} (kind `usage`) for values that make no share (an index past the count, a
 *   Kubernetes index without `ROCKS_SHARDS`).
 * @example
 * ```ts
 * import { shardFromEnv } from "./shard.ts";
 * const env: Record<string, string> = { SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "4", SLURM_ARRAY_TASK_COUNT: "4" };
 * const s = shardFromEnv((name) => env[name]);
 * if (s?.index !== 3 || s.count !== 4) throw new Error("task 7 of 4..7 is shard 3 of 4");
 * ```
 */
export function shardFromEnv(get: (name: string) => string | undefined): ShardChoice | undefined {
  const k8s = envInt(get, "JOB_COMPLETION_INDEX", 0);
  if (k8s !== undefined) {
    const count = envInt(get, "ROCKS_SHARDS", 1);
    if (count === undefined) {
      throw new RocksError(
        "usage",
        `JOB_COMPLETION_INDEX is ${k8s} (a Kubernetes Indexed Job) but ROCKS_SHARDS is not set: ` +
          `set it to the Job's completions in the manifest (see examples/kubernetes), or pass --shard I/N`,
      );
    }
    const s = parseShard(`${k8s}/${count}`, "JOB_COMPLETION_INDEX/ROCKS_SHARDS");
    return { ...s, source: `Kubernetes Indexed Job: JOB_COMPLETION_INDEX=${k8s}, ROCKS_SHARDS=${count}` };
  }
  const id = envInt(get, "SLURM_ARRAY_TASK_ID", 0);
  if (id === undefined) return undefined;
  const min = envInt(get, "SLURM_ARRAY_TASK_MIN", 0) ?? 0;
  const max = envInt(get, "SLURM_ARRAY_TASK_MAX", 0);
  const step = envInt(get, "SLURM_ARRAY_TASK_STEP", 1) ?? 1;
  const count = envInt(get, "SLURM_ARRAY_TASK_COUNT", 1) ??
    (max !== undefined ? Math.floor((max - min) / step) + 1 : undefined);
  const vars = [
    `SLURM_ARRAY_TASK_ID=${id}`,
    ...["SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT"]
      .filter((n) => get(n) !== undefined).map((n) => `${n}=${get(n)}`),
  ].join(", ");
  if (count === undefined) {
    throw new RocksError(
      "usage",
      `${vars}: a Slurm array task, but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX says how many; ` +
        `pass --shard I/N`,
    );
  }
  if ((id - min) % step !== 0 || id < min) {
    throw new RocksError("usage", `${vars}: the task id is not min + k × step; pass --shard I/N`);
  }
  const s = parseShard(`${(id - min) / step}/${count}`, `The Slurm array (${vars})`);
  return { ...s, source: `Slurm job array: ${vars}` };
}

/**
 * The content hash that decides a photo's shard: the first 8 bytes of the
 * sha256 of (the file's size, its first and its last
 * {@linkcode SHARD_KEY_SPAN} bytes), as an unsigned 64-bit number. For a file
 * of at most twice that span, every byte counts.
 *
 * Requires --allow-read.
 * @param path The photo.
 * @returns The key, or undefined when the file cannot be read (a photo that cannot be read is shard 0's,
 *   whose embedder then says why).
 */
export async function shardKey(path: string): Promise<bigint | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    return undefined;
  }
  try {
    const st = await file.stat();
    if (!st.isFile) return undefined;
    const size = st.size;
    const read = (at: number, length: number) => readFileAt(file, at, length);
    const hash = createHash("sha256");
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(size), true);
    hash.update(head);
    if (size <= 2 * SHARD_KEY_SPAN) hash.update(await read(0, size));
    else {
      hash.update(await read(0, SHARD_KEY_SPAN));
      hash.update(await read(size - SHARD_KEY_SPAN, SHARD_KEY_SPAN));
    }
    return hash.digest().readBigUInt64BE(0);
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * The shard a key falls in: `key mod count`.
 * @param key From {@linkcode shardKey} (undefined: unreadable, shard 0).
 * @param count Shards in all.
 */
export function shardOfKey(key: bigint | undefined, count: number): number {
  return key === undefined ? 0 : Number(key % BigInt(count));
}

/**
 * The shard of a photo, out of `count`.
 *
 * Requires --allow-read.
 * @param path The photo.
 * @param count Shards in all.
 * @example
 * ```ts
 * import { photoShard } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.jpg`, "the same bytes");
 * await Deno.writeTextFile(`${dir}/copy.jpg`, "the same bytes");
 * if ((await photoShard(`${dir}/a.jpg`, 7)) !== (await photoShard(`${dir}/copy.jpg`, 7))) throw new Error("by content");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function photoShard(path: string, count: number): Promise<number> {
  return count === 1 ? 0 : shardOfKey(await shardKey(path), count);
}
