/**
 * The few assertions the tests use, on top of `node:assert/strict` (JSR's
 * `@std/assert` cannot be installed here).
 * @module
 */
import assertNode from "node:assert/strict";

/** Fails with `message` unless `value` is truthy. */
export function assert(value: unknown, message = "assertion failed"): asserts value {
  assertNode.ok(value, message);
}

/** Deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assertNode.deepStrictEqual(actual, expected, message);
}

/** `|actual − expected| ≤ tolerance`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-6, message = ""): void {
  assertNode.ok(
    Math.abs(actual - expected) <= tolerance,
    `${message} expected ${expected} ± ${tolerance}, got ${actual}`.trim(),
  );
}

function check(e: unknown, cls: new (...a: never[]) => Error, includes?: string): void {
  assertNode.ok(
    e instanceof cls,
    `expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
  );
  if (includes) {
    assertNode.ok(
      (e as Error).message.includes(includes),
      `message "${(e as Error).message}" lacks "${includes}"`,
    );
  }
}

/** `fn()` throws an instance of `cls` whose message includes `includes`. */
export function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, includes?: string): void {
  try {
    fn();
  } catch (e) {
    check(e, cls, includes);
    return;
  }
  assertNode.fail("expected an error, none was thrown");
}

/** `fn()` rejects with an instance of `cls` whose message includes `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
  includes?: string,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    check(e, cls, includes);
    return;
  }
  assertNode.fail("expected a rejection, none came");
}
