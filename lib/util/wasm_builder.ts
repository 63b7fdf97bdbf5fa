/**
 * A small WebAssembly writer: opcodes, LEB128, a function body builder and
 * a module assembler, enough for rocks' hand-written kernels (the trunk's
 * convolutions, the head's Adam update) without a toolchain. Every module
 * imports `env.memory` (tfjs-wasm's heap) and exports functions whose
 * parameters are all i32.
 * @module
 */

/** Core opcodes used by rocks' modules. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivU: 0x6e,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  void: 0x40,
} as const;
/** SIMD and relaxed-SIMD opcodes (after the 0xfd prefix). */
export const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  /** `v128.store64_lane`: immediates align (3), offset, lane. */
  store64Lane: 0x5b,
  const: 0x0c,
  v128And: 0x4e,
  f32x4Ge: 0x46,
  f32x4Abs: 0xe0,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
  f32x4Nearest: 0x6a,
  f32x4ConvertI32x4S: 0xfa,
  i16x8NarrowI32x4S: 0x85,
  i8x16NarrowI16x8U: 0x66,
  i32x4RelaxedTruncF32x4S: 0x101,
  f32x4RelaxedMadd: 0x105,
  i32x4RelaxedDotI8x16I7x16AddS: 0x113,
} as const;
/** Value type i32. */
export const I32 = 0x7f;
/** Value type v128. */
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A function body under construction: locals and instructions. */
export class Body {
  readonly code: number[] = [];
  readonly localTypes: number[] = [];
  constructor(private next: number) {}
  local(type: number): number {
    this.localTypes.push(type);
    return this.next++;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(i: number): this {
    return this.op(OP.localGet, ...uleb(i));
  }
  set(i: number): this {
    return this.op(OP.localSet, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(OP.localTee, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(OP.i32Const, ...sleb(v));
  }
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }
  /** `v128.load` / `v128.store` / `v128.load32_splat` with a constant offset. */
  mem(opcode: number, offset: number): this {
    return this.simd(opcode, opcode === SIMD.load32Splat ? 2 : 4, ...uleb(offset));
  }
  /** `do { body } while (cond)`: `cond` leaves an i32 on the stack. */
  doWhile(body: () => void, cond: () => void): this {
    this.code.push(OP.loop, OP.void);
    body();
    cond();
    this.code.push(OP.brIf, 0, OP.end);
    return this;
  }
  /** `if (cond) { body }`. */
  when(cond: () => void, body: () => void): this {
    cond();
    this.code.push(OP.if, OP.void);
    body();
    this.code.push(OP.end);
    return this;
  }
  /** `i += step; i < limit` (leaves the comparison on the stack). */
  stepLess(i: number, step: number, limit: number): this {
    return this.get(i).i32(step).op(OP.i32Add).tee(i).get(limit).op(OP.i32LtU);
  }
}

/** Indices of a parameter list, by name. */
export function indices<T extends readonly string[]>(names: T): Record<T[number], number> {
  return Object.fromEntries(names.map((name, i) => [name, i])) as Record<T[number], number>;
}

/**
 * The module: `env.memory` imported (the tfjs-wasm heap), each function of
 * type `(i32 × params) → ()` exported under its name.
 */
export function assemble(functions: { name: string; params: number; body: Body }[]): Uint8Array {
  const ascii = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
  const types = functions.flatMap((fn) => [0x60, fn.params, ...new Array(fn.params).fill(I32), 0]);
  const exports = functions.flatMap((fn, i) => [...ascii(fn.name), 0x00, i]);
  const codes = functions.flatMap((fn) => {
    const b = fn.body;
    const body = [...uleb(b.localTypes.length), ...b.localTypes.flatMap((t) => [1, t]), ...b.code, OP.end];
    return [...uleb(body.length), ...body];
  });
  const n = functions.length;
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [n, ...types]),
    ...section(2, [1, ...ascii("env"), ...ascii("memory"), 0x02, 0x00, 0x01]), // import memory, min 1 page
    ...section(3, [n, ...functions.map((_, i) => i)]), // function i has type i
    ...section(7, [n, ...exports]),
    ...section(10, [n, ...codes]),
  ]);
}

/** Instances by memory, then by key (see {@linkcode functionOn}). */
const instances = new WeakMap<WebAssembly.Memory, Map<string, WebAssembly.Exports>>();

/**
 * The function `name` of a one-function module instantiated on `memory`,
 * assembled (`body()`) and compiled the first time this `key` is asked for
 * on this memory, then kept: one instance per tfjs-wasm heap and key.
 * @param memory The memory the module imports as `env.memory`.
 * @param key What tells this module from others of the same name (a shape, a build).
 * @param name The function's name.
 * @param params Its number of i32 parameters.
 * @param body Builds its body (called once per memory and key).
 * @returns The exported function.
 */
export function functionOn<F>(
  memory: WebAssembly.Memory,
  key: string,
  name: string,
  params: number,
  body: () => Body,
): F {
  let kept = instances.get(memory);
  if (!kept) instances.set(memory, kept = new Map());
  const id = `${name}|${key}`;
  let exports = kept.get(id);
  if (!exports) {
    const bytes = assemble([{ name, params, body: body() }]) as Uint8Array<ArrayBuffer>;
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
    kept.set(id, exports);
  }
  return exports[name] as F;
}
