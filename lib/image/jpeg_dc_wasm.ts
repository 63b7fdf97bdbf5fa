/**
 * The loop over a baseline scan's blocks for `decodeJpegScaled` (jpeg_dc.ts),
 * in WebAssembly: the bit reader, DC differences and 16-bit predictors, AC
 * codes skipped (at 1/4 the first three read for their values), restart
 * markers, and the 1×1 or 2×2 inverse DCT into one plane per component; then
 * YCbCr → RGB. jpeg_dc.ts parses the markers and builds the Huffman tables;
 * this gives the same planes as its JavaScript loop, or declines (`undefined`)
 * exactly where that declines: a cut or damaged file read past its data, a
 * run past a block's end, a code no table has, a restart marker missing or
 * not where that loop would look for it.
 *
 * The bit buffer is 64 bits, refilled with up to 7 bytes at once when none is
 * 0xFF (a stuffed 0xFF00, a marker or the end go byte by byte as in the
 * JavaScript loop: a marker or the end feeds zero bytes, counted). That loop
 * reads bytes only as its 32-bit buffer runs low, and whether it takes a
 * restart marker depends on how far it had read; that is a function of the
 * bits used before and after the interval's last code, which this computes
 * there (reading that last block's codes one at a time) instead of counting.
 *
 * Besides that loop's 9-bit lookahead and canonical long-code bounds, it reads
 * through three tables of its own per Huffman table: DC, a code with its
 * difference in one read (11 bits); AC, as many whole codes with their bits as
 * lie in the next 12, with the positions they cover; at 1/4, an AC code with
 * its value (10 bits). It takes tables that are prefix codes of at most 256
 * symbols; `scanWasm` returns `null` for the others and where WebAssembly
 * SIMD is missing, and the caller runs the JavaScript loop.
 *
 * One `WebAssembly.Memory` per thread, made on first use and grown to the
 * largest photo seen (about 3 MB for a 3000 px one at 1/4): parameters, the
 * tables, the scan data (copied in), the planes, their RGB. One function per
 * scale and pattern of shared tables (Learn photos: luma, chroma, chroma), so
 * that each component's tables sit at constant addresses; compiled on first
 * use. V8 checks each WebAssembly memory access against the bounds in this
 * Deno (`--no-wasm-bounds-checks` made a byte-copying loop 3× faster), one
 * more reason to read the tables as few times as possible.
 *
 * Speed (20 Learn photos; see jpeg_dc.ts for the whole call against the
 * JavaScript loop): the loop takes about 6.5 ms a photo at 1/8 and 9.4 at
 * 1/4, where the JavaScript loop takes 12–15 and 18–21; the colour
 * conversion 0.2 and 1.1 ms (with its copy out), where the JavaScript takes
 * 0.5 and 2.
 * @module
 */
import { Body, functionOn, I32, OP, SIMD, uleb, V128 } from "../util/wasm_builder.ts";

/** One Huffman table as jpeg_dc.ts builds it. */
export interface ScanTable {
  /** 512 lookahead entries (9 bits). */
  lut: Uint32Array;
  /** Per code length 0–16: the largest code of that length, or −1. */
  maxcode: Int32Array;
  /** Per code length 0–16: index of its first symbol minus its first code. */
  valptr: Int32Array;
  /** Per symbol index: its lookahead entry for a code of length 0 (then + length × (1 + 32·ac)). */
  base: Int32Array;
  ac: boolean;
}

/** A scan to decode: where its data starts in the file, its blocks, tables and quantisation steps. */
export interface ScanJob {
  /** The whole file. */
  file: Uint8Array;
  /** The scan's first byte after its header. */
  start: number;
  /** 1/4 scale (2×2 pixels a block) or 1/8 (one). */
  four: boolean;
  /** Blocks across. */
  bw: number;
  /** Blocks in all. */
  blocks: number;
  /** The restart interval in blocks, 0 for none. */
  restart: number;
  /** Per component (1 or 3): its DC and AC tables and the steps of coefficients (0,0), (0,1), (1,0), (1,1). */
  components: { dc: ScanTable; ac: ScanTable; steps: [number, number, number, number] }[];
}

/** Opcodes beyond wasm_builder's. */
const X = {
  else: 0x05,
  br: 0x0c,
  select: 0x1b,
  i32Load8U: 0x2d,
  i32Load16S: 0x2e,
  i32Load16U: 0x2f,
  i32Store: 0x36,
  i32Store8: 0x3a,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32Ctz: 0x68,
  i32And: 0x71,
  i32Or: 0x72,
  i32ShrS: 0x75,
  i64Or: 0x84,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32U: 0xad,
  i32Extend16S: 0xc1,
  f32Const: 0x43,
} as const;
/** SIMD opcodes (after 0xfd). */
const S = {
  shuffle: 0x0d,
  i8x16Splat: 0x0f,
  f32x4Splat: 0x13,
  i16x8ExtendLowU8: 0x89,
  i16x8ExtendHighU8: 0x8a,
  i32x4ExtendLowU16: 0xa9,
  i32x4ExtendHighU16: 0xaa,
  i32x4TruncSatF32x4S: 0xf8,
  i64x2ExtractLane: 0x1d,
  i8x16Eq: 0x23,
  i8x16Bitmask: 0x64,
  load64Zero: 0x5d,
} as const;
const I64 = 0x7e;

/** Bits of the fast DC table's index: a code and its difference bits within them are one read. */
const DC_BITS = 11;
/** Bits of the AC skipping table's index: as many whole codes (and their bits) as lie within them. */
const SKIP_BITS = 12;
/** Bits of the AC value table's index (at 1/4): a code and its magnitude bits within them are one read. */
const VALUE_BITS = 10;
/**
 * The memory, by byte address: the parameters; per table slot (0–2, one per distinct table) a DC slot of
 * `DC_SIZE` bytes from `DC_AT` and an AC slot of `AC_SIZE` from `AC_AT`; then the scan data from `DATA`,
 * two bytes 0x01 after it (neither 0x00 nor a marker, as `undefined` is to the JavaScript loop), the planes
 * and room for their RGB.
 */
const PARAMS = 0, DC_AT = 1024, DC_SIZE = 8192, AC_AT = DC_AT + 3 * DC_SIZE, AC_SIZE = 16384;
const DATA = AC_AT + 3 * AC_SIZE;
/**
 * Within a slot: the 9-bit lookahead (`LUT`, 512 × i32), the long-code tables (`LONG`: maxcode and valptr,
 * 17 × i32 each 128 bytes apart, then `base`, up to 256 × i32), the DC fast table (2^DC_BITS × i16) or the
 * AC skipping table (2^SKIP_BITS × u16) at `FAST`, and the AC value table (2^VALUE_BITS × i32) at `VALUES`.
 */
const LUT = 0, LONG = 2048, FAST = 4096, VALUES = 12288;

/** Parameter slots (i32) at PARAMS: status out, then the job. */
const P = {
  status: 0,
  len: 1,
  blocks: 2,
  bw: 3,
  restart: 4,
  stride: 5,
  planes: 6, // 3 slots
  steps: 9, // 4 per component
  width: 21,
  height: 22,
  out: 23,
} as const;

/** Structured control flow with labels named by their nesting level. */
class Flow {
  private depth = 0;
  constructor(private readonly f: Body) {}
  private nest(opcode: number, body: (label: number) => void): void {
    this.f.op(opcode, OP.void);
    body(this.depth++);
    this.depth--;
    this.f.op(OP.end);
  }
  block(body: (label: number) => void): void {
    this.nest(OP.block, body);
  }
  loop(body: (label: number) => void): void {
    this.nest(OP.loop, body);
  }
  /** `if (cond) then else otherwise`, the condition already on the stack. */
  if(then: () => void, otherwise?: () => void): void {
    this.f.op(OP.if, OP.void);
    this.depth++;
    then();
    if (otherwise) {
      this.f.op(X.else);
      otherwise();
    }
    this.depth--;
    this.f.op(OP.end);
  }
  br(label: number): void {
    this.f.op(X.br, ...uleb(this.depth - 1 - label));
  }
  brIf(label: number): void {
    this.f.op(OP.brIf, ...uleb(this.depth - 1 - label));
  }
}

/** `i32.load` / `i32.store` / byte ops with a constant offset (alignment hint as given). */
const mem = (f: Body, opcode: number, align: number, offset: number) => f.op(opcode, align, ...uleb(offset));

/**
 * The scan loop at 1/8 or 1/4 scale for components whose DC and AC tables are in the slots given
 * (components unrolled: each one's tables sit at constant addresses). Writes 1 to the status slot when it
 * reached the end, 0 when it declined.
 */
function scanBody(four: boolean, dcSlots: number[], acSlots: number[]): Body {
  const nc = dcSlots.length;
  const f = new Body(0), flow = new Flow(f);
  const L = () => f.local(I32);
  const p = L(), n = L(), fake = L(), atMarker = L(), got = L(), len = L(), len8 = L();
  const blocks = L(), bw = L(), restart = L(), stride = L(), i = L(), bx = L(), out = L(), since = L();
  const e = L(), k = L(), t = L(), v = L(), b = L(), mask = L(), x = L(), y = L(), limit = L();
  const a01 = L(), a10 = L(), a11 = L();
  const acc = f.local(I64), vec = f.local(V128), ff = f.local(V128);
  const pred = Array.from({ length: nc }, L), plane = Array.from({ length: nc }, L);
  const steps = Array.from({ length: nc }, () => Array.from({ length: 4 }, L));
  const param = (slot: number) => mem(f.i32(0), OP.i32Load, 2, PARAMS + 4 * slot);
  const add = (local: number, value: number) => f.get(local).i32(value).op(OP.i32Add).set(local);
  /** `acc >> (n − by)` as i32 (its low 32 bits). */
  const peek = (by: number) => {
    f.get(acc).get(n);
    if (by) f.i32(by).op(OP.i32Sub);
    f.op(X.i64ExtendI32U).op(X.i64ShrU).op(X.i32WrapI64);
  };
  /** The next `bits` bits as a byte offset into a table of `1 << size`-byte entries. */
  const index = (bits: number, size: number) => {
    peek(bits + size);
    f.i32(((1 << bits) - 1) << size).op(X.i32And);
  };
  /** A marker's second byte on the stack → whether it is RST0–7. */
  const isRst = () => f.i32(0xd0).op(OP.i32Sub).i32(7).op(X.i32LeU);
  /** `v` = the `b`-bit value on the stack, sign-extended as JPEG does (below half: v − (2^b − 1)). */
  const extend = () => {
    f.i32(1).get(b).op(OP.i32Shl).i32(1).op(OP.i32Sub).tee(mask).op(X.i32And).tee(v);
    f.get(v).get(b).i32(1).op(OP.i32Sub).op(X.i32ShrS).i32(1).op(OP.i32Sub).get(mask).op(X.i32And);
    f.op(OP.i32Sub).set(v);
  };

  f.i32(-1).simd(S.i8x16Splat).set(ff); // 0xFF in every byte
  param(P.len).tee(len).i32(8).op(OP.i32Sub).set(len8);
  param(P.blocks).set(blocks);
  param(P.bw).set(bw);
  param(P.restart).set(restart);
  param(P.stride).set(stride);
  for (let c = 0; c < nc; c++) {
    param(P.planes + c).set(plane[c]!);
    for (let s = 0; s < 4; s++) param(P.steps + 4 * c + s).set(steps[c]![s]!);
  }
  mem(f.i32(0).i32(0), X.i32Store, 2, PARAMS + 4 * P.status);

  flow.block((decline) => {
    /** Makes `n` at least 32 (each code and its bits take 31 at most), as the JS loop's byte feed. */
    const ensure = () => {
      f.get(n).i32(32).op(X.i32LtS);
      flow.if(() => {
        flow.loop((fill) => {
          flow.block((next) => {
            flow.block((slow) => {
              // Up to (63 − n) / 8 bytes at once, stopping before the first 0xFF.
              f.get(atMarker).get(p).get(len8).op(X.i32GtS).op(X.i32Or);
              flow.brIf(slow);
              f.get(p).simd(S.load64Zero, 3, ...uleb(DATA)).tee(vec);
              f.get(ff).simd(S.i8x16Eq).simd(S.i8x16Bitmask).i32(0x100).op(X.i32Or).op(X.i32Ctz).set(t);
              f.i32(63).get(n).op(OP.i32Sub).i32(3).op(OP.i32ShrU).set(x);
              f.get(t).get(x).get(t).get(x).op(OP.i32LtU).op(X.select).tee(t).op(X.i32Eqz);
              flow.brIf(slow);
              f.get(t).i32(3).op(OP.i32Shl).set(b);
              // acc = acc << 8t | (the 8 bytes, big-endian) >> (64 − 8t)
              f.get(acc).get(b).op(X.i64ExtendI32U).op(X.i64Shl);
              f.get(vec).get(vec).simd(S.shuffle, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15);
              f.simd(S.i64x2ExtractLane, 0).i32(64).get(b).op(OP.i32Sub).op(X.i64ExtendI32U).op(X.i64ShrU);
              f.op(X.i64Or).set(acc);
              f.get(n).get(b).op(OP.i32Add).set(n);
              f.get(p).get(t).op(OP.i32Add).set(p);
              f.get(got).get(t).op(OP.i32Add).set(got);
              flow.br(next);
            });
            // One byte, as the JS loop: a marker or the end feeds a zero byte, counted in `fake`.
            f.get(atMarker).get(p).get(len).op(X.i32GeS).op(X.i32Or);
            flow.if(() => {
              add(fake, 1);
              f.i32(0).set(b);
            }, () => {
              mem(f.get(p), X.i32Load8U, 0, DATA).tee(b).i32(0xff).op(X.i32Ne);
              flow.if(() => add(p, 1), () => {
                mem(f.get(p), X.i32Load8U, 0, DATA + 1).op(X.i32Eqz);
                flow.if(() => add(p, 2), () => {
                  f.i32(1).set(atMarker);
                  f.i32(0).set(b);
                  add(fake, 1);
                });
              });
            });
            f.get(acc).i32(8).op(X.i64ExtendI32U).op(X.i64Shl).get(b).op(X.i64ExtendI32U).op(X.i64Or).set(
              acc,
            );
            add(n, 8);
            add(got, 1);
          });
          f.get(n).i32(32).op(X.i32LtS);
          flow.brIf(fill);
        });
      });
    };
    /**
     * `e` = the lookahead entry of the code at the reader (as the JS loop's `lut` and `longEntry`), from
     * the slot at `at`; declines where no code matches.
     */
    const lookup = (at: number, ac: boolean) => {
      index(9, 2);
      mem(f, OP.i32Load, 2, at + LUT).tee(e).op(X.i32Eqz);
      flow.if(() => {
        // A code longer than 9 bits: the canonical bounds, lengths 10–16.
        peek(16);
        f.i32(0xffff).op(X.i32And).set(t);
        f.i32(10).set(x);
        flow.block((found) => {
          flow.loop((length) => {
            f.get(t).i32(16).get(x).op(OP.i32Sub).op(OP.i32ShrU).tee(v);
            mem(f.get(x).i32(2).op(OP.i32Shl), OP.i32Load, 2, at + LONG).op(X.i32LeS);
            flow.if(() => {
              mem(f.get(x).i32(2).op(OP.i32Shl), OP.i32Load, 2, at + LONG + 128).get(v).op(OP.i32Add);
              mem(f.i32(2).op(OP.i32Shl), OP.i32Load, 2, at + LONG + 256);
              f.get(x).i32(ac ? 33 : 1).op(OP.i32Mul).op(OP.i32Add).set(e);
              flow.br(found);
            });
            f.get(x).i32(1).op(OP.i32Add).tee(x).i32(16).op(X.i32LeS);
            flow.brIf(length);
          });
          flow.br(decline); // no such code
        });
      });
    };
    /** `value` clamped to 0–255, stored at `addr` + `offset`. */
    const store = (addr: () => void, value: () => void, offset: number) => {
      addr();
      value();
      f.tee(y).i32(0).get(y).i32(0).op(X.i32GtS).op(X.select).tee(y).i32(255).get(y).i32(255).op(X.i32LtS)
        .op(X.select);
      mem(f, X.i32Store8, 0, offset);
    };

    flow.block((end) => {
      flow.loop((blockLoop) => {
        // A restart marker after every `restart` blocks.
        f.get(since).get(restart).op(X.i32Eq); // never with no interval: −1
        flow.if(() => {
          // x = bits used in the interval, y = bits used before its last code, t = bytes the JS loop had read
          // then, v = real bytes this one has read.
          f.get(got).i32(3).op(OP.i32Shl).get(n).op(OP.i32Sub).tee(x).get(e).i32(31).op(X.i32And).op(
            OP.i32Sub,
          ).set(y);
          f.get(y).i32(32).op(OP.i32Add).i32(3).op(X.i32ShrS).set(t);
          f.get(x).i32(7).op(OP.i32Add).i32(3).op(X.i32ShrS).tee(b).get(t).get(b).get(t).op(X.i32GtS).op(
            X.select,
          ).set(t);
          f.get(got).get(fake).op(OP.i32Sub).set(v);
          f.get(atMarker);
          flow.if(() => {
            // The JS loop is at the marker too (t = v) or past it (t > v): its bits must end before it.
            f.get(t).get(v).op(X.i32LtS);
            f.get(x).get(v).i32(3).op(OP.i32Shl).op(X.i32GtS).op(X.i32Or);
            mem(f.get(p), X.i32Load8U, 0, DATA + 1);
            isRst();
            f.op(X.i32Eqz).op(X.i32Or);
            flow.brIf(decline);
          }, () => {
            // The JS loop must have read exactly the bytes up to an RSTn.
            f.get(t).get(v).op(X.i32Ne);
            mem(f.get(p), X.i32Load8U, 0, DATA).i32(0xff).op(X.i32Ne).op(X.i32Or);
            mem(f.get(p), X.i32Load8U, 0, DATA + 1);
            isRst();
            f.op(X.i32Eqz).op(X.i32Or);
            flow.brIf(decline);
          });
          add(p, 2);
          for (const local of [n, fake, got, since, atMarker, ...pred]) f.i32(0).set(local);
        });
        // The interval's last block reads its AC codes one at a time, so that `e` is its last code's entry.
        f.i32(0).i32(64).get(since).i32(1).op(OP.i32Add).tee(since).get(restart).op(X.i32Eq).op(X.select).set(
          limit,
        );
        for (let c = 0; c < nc; c++) {
          const dcAt = DC_AT + DC_SIZE * dcSlots[c]!, acAt = AC_AT + AC_SIZE * acSlots[c]!;
          // DC: a code and its difference in one read, or the code, then that many bits.
          ensure();
          index(DC_BITS, 1);
          mem(f, X.i32Load16S, 1, dcAt + FAST).tee(e);
          flow.if(() => {
            f.get(n).get(e).i32(15).op(X.i32And).op(OP.i32Sub).set(n);
            f.get(e).i32(4).op(X.i32ShrS).get(pred[c]!).op(OP.i32Add).op(X.i32Extend16S).set(pred[c]!);
          }, () => {
            lookup(dcAt, false);
            f.get(n).get(e).i32(31).op(X.i32And).op(OP.i32Sub).set(n);
            f.get(e).i32(8).op(OP.i32ShrU).i32(15).op(X.i32And).tee(b);
            flow.if(() => {
              f.get(n).get(b).op(OP.i32Sub).set(n);
              peek(0);
              extend();
              f.get(v).get(pred[c]!).op(OP.i32Add).op(X.i32Extend16S).set(pred[c]!); // 16-bit, wrapping
            });
          });
          /** AC codes skipped up to the end of the block; `exit` on an end-of-block code. */
          const skip = (exit: number) => {
            flow.loop((more) => {
              ensure();
              // As many whole codes as lie in the next SKIP_BITS bits, where they stay within the block.
              index(SKIP_BITS, 1);
              mem(f, X.i32Load16U, 1, acAt + FAST).tee(e).i32(4).op(OP.i32ShrU).i32(63).op(X.i32And).tee(t);
              f.get(k).op(OP.i32Add).get(limit).op(X.i32LtS);
              flow.if(() => {
                f.get(n).get(e).i32(15).op(X.i32And).op(OP.i32Sub).set(n);
                f.get(k).get(t).op(OP.i32Add).set(k);
                f.get(e).i32(1024).op(X.i32And);
                flow.brIf(exit);
              }, () => {
                lookup(acAt, true);
                f.get(n).get(e).i32(31).op(X.i32And).op(OP.i32Sub).set(n);
                f.get(e).i32(10).op(OP.i32ShrU).tee(t).op(X.i32Eqz);
                flow.brIf(exit);
                f.get(k).get(t).op(OP.i32Add).set(k);
              });
              f.get(k).i32(64).op(X.i32LtS);
              flow.brIf(more);
            });
          };
          f.i32(1).set(k);
          if (!four) {
            flow.block((eob) => skip(eob));
          } else {
            for (const a of [a01, a10, a11]) f.i32(0).set(a);
            flow.block((eob) => {
              // Zigzag 1, 2 and 4 read for their values.
              flow.loop((first) => {
                ensure();
                index(VALUE_BITS, 2);
                mem(f, OP.i32Load, 2, acAt + VALUES).tee(e);
                flow.if(() => {
                  f.get(n).get(e).i32(31).op(X.i32And).op(OP.i32Sub).set(n);
                  f.get(e).i32(5).op(OP.i32ShrU).i32(31).op(X.i32And).set(t);
                  f.get(e).i32(10).op(X.i32ShrS).set(v);
                }, () => {
                  lookup(acAt, true);
                  f.get(n).get(e).i32(31).op(X.i32And).op(OP.i32Sub).set(n);
                  f.get(e).i32(10).op(OP.i32ShrU).set(t);
                  // The magnitude bits lie just above the `n` unread ones.
                  f.get(e).i32(31).op(X.i32And).get(e).i32(5).op(OP.i32ShrU).i32(31).op(X.i32And).op(
                    OP.i32Sub,
                  ).set(b);
                  peek(0);
                  extend();
                });
                f.get(t).op(X.i32Eqz);
                flow.if(() => {
                  f.i32(64).set(k);
                  flow.br(eob);
                });
                f.get(k).get(t).op(OP.i32Add).set(k);
                for (const [a, at] of [[a01, 2], [a10, 3], [a11, 5]] as const) {
                  f.get(v).get(a).get(k).i32(at).op(X.i32Eq).op(X.select).set(a);
                }
                f.get(k).i32(5).op(X.i32LtS);
                flow.brIf(first);
              });
              f.get(k).i32(64).op(X.i32LtS);
              flow.if(() => skip(eob));
            });
          }
          // A run past the block's end: the JS loop declines.
          f.get(k).i32(64).op(X.i32GtS);
          flow.brIf(decline);
          const [s00, s01, s10, s11] = steps[c]!;
          if (!four) {
            // (dc · q + 1024) / 8, truncated toward zero, clamped.
            f.get(pred[c]!).get(s00!).op(OP.i32Mul).i32(1024).op(OP.i32Add).tee(x);
            f.get(x).i32(31).op(X.i32ShrS).i32(7).op(X.i32And).op(OP.i32Add).i32(3).op(X.i32ShrS).set(x);
            store(() => f.get(plane[c]!).get(i).op(OP.i32Add), () => f.get(x), 0);
          } else {
            // x = c00 + c10 + 1028 (t0), b = c00 − c10 + 1028 (b0), t = c01 + c11 (t1), v = c01 − c11 (b1)
            f.get(pred[c]!).get(s00!).op(OP.i32Mul).i32(1028).op(OP.i32Add).set(b);
            f.get(a10).get(s10!).op(OP.i32Mul).set(mask);
            f.get(b).get(mask).op(OP.i32Add).set(x);
            f.get(b).get(mask).op(OP.i32Sub).set(b);
            f.get(a01).get(s01!).op(OP.i32Mul).tee(t).get(a11).get(s11!).op(OP.i32Mul).tee(mask).op(OP.i32Sub)
              .set(v);
            f.get(t).get(mask).op(OP.i32Add).set(t);
            f.get(plane[c]!).get(out).op(OP.i32Add).set(mask);
            const at = () => f.get(mask);
            store(at, () => f.get(x).get(t).op(OP.i32Add).i32(3).op(X.i32ShrS), 0);
            store(at, () => f.get(x).get(t).op(OP.i32Sub).i32(3).op(X.i32ShrS), 1);
            f.get(mask).get(stride).op(OP.i32Add).set(mask);
            store(at, () => f.get(b).get(v).op(OP.i32Add).i32(3).op(X.i32ShrS), 0);
            store(at, () => f.get(b).get(v).op(OP.i32Sub).i32(3).op(X.i32ShrS), 1);
          }
        }
        if (four) {
          add(out, 2);
          f.get(bx).i32(1).op(OP.i32Add).tee(bx).get(bw).op(X.i32Eq);
          flow.if(() => {
            f.i32(0).set(bx);
            f.get(out).get(stride).op(OP.i32Add).set(out);
          });
        }
        f.get(i).i32(1).op(OP.i32Add).tee(i).get(blocks).op(OP.i32LtU);
        flow.brIf(blockLoop);
      });
      // Read past the data: a damaged or cut file.
      f.get(fake).i32(3).op(OP.i32Shl).get(n).op(X.i32GtS);
      flow.brIf(end);
      mem(f.i32(0).i32(1), X.i32Store, 2, PARAMS + 4 * P.status);
    });
  });
  return f;
}

/**
 * The colour conversion of jpeg_dc.ts's `toRgb` for three planes, 16 pixels at a time in float32 lanes as
 * there: `r = y + kr·(cr − 128)`, `g = (y − kgb·(cb − 128)) − gr·(cr − 128)`, `b = y + kb·(cb − 128)`, each
 * product and sum rounded to float32 (the JavaScript rounds each step with `Math.fround`: the same values),
 * then `+ 0.5`, truncated and clamped to 0–255 (by the saturating narrowing to bytes). The planes'
 * top-left `width × height` (rows `stride` apart), RGB at `out`; each row's last 16 may read past its end
 * and write up to 47 bytes past it (the next row's, rewritten after; slack after the last).
 */
function rgbBody(): Body {
  const f = new Body(0), flow = new Flow(f);
  const L = () => f.local(I32), V = () => f.local(V128);
  const [ys, cbs, crs] = [L(), L(), L()];
  const w = L(), h = L(), stride = L(), out = L(), o = L(), row = L(), i = L(), end = L();
  const [kr, kgb, kb, gr, half, c128] = [V(), V(), V(), V(), V(), V()];
  const [yv, cbv, crv, y16, cb16, cr16, yf, cbf, crf] = [V(), V(), V(), V(), V(), V(), V(), V(), V()];
  const lanes = [0, 1, 2].map(() => [V(), V(), V(), V()]); // r, g, b: 4 pixels a vector
  const [r8, g8, b8, rgLow, rgHigh, mid] = [V(), V(), V(), V(), V(), V()];
  const param = (slot: number) => mem(f.i32(0), OP.i32Load, 2, PARAMS + 4 * slot);
  [ys, cbs, crs].forEach((plane, c) => param(P.planes + c).set(plane));
  param(P.width).set(w);
  param(P.height).set(h);
  param(P.stride).set(stride);
  param(P.out).set(out);
  const splat = (value: number, local: number) =>
    f.op(X.f32Const, ...new Uint8Array(Float32Array.of(value).buffer)).simd(S.f32x4Splat).set(local);
  const [kR, kGB, kB, gR] = COLOUR_FACTORS.map(Math.fround);
  splat(kR!, kr), splat(kGB!, kgb), splat(kB!, kb), splat(gR!, gr), splat(0.5, half), splat(128, c128);
  f.i32(0).set(row);
  flow.loop((rows) => {
    f.get(row).get(stride).op(OP.i32Mul).tee(i).get(w).op(OP.i32Add).set(end);
    f.get(row).get(w).op(OP.i32Mul).i32(3).op(OP.i32Mul).get(out).op(OP.i32Add).set(o);
    flow.loop((chunks) => {
      for (const [plane, v] of [[ys, yv], [cbs, cbv], [crs, crv]] as const) {
        f.get(plane).get(i).op(OP.i32Add).mem(SIMD.load, 0).set(v);
      }
      for (let hi = 0; hi < 2; hi++) {
        for (const [v, v16] of [[yv, y16], [cbv, cb16], [crv, cr16]] as const) {
          f.get(v).simd(hi ? S.i16x8ExtendHighU8 : S.i16x8ExtendLowU8).set(v16);
        }
        for (let q = 0; q < 2; q++) {
          for (const [v16, vf] of [[y16, yf], [cb16, cbf], [cr16, crf]] as const) {
            f.get(v16).simd(q ? S.i32x4ExtendHighU16 : S.i32x4ExtendLowU16).simd(SIMD.f32x4ConvertI32x4S);
            if (vf !== yf) f.get(c128).simd(SIMD.f32x4Sub);
            f.set(vf);
          }
          const at = 2 * hi + q;
          f.get(yf).get(kr).get(crf).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
          f.get(half).simd(SIMD.f32x4Add).simd(S.i32x4TruncSatF32x4S).set(lanes[0]![at]!);
          f.get(yf).get(kgb).get(cbf).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Sub);
          f.get(gr).get(crf).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Sub);
          f.get(half).simd(SIMD.f32x4Add).simd(S.i32x4TruncSatF32x4S).set(lanes[1]![at]!);
          f.get(yf).get(kb).get(cbf).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
          f.get(half).simd(SIMD.f32x4Add).simd(S.i32x4TruncSatF32x4S).set(lanes[2]![at]!);
        }
      }
      // To bytes, saturating (the clamp), then interleaved r g b.
      [r8, g8, b8].forEach((v8, c) => {
        const [a, b, d, e] = lanes[c]!;
        f.get(a!).get(b!).simd(SIMD.i16x8NarrowI32x4S).get(d!).get(e!).simd(SIMD.i16x8NarrowI32x4S);
        f.simd(SIMD.i8x16NarrowI16x8U).set(v8);
      });
      const zip = (from: number) => Array.from({ length: 16 }, (_, k) => (k & 1 ? 16 : 0) + from + (k >> 1));
      f.get(r8).get(g8).simd(S.shuffle, ...zip(0)).set(rgLow); // r0 g0 … r7 g7
      f.get(r8).get(g8).simd(S.shuffle, ...zip(8)).set(rgHigh); // r8 g8 … r15 g15
      // Pixel p's r and g at 2p and 2p + 1 of rgLow (p < 8) or rgHigh, its b at 16 + p of b8.
      f.get(o).get(rgLow).get(b8).simd(S.shuffle, 0, 1, 16, 2, 3, 17, 4, 5, 18, 6, 7, 19, 8, 9, 20, 10).mem(
        SIMD.store,
        0,
      );
      f.get(rgLow).get(rgHigh).simd(S.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)
        .set(mid); // r4 g4 … r11 g11
      f.get(o).get(mid).get(b8).simd(S.shuffle, 3, 21, 4, 5, 22, 6, 7, 23, 8, 9, 24, 10, 11, 25, 12, 13).mem(
        SIMD.store,
        16,
      );
      f.get(o).get(rgHigh).get(b8).simd(S.shuffle, 26, 6, 7, 27, 8, 9, 28, 10, 11, 29, 12, 13, 30, 14, 15, 31)
        .mem(SIMD.store, 32);
      f.get(o).i32(48).op(OP.i32Add).set(o);
      f.get(i).i32(16).op(OP.i32Add).tee(i).get(end).op(X.i32LtS);
      flow.brIf(chunks);
    });
    f.get(row).i32(1).op(OP.i32Add).tee(row).get(h).op(OP.i32LtU);
    flow.brIf(rows);
  });
  return f;
}

/** jpeg-decoder 0.1.22's YCbCr → RGB factors: red by cr, green by cb and by cr, blue by cb. */
const COLOUR_FACTORS = [1.402, 0.34414, 1.772, 0.71414];

/**
 * jpeg-decoder 0.1.22's YCbCr → RGB factors times (x − 128) for x = 0…255, each product rounded to
 * float32 as it does: `kr` (1.402, by cr), `kgb` (0.34414, by cb), `kb` (1.772, by cb), `gr` (0.71414, by
 * cr).
 * @returns The four tables, in that order.
 */
export function colourSteps(): [Float32Array, Float32Array, Float32Array, Float32Array] {
  const f = Math.fround;
  const [kr, kgb, kb, gr] = COLOUR_FACTORS.map((k) =>
    Float32Array.from({ length: 256 }, (_, x) => f(f(k) * (x - 128)))
  );
  return [kr!, kgb!, kb!, gr!];
}

/**
 * The code `t` reads at the top of `bits` (`r` of them, at most 16): `length | base << 5`, where `base` is
 * its lookahead entry for length 0, or −1 where no code of `r` bits or fewer matches.
 */
function codeAt(t: ScanTable, bits: number, r: number): number {
  const e = t.lut[r >= 9 ? bits >>> (r - 9) : bits << (9 - r)]!, per = t.ac ? 33 : 1;
  if (e) { // a code of 9 bits or fewer (then none longer matches)
    const length = t.ac ? (e >> 5) & 31 : e & 31;
    return length <= r ? length | ((e - per * length) << 5) : -1;
  }
  for (let length = 10; length <= r; length++) {
    const code = bits >>> (r - length);
    if (code <= t.maxcode[length]!) return length | (t.base[t.valptr[length]! + code]! << 5);
  }
  return -1;
}

/** Fast tables by lookahead table: built once per Huffman table. */
const fastTables = new WeakMap<ScanTable, Int16Array | Uint16Array>();
/** Value tables by lookahead table. */
const valueTables = new WeakMap<ScanTable, Int32Array>();

/**
 * An AC table's value table: per VALUE_BITS-bit prefix holding a whole code and its magnitude bits,
 * `bits | advance << 5 | value << 10` (0 otherwise; advance 0 for an end of block).
 */
function valueTable(t: ScanTable): Int32Array {
  const out = new Int32Array(1 << VALUE_BITS);
  for (let prefix = 0; prefix < out.length; prefix++) {
    const code = codeAt(t, prefix, VALUE_BITS), base = code >> 5;
    if (code < 0) continue;
    const size = base & 31, bits = (code & 31) + size;
    if (bits > VALUE_BITS) continue;
    let value = (prefix >> (VALUE_BITS - bits)) & ((1 << size) - 1);
    if (size && value < 1 << (size - 1)) value -= (1 << size) - 1;
    out[prefix] = bits | ((base >> 10) << 5) | (value << 10);
  }
  return out;
}

/**
 * A DC table's fast table: per DC_BITS-bit prefix holding a whole code and its difference bits,
 * `bits | difference << 4` (0 otherwise).
 */
function dcFast(t: ScanTable): Int16Array {
  const out = new Int16Array(1 << DC_BITS);
  for (let prefix = 0; prefix < out.length; prefix++) {
    const code = codeAt(t, prefix, DC_BITS);
    if (code < 0) continue;
    const size = code >> 13, bits = (code & 31) + size; // base: size << 8
    if (bits > DC_BITS) continue;
    let diff = (prefix >> (DC_BITS - bits)) & ((1 << size) - 1);
    if (size && diff < 1 << (size - 1)) diff -= (1 << size) - 1;
    out[prefix] = bits | (diff << 4);
  }
  return out;
}

/**
 * An AC table's skipping table: per SKIP_BITS-bit prefix, the whole codes (with their magnitude bits) at
 * its top, up to an end of block: `bits | advance << 4 | endOfBlock << 10`, where `advance` (at most 62)
 * counts the zigzag positions they cover; where not even one code lies within, advance 63 (never taken).
 */
function skipTable(t: ScanTable): Uint16Array {
  const out = new Uint16Array(1 << SKIP_BITS);
  for (let prefix = 0; prefix < out.length; prefix++) {
    let used = 0, advance = 0, end = 0, codes = 0;
    for (;;) {
      const r = SKIP_BITS - used, code = codeAt(t, prefix & ((1 << r) - 1), r);
      if (code < 0) break;
      const length = code & 31, size = (code >> 5) & 31, step = code >> 15;
      if (length + size > r) break;
      if (step === 0) {
        used += length, end = 1, codes++;
        break;
      }
      if (advance + step > 62) break;
      used += length + size, advance += step, codes++;
    }
    out[prefix] = codes ? used | (advance << 4) | (end << 10) : 63 << 4;
  }
  return out;
}

/** The WebAssembly memory, per thread; `null` where WebAssembly (with SIMD) is missing. */
let memory: WebAssembly.Memory | null | undefined;
/** The colour conversion, compiled on first use. */
let rgb: (() => void) | undefined;

/**
 * The scan function for this scale and table slots, and the colour conversion, each compiled on first use
 * on this thread's memory (`functionOn`); null where WebAssembly (with SIMD) is missing.
 */
function scanFunction(four: boolean, dcSlots: number[], acSlots: number[]): (() => void) | null {
  try {
    memory ??= new WebAssembly.Memory({ initial: 32 });
    rgb ??= functionOn(memory, "", "rgb", 0, rgbBody);
    const key = `${four ? 4 : 8}:${dcSlots}:${acSlots}`;
    return functionOn(memory, key, "scan", 0, () => scanBody(four, dcSlots, acSlots));
  } catch {
    memory = null;
    return null;
  }
}

/** Each distinct table's slot (0–2), per component, and the tables in slot order. */
function slots(tables: ScanTable[]): [number[], ScanTable[]] {
  const distinct: ScanTable[] = [];
  const slot = tables.map((t) => {
    const at = distinct.indexOf(t);
    return at >= 0 ? at : distinct.push(t) - 1;
  });
  return [slot, distinct];
}

/**
 * Decodes a scan's blocks into planes (one byte a pixel per component; at 1/4, rows `2·bw` wide), as
 * jpeg_dc.ts's JavaScript loop does.
 * @param job The scan, its tables and steps.
 * @returns The planes (views of this thread's WebAssembly memory, good until the next call), `undefined`
 *   where the JavaScript loop would decline too, or `null` where this cannot run (no WebAssembly).
 */
export function scanWasm(job: ScanJob): Uint8Array[] | undefined | null {
  if (memory === null) return null;
  const { file, start, four, bw, blocks, restart, components } = job;
  const [dcSlots, dcTables] = slots(components.map((c) => c.dc));
  const [acSlots, acTables] = slots(components.map((c) => c.ac));
  const scan = scanFunction(four, dcSlots, acSlots);
  if (!scan || !memory) return null;
  const nc = components.length, len = file.length - start;
  const planeSize = four ? 4 * blocks : blocks;
  // The planes, then room for their RGB (`rgbWasm`, which reads and writes up to 47 bytes past them).
  const planesAt = (DATA + len + 16 + 15) & ~15, need = planesAt + (nc + 3) * planeSize + 64;
  if (memory.buffer.byteLength < need) {
    try {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    } catch {
      return null; // more than this engine gives WebAssembly
    }
  }
  const bytes = new Uint8Array(memory.buffer), words = new Int32Array(memory.buffer, 0, DATA >> 2);
  bytes.set(file.subarray(start), DATA);
  bytes[DATA + len] = bytes[DATA + len + 1] = 1;
  words[P.len] = len, words[P.blocks] = blocks, words[P.bw] = bw, words[P.restart] = restart || -1;
  words[P.stride] = four ? 2 * bw : bw;
  components.forEach((c, i) => {
    words[P.planes + i] = planesAt + i * planeSize;
    words.set(c.steps, P.steps + 4 * i);
  });
  for (const [tables, at, size] of [[dcTables, DC_AT, DC_SIZE], [acTables, AC_AT, AC_SIZE]] as const) {
    tables.forEach((table, s) => {
      const slot = at + size * s;
      words.set(table.lut, (slot + LUT) >> 2);
      words.set(table.maxcode, (slot + LONG) >> 2);
      words.set(table.valptr, (slot + LONG + 128) >> 2);
      words.set(table.base, (slot + LONG + 256) >> 2);
      let fast = fastTables.get(table);
      if (!fast) fastTables.set(table, fast = table.ac ? skipTable(table) : dcFast(table));
      bytes.set(new Uint8Array(fast.buffer), slot + FAST);
      if (table.ac && four) {
        let values = valueTables.get(table);
        if (!values) valueTables.set(table, values = valueTable(table));
        words.set(values, (slot + VALUES) >> 2);
      }
    });
  }
  scan();
  if (words[P.status] !== 1) return undefined;
  return components.map((_, i) => new Uint8Array(memory!.buffer, planesAt + i * planeSize, planeSize));
}

/**
 * Converts three planes that {@linkcode scanWasm} gave to RGB, as jpeg_dc.ts's `toRgb` does.
 * @param planes Y, Cb and Cr, as `scanWasm` returned them (before any other call).
 * @param width Pixels across: the planes' top-left `width × height` is converted.
 * @param height Rows.
 * @param stride Bytes from one plane row to the next.
 * @returns RGB pixels (a copy, the caller's), or `null` for planes not in this thread's memory.
 */
export function rgbWasm(
  planes: Uint8Array[],
  width: number,
  height: number,
  stride: number,
): Uint8Array | null {
  if (!memory || !rgb || planes.length !== 3 || planes.some((p) => p.buffer !== memory!.buffer)) return null;
  const words = new Int32Array(memory.buffer, 0, 256), out = planes[2]!.byteOffset + planes[2]!.length;
  planes.forEach((plane, i) => words[P.planes + i] = plane.byteOffset);
  words[P.width] = width, words[P.height] = height, words[P.stride] = stride, words[P.out] = out;
  rgb();
  return new Uint8Array(memory.buffer, out, 3 * width * height).slice();
}
