/**
 * The one error class the toolkit throws for problems a user can fix: bad
 * options, missing folders, damaged model files, photos that cannot be read.
 * The CLI turns it into an exit code; anything else is a bug and is rethrown.
 * @module
 */

/** Why a {@linkcode RocksError} was thrown, which decides the CLI's exit code. */
export type RocksErrorKind = "usage" | "input" | "model" | "runtime" | "interrupted";

/**
 * An error whose message is meant for the person running the tool.
 *
 * `usage` errors (unknown option, value out of range) exit with code 2,
 * `interrupted` (a run stopped by its AbortSignal, i.e. Ctrl-C or SIGTERM in
 * the CLI) with 130 or 143, all others with code 1.
 * @example
 * ```ts
 * import { RocksError } from "../../mod.ts";
 * const e = new RocksError("usage", "Unknown backend \"cuda\"");
 * if (e.kind !== "usage" || !(e instanceof Error)) throw new Error("a usage error");
 * ```
 */
export class RocksError extends Error {
  /** What kind of problem this is. */
  readonly kind: RocksErrorKind;
  /** The file or folder the problem is about, when there is one. */
  readonly path: string | undefined;

  /**
   * Makes an error for the person running the tool.
   * @param kind What kind of problem this is.
   * @param message A sentence that says what was expected and what was found.
   * @param path The file or folder concerned.
   */
  constructor(kind: RocksErrorKind, message: string, path?: string) {
    super(message);
    this.name = "RocksError";
    this.kind = kind;
    this.path = path;
  }
}

/** Throws a usage error when `ok` is false. */
export function usageCheck(ok: boolean, message: string): asserts ok {
  if (!ok) throw new RocksError("usage", message);
}

/**
 * Throws an `interrupted` {@linkcode RocksError} when `signal` has been
 * aborted: long runs call it between steps, so they stop where nothing is
 * half done.
 * @param signal The run's signal, if any.
 * @param what What stops, for the message (`Training`).
 * @example
 * ```ts
 * import { RocksError, throwIfAborted } from "./errors.ts";
 * const stop = new AbortController();
 * throwIfAborted(stop.signal, "Training"); // not aborted: nothing happens
 * stop.abort("SIGINT");
 * try {
 *   throwIfAborted(stop.signal, "Training");
 * } catch (e) {
 *   if (!(e instanceof RocksError) || e.kind !== "interrupted") throw e;
 * }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (!signal?.aborted) return;
  const why = typeof signal.reason === "string" ? ` by ${signal.reason}` : "";
  throw new RocksError("interrupted", `${what} was interrupted${why}`);
}
