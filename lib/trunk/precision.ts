/**
 * Which arithmetic the trunk runs (`fp32` or `int8`), where each can run,
 * the int8 path's calibrated activation ranges, and the key that tells a
 * float32 embedding from an int8 one in the cache and in a model.
 * @module
 */
import { decodeFloat16 } from "./float16.ts";
import { CALIBRATED_FOR, RANGE_LAYOUT, RANGES_FLOAT16_BASE64 } from "./int8_ranges.ts";
import { sha256HexSync } from "../util/hash.ts";

/**
 * How the trunk multiplies: `fp32` (float32 throughout, the reference) or
 * `int8` (every convolution past the first block's input on 8-bit weights and
 * 7-bit activations, per-channel scales calibrated on real photos; the stem,
 * `res2a`'s input convolutions, the residual adds and the pooling stay float32).
 */
export type Precision = "fp32" | "int8";

/** Precisions, the reference first. */
export const PRECISIONS: readonly Precision[] = ["fp32", "int8"];

/**
 * What a caller may ask for: a precision, or `auto` (the default): int8
 * where it runs (see {@linkcode choosePrecision}), else float32. On the Learn
 * photos int8's embeddings stay within cosine 0.995 of float32's, photos the
 * calibration never saw included, and grouped cross-validation scores the
 * same (bench/README.md).
 */
export type PrecisionRequest = Precision | "auto";

/** What `--precision` takes, the default first. */
export const PRECISION_REQUESTS: readonly PrecisionRequest[] = ["auto", "fp32", "int8"];

/** The precision asked for when none is given. */
export const DEFAULT_PRECISION: PrecisionRequest = "auto";

/**
 * Per-channel activation ranges of the tensors the int8 trunk quantizes, by
 * the convolution that reads them (a block's input is read by `branch2a` and,
 * in a block's first, `branch1`: it is listed once, under `branch2a`). A
 * convolution without a range stays float32.
 */
export type ActivationRanges = ReadonlyMap<string, Float32Array>;

/**
 * Parses a `--precision` value.
 * @param value `auto`, `fp32` or `int8`.
 * @returns The request.
 * @throws {Error} On anything else (the message lists the choices).
 */
export function parsePrecision(value: string): PrecisionRequest {
  if ((PRECISION_REQUESTS as readonly string[]).includes(value)) return value as PrecisionRequest;
  throw new Error(`--precision must be one of ${PRECISION_REQUESTS.join(", ")}, got "${value}"`);
}

/**
 * The shipped calibration (`scripts/calibrate_int8.ts` wrote it), decoded.
 * @returns A fresh map (the caller may free its arrays).
 */
export function int8ActivationRanges(): Map<string, Float32Array> {
  const binary = atob(RANGES_FLOAT16_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const values = decodeFloat16(bytes);
  const ranges = new Map<string, Float32Array>();
  let at = 0;
  for (const [name, channels] of RANGE_LAYOUT) {
    ranges.set(name, values.slice(at, at + channels));
    at += channels;
  }
  return ranges;
}

/** The weights' sha256 the shipped calibration was measured with. */
export const INT8_CALIBRATED_FOR: string = CALIBRATED_FOR;

/**
 * What identifies the embeddings a trunk makes, for the cache and a model:
 * the weights' sha256 for `fp32` (so caches and models from before int8
 * existed stay valid), a sha256 over the weights', the word `int8` and the
 * calibration's for `int8`. The two never collide.
 * @param weightsSha256 The weights' sha256.
 * @param precision Which arithmetic.
 * @returns 64 hex digits.
 */
export function embeddingKey(weightsSha256: string, precision: Precision): string {
  if (precision === "fp32") return weightsSha256;
  return sha256HexSync(`${weightsSha256}|int8|${sha256HexSync(RANGES_FLOAT16_BASE64)}`);
}

/** The precision a trunk will run at, and why. */
export interface PrecisionChoice {
  /** What runs. */
  precision: Precision;
  /** Why, in a few words (said by `rocks info`, and warned about when int8 was asked and cannot run). */
  reason: string;
  /** Whether this is what was asked (`auto` is whatever it picks): false means warn. */
  asked: boolean;
}

/**
 * What a request for `precision` on `backend` gives: int8 needs the `wasm`
 * backend, rocks' kernel (not `ROCKS_CONV=tfjs`) and relaxed SIMD; anywhere
 * else the trunk runs float32 (the reference, whose embeddings int8's stay
 * within cosine 0.995 of), and says so. `auto` takes int8 where it runs and
 * float32 elsewhere, without a warning.
 * @param precision What was asked.
 * @param backend The backend that runs the trunk.
 * @param kernel Whether rocks' kernel runs and has relaxed SIMD (`fastConvEnabled() && fastConvUsesFma()`).
 * @returns The choice.
 */
export function choosePrecision(
  precision: PrecisionRequest,
  backend: string,
  kernel: boolean,
): PrecisionChoice {
  if (precision === "fp32") return { precision, reason: "float32, the reference", asked: true };
  // auto falls back to float32 without a warning (asked stays true), and its reasons say "auto".
  const auto = precision === "auto";
  const fallback = (why: string): PrecisionChoice => ({
    precision: "fp32",
    reason: `${auto ? "auto: " : ""}${why}: float32`,
    asked: auto,
  });
  if (backend !== "wasm") return fallback(`int8 runs on the wasm backend only, not ${backend}`);
  if (!kernel) {
    return fallback(
      "int8 needs rocks' kernel with relaxed SIMD, which this runtime lacks (or ROCKS_CONV=tfjs)",
    );
  }
  return {
    precision: "int8",
    reason: `int8 (${
      auto ? "auto" : "asked"
    }; relaxed SIMD dot products, calibrated per channel; stem and res2a's input float32)`,
    asked: true,
  };
}
