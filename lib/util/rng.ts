/**
 * A small seeded random number generator, so that the same `--seed` gives the
 * same split, crops, initial weights and dropout masks on every run.
 * @module
 */

/** A seeded source of random numbers. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A new generator whose stream depends on this one's next value and `salt`. */
  fork(salt: number): Rng;
}

/**
 * Makes a generator from a 32-bit seed (mulberry32: tiny, fast and good
 * enough for shuffles, crops and dropout; not for cryptography).
 * @param seed Any integer; only its low 32 bits are used.
 * @returns A seeded {@linkcode Rng}.
 */
export function createRng(seed: number): Rng {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const a = items[i] as T;
        items[i] = items[j] as T;
        items[j] = a;
      }
      return items;
    },
    fork: (salt) => createRng(Math.floor(next() * 4294967296) ^ Math.imul(salt, 0x85ebca6b)),
  };
  return rng;
}

/**
 * A 32-bit hash of `parts` (FNV-1a over their text): a seed that depends only
 * on what it names, e.g. `(seed, "crop", epoch, file)`, so that adding a photo
 * changes no other photo's split side or crops (and cached crops stay valid).
 */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(parts.join("\u0000"))) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
