/**
 * A JPEG at 1/8 or 1/4 scale from its first coefficients: at 1/8 each 8×8
 * block's DC term is its one pixel; at 1/4 its 2×2 pixels come from the
 * DC term and the three lowest AC terms (zigzag 1, 2, 4). So no full
 * inverse DCT runs; what remains is reading the Huffman-coded data, which
 * this does in one pass with 9-bit lookahead tables, skipping every other
 * AC coefficient's bits without decoding its value.
 *
 * It takes the common case only: baseline (or extended sequential 8-bit)
 * Huffman JPEGs, one interleaved scan, every component unsubsampled (4:4:4)
 * or one component (grey), YCbCr (components 1, 2, 3). Anything else, and
 * any data it cannot follow (a cut file, a run past a block's end, Huffman
 * symbols jpeg-decoder reads otherwise), returns `undefined` and
 * `decodeImage` uses imagescript's decoder, whose 1/8- and 1/4-scale output
 * this equals byte for byte: imagescript 1.3.1 is a build of jpeg-decoder
 * 0.1.22, and this does what its `dequantize_and_idct_block_1x1` and `_2x2`,
 * its cutting of edge blocks and its f32 YCbCr → RGB do (tested on every
 * Learn photo at both scales, on generated JPEGs with random coefficients,
 * sizes and restarts, and on all 2²⁴ YCbCr triples).
 *
 * The loop over the blocks (bit reader, predictors, the scaled inverse DCTs)
 * and, for YCbCr, the colour conversion run in WebAssembly
 * (jpeg_dc_wasm.ts), which gives the same bytes and declines the same
 * files; the JavaScript loop here is its reference (tests compare the two on
 * photos, generated, cut and damaged JPEGs) and runs where it cannot: no
 * WebAssembly SIMD, or a Huffman table that is no prefix code.
 *
 * On 20 Learn photos (3000 px, 4:4:4), alternating with the JavaScript loop
 * photo by photo (scratch/jpeg4/bench_ab.ts, 3 runs of 20 rounds on a busy
 * two-core Xeon), it takes 5.9–6.8 ms a photo at 1/8 where that takes
 * 14.7–16.5, and 9.2–9.9 ms at 1/4 where that takes 20–22 (the fastest round
 * of each photo; medians 6.8–7.3 against 16.4–17.5, and 10.2–10.9 against
 * 22–24). imagescript took 22 and 26. A process's first call takes 25–42 ms
 * (writing and compiling the module, building its tables, the loop on V8's
 * baseline compiler), the JavaScript loop's 36–93.
 * @module
 */

import { colourSteps, rgbWasm, type ScanJob, scanWasm } from "./jpeg_dc_wasm.ts";

/** Scans read by each loop in this thread (a test aid: which one ran). */
export const scanCounts: { wasm: number; js: number } = { wasm: 0, js: 0 };

/** Bits of lookahead: codes up to this long are one table read. */
const LOOK = 9;

/** A Huffman table: a lookahead for short codes, canonical bounds for the rest. */
interface HuffmanTable {
  /**
   * Per 9-bit prefix, 0 for a longer code. DC: `length | symbol << 8`. AC: `bits | length << 5 |
   * advance << 10`, where `bits` counts the code and the coefficient's magnitude bits (skipped
   * together), `advance` the zigzag positions it covers (0: end of block).
   */
  lut: Uint32Array;
  /** Per code length: the largest code of that length, or −1. */
  maxcode: Int32Array;
  /** Per code length: index of its first symbol minus its first code. */
  valptr: Int32Array;
  symbols: Uint8Array;
  ac: boolean;
  /**
   * A symbol jpeg-decoder treats otherwise than this reader: a DC size over 11 (an error there) or an
   * AC end-of-band run (`r0` with 0 < r < 15, which it reads as a progressive EOB run even here).
   */
  odd: boolean;
  /** Per symbol: its lookahead entry for a code of length 0 (see {@linkcode entry}); empty unless `proper`. */
  base: Int32Array;
  /** A prefix code (not over-full) of at most 256 symbols: what the WebAssembly loop takes. */
  proper: boolean;
}

/** Tables by their bytes: photos from one camera or program share them. */
const known = new Map<string, HuffmanTable>();

/** One symbol's lookahead entry (see {@linkcode HuffmanTable.lut}). */
function entry(length: number, symbol: number, ac: boolean): number {
  if (!ac) return length | (symbol << 8);
  const run = symbol >> 4, size = symbol & 15;
  if (size === 0) return length | (length << 5) | ((run === 15 ? 16 : 0) << 10); // ZRL: 16 zeros; else end of block
  return (length + size) | (length << 5) | ((run + 1) << 10);
}

function huffmanTable(counts: Uint8Array, symbols: Uint8Array, ac: boolean): HuffmanTable {
  const key = String.fromCharCode(ac ? 1 : 0, ...counts, ...symbols);
  const cached = known.get(key);
  if (cached) return cached;
  const lut = new Uint32Array(1 << LOOK);
  const maxcode = new Int32Array(17).fill(-1), valptr = new Int32Array(17);
  let code = 0, k = 0, proper = symbols.length <= 256;
  for (let length = 1; length <= 16; length++) {
    valptr[length] = k - code;
    for (let i = 0; i < counts[length - 1]!; i++, k++, code++) {
      if (length > LOOK) continue;
      const e = entry(length, symbols[k]!, ac);
      lut.fill(e, code << (LOOK - length), (code + 1) << (LOOK - length));
    }
    if (counts[length - 1]) maxcode[length] = code - 1;
    if (code > 1 << length) proper = false; // more codes than this length has
    code <<= 1;
  }
  const odd = symbols.some((x) => ac ? (x & 15) === 0 && x !== 0 && x !== 0xf0 : x > 11);
  const base = proper ? Int32Array.from(symbols, (x) => entry(0, x, ac)) : new Int32Array(0);
  const table = { lut, maxcode, valptr, symbols: symbols.slice(), ac, odd, base, proper };
  if (known.size < 64) known.set(key, table);
  return table;
}

/** The entry of a code longer than the lookahead, from the next 16 bits (0: no such code). */
function longEntry(t: HuffmanTable, next16: number): number {
  for (let length = LOOK + 1; length <= 16; length++) {
    const code = next16 >>> (16 - length);
    if (code <= t.maxcode[length]!) return entry(length, t.symbols[t.valptr[length]! + code]!, t.ac);
  }
  return 0;
}

/**
 * Decodes a JPEG at 1/8 or 1/4 scale (`⌈width/s⌉ × ⌈height/s⌉`, as stored:
 * EXIF orientation is the caller's), or says it cannot. Asked for 1/4 of a
 * JPEG 4 pixels or less across or high, it gives 1/8, as imagescript does
 * (jpeg-decoder picks the smallest scale that fills one of the two sides).
 * @param d The whole file.
 * @param scale 8 or 4: the reduction.
 * @param engine Which loop reads the scan: WebAssembly where it can (the default), or the JavaScript
 *   reference (for tests: both give the same result).
 * @returns RGB pixels, or `undefined` for a JPEG outside the common case or data it cannot follow.
 */
export function decodeJpegScaled(
  d: Uint8Array,
  scale: 8 | 4,
  engine: "wasm" | "js" = "wasm",
): { width: number; height: number; data: Uint8Array } | undefined {
  // Per table, the quantisation steps of the coefficients the scaled inverse DCTs use: (0,0), (0,1),
  // (1,0), (1,1) as row, column; the file lists them in zigzag order, at 0, 1, 2 and 4.
  const q00 = [0, 0, 0, 0], q01 = [0, 0, 0, 0], q10 = [0, 0, 0, 0], q11 = [0, 0, 0, 0];
  const dcTables: (HuffmanTable | undefined)[] = [], acTables: (HuffmanTable | undefined)[] = [];
  let width = 0, height = 0, restart = 0, adobe = -1; // Adobe APP14's colour transform, −1 when absent
  let comps: { id: number; tq: number; td: number; ta: number }[] = [];
  if (d[0] !== 0xff || d[1] !== 0xd8) return undefined;
  let pos = 2;
  // Markers up to the first scan.
  for (;;) {
    if (pos + 4 > d.length || d[pos] !== 0xff) return undefined;
    const m = d[pos + 1]!, length = (d[pos + 2]! << 8) | d[pos + 3]!, body = pos + 4, end = pos + 2 + length;
    if (end > d.length) return undefined;
    if (m === 0xdb) {
      for (let p = body; p < end;) {
        const wide = d[p]! >> 4, t = d[p]! & 15, size = wide ? 2 : 1;
        if (wide > 1 || t > 3 || p + 1 + 64 * size > end) return undefined;
        const at = (z: number) => wide ? (d[p + 1 + 2 * z]! << 8) | d[p + 2 + 2 * z]! : d[p + 1 + z]!;
        for (let z = 0; z < 64; z++) if (at(z) === 0) return undefined; // jpeg-decoder refuses a zero step
        q00[t] = at(0), q01[t] = at(1), q10[t] = at(2), q11[t] = at(4);
        p += 1 + 64 * size;
      }
    } else if (m === 0xc0 || m === 0xc1) {
      if (d[body] !== 8) return undefined;
      height = (d[body + 1]! << 8) | d[body + 2]!;
      width = (d[body + 3]! << 8) | d[body + 4]!;
      const n = d[body + 5]!;
      if (n !== 1 && n !== 3) return undefined;
      comps = [];
      for (let i = 0; i < n; i++) {
        const b = body + 6 + 3 * i;
        if (d[b + 1] !== 0x11 || d[b + 2]! > 3) return undefined; // subsampled: imagescript's
        comps.push({ id: d[b]!, tq: d[b + 2]!, td: 0, ta: 0 });
      }
    } else if (m === 0xc4) {
      for (let p = body; p < end;) {
        const ac = d[p]! >> 4, t = d[p]! & 15;
        const counts = d.subarray(p + 1, p + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        if (ac > 1 || t > 3 || p + 17 + total > end) return undefined;
        (ac ? acTables : dcTables)[t] = huffmanTable(counts, d.subarray(p + 17, p + 17 + total), ac === 1);
        p += 17 + total;
      }
    } else if (m === 0xdd) {
      restart = (d[body]! << 8) | d[body + 1]!;
    } else if (m === 0xee) {
      if (length >= 14 && d[body] === 0x41 && d[body + 1] === 0x64) adobe = d[body + 11]!;
    } else if (m === 0xda) {
      if (d[body] !== comps.length) return undefined; // one interleaved scan only
      for (let i = 0; i < comps.length; i++) {
        const c = comps.find((x) => x.id === d[body + 1 + 2 * i]);
        if (!c) return undefined;
        c.td = d[body + 2 + 2 * i]! >> 4;
        c.ta = d[body + 2 + 2 * i]! & 15;
      }
      // A sequential scan covers coefficients 0–63 at full precision; jpeg-decoder refuses anything else.
      const ss = body + 1 + 2 * comps.length;
      if (d[ss] !== 0 || d[ss + 1] !== 63 || d[ss + 2] !== 0) return undefined;
      pos = end;
      break;
    } else if (m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return undefined; // progressive, lossless or arithmetic-coded
    }
    pos = end;
  }
  // Colour: grey, or YCbCr where every reading of the file agrees (components 1, 2, 3 and no Adobe marker
  // saying otherwise). RGB and the rest are left to imagescript.
  const ycc = comps.length === 3 && comps.map((c) => c.id).join() === "1,2,3" &&
    (adobe === -1 || adobe === 1);
  if (!width || !height || !(comps.length === 1 || ycc)) return undefined;
  const dcs = comps.map((c) => dcTables[c.td]), acs = comps.map((c) => acTables[c.ta]);
  if (dcs.some((t) => !t || t.odd) || acs.some((t) => !t || t.odd)) return undefined;
  if (comps.some((c) => !q00[c.tq])) return undefined; // no table for a component
  // Asked for 1/4, jpeg-decoder decodes at 1/8 when that already fills a side: one of 4 pixels or less.
  const four = scale === 4 && width > 4 && height > 4;
  const bw = Math.ceil(width / 8), bh = Math.ceil(height / 8);
  const components = comps.map((c, i) => ({
    dc: dcs[i]!,
    ac: acs[i]!,
    steps: [q00[c.tq]!, q01[c.tq]!, q10[c.tq]!, q11[c.tq]!] as [number, number, number, number],
  }));
  const scan: Scan = { file: d, start: pos, four, bw, blocks: bw * bh, restart, components };
  let planes = engine === "wasm" && components.every((c) => c.dc.proper && c.ac.proper)
    ? scanWasm(scan)
    : null;
  if (planes === null) {
    scanCounts.js++;
    planes = scanJs(scan);
  } else scanCounts.wasm++;
  if (!planes) return undefined;
  const w = four ? Math.ceil(width / 4) : bw,
    h = four ? Math.ceil(height / 4) : bh,
    stride = four ? 2 * bw : bw;
  return { width: w, height: h, data: rgbWasm(planes, w, h, stride) ?? toRgb(planes, w, h, stride) };
}

/** A scan with jpeg_dc.ts's own tables (which the JavaScript loop reads further). */
interface Scan extends ScanJob {
  components: { dc: HuffmanTable; ac: HuffmanTable; steps: [number, number, number, number] }[];
}

/**
 * The scan's blocks into planes, in JavaScript: the reference for the WebAssembly loop (jpeg_dc_wasm.ts),
 * and what runs where that cannot.
 */
function scanJs(scan: Scan): Uint8Array[] | undefined {
  const { file: d, start: pos, four, bw, blocks, restart, components } = scan;
  const nc = components.length;
  const dcs = components.map((c) => c.dc), acs = components.map((c) => c.ac);
  const s00 = components.map((c) => c.steps[0]), s01 = components.map((c) => c.steps[1]);
  const s10 = components.map((c) => c.steps[2]), s11 = components.map((c) => c.steps[3]);
  // At 1/4 each block is 2×2 pixels of a plane 2·bw wide; edge blocks overhang the picture and are cut in toRgb.
  const stride = four ? 2 * bw : bw;
  const planes = components.map(() => new Uint8Array(four ? 4 * blocks : blocks));
  const preds = new Int16Array(nc); // jpeg-decoder's DC predictors are 16-bit, wrapping
  // The bit reader: `acc` holds `n` unread bits at its bottom. A marker or the end feeds zero bytes,
  // counted in `fake`. (This loop is the WebAssembly one's reference and fallback, so it is written for
  // reading, not speed: closures over these locals cost it about 20 %.)
  let acc = 0, n = 0, p = pos, atMarker = false, fake = 0, sinceRestart = 0;
  /** The next byte of the scan: 0xFF for a stuffed 0xFF00, 0 at a marker or past the end. */
  const nextByte = (): number => {
    if (atMarker || p >= d.length) {
      fake++;
      return 0;
    }
    const b = d[p]!;
    if (b !== 0xff) {
      p++;
      return b;
    }
    if (d[p + 1] === 0) {
      p += 2;
      return 0xff;
    }
    atMarker = true;
    fake++;
    return 0;
  };
  /** At least 25 bits in hand. */
  const refill = () => {
    while (n <= 24) {
      acc = (acc << 8) | nextByte();
      n += 8;
    }
  };
  /**
   * The next AC code's lookahead entry (0: a code no table has), its code and magnitude bits consumed:
   * the magnitude then lies just above the `n` unread bits.
   */
  const acCode = (t: HuffmanTable): number => {
    refill();
    let e = t.lut[(acc >>> (n - LOOK)) & ((1 << LOOK) - 1)]!;
    if (e === 0 && (e = longEntry(t, (acc >>> (n - 16)) & 0xffff)) === 0) return 0;
    const bits = e & 31;
    if (bits <= n) n -= bits;
    else { // a 16-bit code and a 10-bit magnitude with 25 bits in hand: the rest after a refill
      n -= (e >>> 5) & 31;
      const rest = bits - ((e >>> 5) & 31);
      acc = (acc << 8) | nextByte();
      n += 8 - rest;
    }
    return e;
  };
  let out = 0; // at 1/4, the block's top-left pixel in the planes
  for (let i = 0, bx = 0; i < blocks; i++) {
    if (restart && sinceRestart === restart) {
      // The interval's bits end at a byte boundary, then RSTn; anything else is data we do not follow.
      if (!atMarker) {
        if (!(d[p] === 0xff && d[p + 1]! >= 0xd0 && d[p + 1]! <= 0xd7)) return undefined;
      } else if (!(d[p + 1]! >= 0xd0 && d[p + 1]! <= 0xd7) || fake * 8 > n) return undefined;
      p += 2;
      acc =
        n =
        fake =
        sinceRestart =
          0;
      atMarker = false;
      preds.fill(0);
    }
    sinceRestart++;
    for (let c = 0; c < nc; c++) {
      refill();
      const dt = dcs[c]!;
      let e = dt.lut[(acc >>> (n - LOOK)) & ((1 << LOOK) - 1)]!;
      if (e === 0 && (e = longEntry(dt, (acc >>> (n - 16)) & 0xffff)) === 0) return undefined;
      n -= e & 31;
      const size = (e >>> 8) & 15;
      let diff = 0;
      if (size) {
        while (n < size) { // at most 11 bits wanted, at least 9 left: one byte
          acc = (acc << 8) | nextByte();
          n += 8;
        }
        diff = (acc >>> (n - size)) & ((1 << size) - 1);
        n -= size;
        diff -= ((diff >> (size - 1)) - 1) & ((1 << size) - 1); // as for the AC values below
      }
      preds[c] = preds[c]! + diff;
      const dc = preds[c]!;
      const at = acs[c]!;
      let k = 1;
      // At 1/4 the first AC coefficients are read for their values: zigzag 1, 2 and 4 are (0,1), (1,0), (1,1).
      let a01 = 0, a10 = 0, a11 = 0;
      if (four) {
        while (k <= 4) {
          e = acCode(at);
          if (e === 0) return undefined;
          const advance = e >>> 10;
          if (advance === 0) {
            k = 64;
            break;
          }
          k += advance; // one past the coefficient's zigzag position
          // Its magnitude bits lie just above the `n` unread ones (none for 16 zeros: 0).
          const magnitude = (e & 31) - ((e >>> 5) & 31);
          let v = (acc >>> n) & ((1 << magnitude) - 1);
          v -= ((v >> (magnitude - 1)) - 1) & ((1 << magnitude) - 1); // negative below half: v − (2^m − 1)
          if (k === 2) a01 = v;
          else if (k === 3) a10 = v;
          else if (k === 5) a11 = v;
        }
      }
      while (k < 64) {
        e = acCode(at);
        if (e === 0) return undefined;
        const advance = e >>> 10;
        if (advance === 0) break;
        k += advance;
      }
      if (k > 64) return undefined; // a run past the block's end: jpeg-decoder's two readers disagree there
      const plane = planes[c]!;
      if (!four) {
        // jpeg-decoder's 1×1 inverse DCT: (dc · q + 1024) / 8, truncated, clamped.
        const v = ((dc * s00[c]! + 1024) / 8) | 0;
        plane[i] = v < 0 ? 0 : v > 255 ? 255 : v;
      } else {
        // Its 2×2 inverse DCT: sums and differences of the four dequantised coefficients, + 4 to round,
        // + 1024 for the level shift, shifted right by 3 and clamped. `>>` wraps as its i32 arithmetic does.
        const c00 = dc * s00[c]!, c10 = a10 * s10[c]!, c01 = a01 * s01[c]!, c11 = a11 * s11[c]!;
        // Row 0 is t0 ± t1, row 1 b0 ± b1.
        const t0 = c00 + c10 + 1028, b0 = c00 - c10 + 1028, t1 = c01 + c11, b1 = c01 - c11;
        let v = (t0 + t1) >> 3;
        plane[out] = v < 0 ? 0 : v > 255 ? 255 : v;
        v = (t0 - t1) >> 3;
        plane[out + 1] = v < 0 ? 0 : v > 255 ? 255 : v;
        v = (b0 + b1) >> 3;
        plane[out + stride] = v < 0 ? 0 : v > 255 ? 255 : v;
        v = (b0 - b1) >> 3;
        plane[out + stride + 1] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    if (four) {
      out += 2;
      if (++bx === bw) {
        bx = 0;
        out += stride; // the block row's second pixel row
      }
    }
  }
  if (fake * 8 > n) return undefined; // it read past the data: a damaged or cut file
  return planes;
}

/**
 * jpeg-decoder 0.1.22's YCbCr → RGB, as tables: red by (cr, y), blue by (cb, y), green's first step
 * `y − 0.34414·cb` by (cb, y) as f32, and its last factor (`0.71414·cr`) by cr. Built on first use.
 */
let colour: { r: Uint8Array; b: Uint8Array; g1: Float32Array; gr: Float32Array } | undefined;

function colourTables(): NonNullable<typeof colour> {
  const f = Math.fround, [kr, kgb, kb, gr] = colourSteps();
  const r = new Uint8Array(65536), b = new Uint8Array(65536), g1 = new Float32Array(65536);
  for (let c = 0; c < 256; c++) {
    for (let y = 0; y < 256; y++) {
      const red = f(f(y + kr[c]!) + 0.5) | 0, blue = f(f(y + kb[c]!) + 0.5) | 0;
      r[(c << 8) | y] = red > 255 ? 255 : red < 0 ? 0 : red;
      b[(c << 8) | y] = blue > 255 ? 255 : blue < 0 ? 0 : blue;
      g1[(c << 8) | y] = f(y - kgb[c]!);
    }
  }
  return { r, b, g1, gr };
}

/**
 * The planes' top-left `w × h` (rows `stride` apart) as RGB: grey repeated, YCbCr converted as
 * jpeg-decoder 0.1.22 does, in f32: `r = y + 1.402·cr`, `g = y − 0.34414·cb − 0.71414·cr`,
 * `b = y + 1.772·cb`, each step rounded to f32, then `+ 0.5`, truncated and clamped. (The 20-bit fixed
 * point of later jpeg-decoders differs for 8,941 of the 2²⁴ inputs, in strong colours; this was checked
 * against imagescript on all of them.) The sum of two f32 values is exact in f64 here, so `Math.fround`
 * of it is the f32 sum.
 */
function toRgb(planes: Uint8Array[], w: number, h: number, stride: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  if (planes.length === 1) {
    const y = planes[0]!;
    for (let row = 0, o = 0; row < h; row++) {
      for (let i = row * stride, end = i + w; i < end; i++, o += 3) out[o] = out[o + 1] = out[o + 2] = y[i]!;
    }
    return out;
  }
  const { r, b, g1, gr } = colour ??= colourTables();
  const [ys, cbs, crs] = planes as [Uint8Array, Uint8Array, Uint8Array];
  const fround = Math.fround;
  for (let row = 0, o = 0; row < h; row++) {
    for (let i = row * stride, end = i + w; i < end; i++, o += 3) {
      const y = ys[i]!, cb = cbs[i]! << 8, cr = crs[i]!;
      const g = fround(fround(g1[cb | y]! - gr[cr]!) + 0.5) | 0;
      out[o] = r[(cr << 8) | y]!;
      out[o + 1] = g > 255 ? 255 : g < 0 ? 0 : g;
      out[o + 2] = b[cb | y]!;
    }
  }
  return out;
}
