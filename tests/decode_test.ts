import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { codecRenewals, decodeImage, orient, readHeader } from "../lib/image/decode.ts";
import { decodeJpegScaled, scanCounts } from "../lib/image/jpeg_dc.ts";
import { cutJobs } from "../lib/embed/job.ts";
import { loadView, loadViews } from "../lib/image/load_view.ts";
import type { ViewName } from "../lib/image/view.ts";
import { crc32 } from "../lib/util/hash.ts";
import { RocksError } from "../lib/util/errors.ts";
import { createRng } from "../lib/util/rng.ts";
import { thumbnail } from "../lib/report/thumbnail.ts";
import {
  drawRgb,
  encodePng,
  IMAGES,
  SKIMAGE,
  SPACE_ROCKS,
  tempDir,
  testImage,
  testPicture,
  withExifOrientation,
} from "./_helpers.ts";
import { haveSkimage } from "./_system.ts";

const BASALT = `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`;

/** Offset of a JPEG's frame header (SOFn) marker, walking the segments (an EXIF thumbnail has its own). */
function frameHeaderAt(jpeg: Uint8Array): number {
  let i = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    if (jpeg[i + 1]! >= 0xc0 && jpeg[i + 1]! <= 0xc2) return i;
    i += 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!);
  }
  throw new Error("no frame header");
}

Deno.test("readHeader() reads a real JPEG's size from its frame header", async () => {
  const h = readHeader(await Deno.readFile(BASALT));
  assertEquals(h, { format: "jpeg", width: 3000, height: 1985, orientation: 1 });
});

Deno.test("decodeImage() decodes a real JPEG at full size and at 1/8 scale", async () => {
  const bytes = await Deno.readFile(BASALT);
  const full = await decodeImage(bytes);
  assertEquals([full.width, full.height, full.data.length], [3000, 1985, 3000 * 1985 * 3]);
  const small = await decodeImage(bytes, { fits: (w, h) => Math.min(w, h) >= 224 });
  assertEquals([small.width, small.height], [375, 249]);
  // A 1/8 DCT decode is an 8×8 box average: compare one block with the full decode.
  const [bx, by] = [100, 100];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) sum += full.data[((by * 8 + y) * 3000 + bx * 8 + x) * 3 + c]!;
    }
    const v = small.data[(by * 375 + bx) * 3 + c]!;
    assert(Math.abs(v - sum / 64) < 12, `channel ${c}: 1/8 decode ${v}, block mean ${sum / 64}`);
  }
});

Deno.test("decodeImage() keeps the stored size when no reduction fits", async () => {
  const bytes = await Deno.readFile(BASALT);
  const img = await decodeImage(bytes, { fits: (w) => w >= 2000 });
  assertEquals(img.width, 3000);
});

Deno.test("decodeImage() reads RGB, RGBA, grayscale, gray+alpha and 16-bit PNGs as RGB", async () => {
  const w = 5, h = 3;
  const rgb = drawRgb(w, h, (x, y) => [x * 40, y * 80, 200]);
  const cases: {
    channels: number;
    depth: number;
    data: Uint8Array;
    expect: (x: number, y: number) => number[];
  }[] = [
    { channels: 3, depth: 8, data: rgb, expect: (x, y) => [x * 40, y * 80, 200] },
    {
      channels: 4,
      depth: 8,
      data: new Uint8Array(w * h * 4).map((
        _,
        i,
      ) => (i % 4 === 3 ? 7 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!)),
      expect: (x, y) => [x * 40, y * 80, 200], // alpha dropped, as PIL's convert("RGB")
    },
    {
      channels: 1,
      depth: 8,
      data: new Uint8Array(w * h).map((_, i) => i * 10),
      expect: (x, y) => Array(3).fill((y * w + x) * 10),
    },
    {
      channels: 2,
      depth: 8,
      data: new Uint8Array(w * h * 2).map((_, i) => (i % 2 ? 255 : Math.floor(i / 2) * 10)),
      expect: (x, y) => Array(3).fill((y * w + x) * 10),
    },
    {
      channels: 3,
      depth: 16,
      data: new Uint8Array(w * h * 6).map((_, i) => (i % 2 === 0 ? rgb[Math.floor(i / 2)]! : 0x80)),
      expect: (x, y) => [x * 40, y * 80, 200], // the high byte of each 16-bit sample
    },
  ];
  for (const c of cases) {
    const img = await decodeImage(encodePng(c.data, w, h, c.channels, c.depth));
    assertEquals([img.width, img.height], [w, h], `${c.channels} channels, ${c.depth} bit`);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const got = Array.from(img.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
        const want = c.expect(x, y);
        assert(
          got.every((v, k) => Math.abs(v - want[k]!) <= 1),
          `${c.channels}ch/${c.depth}bit at ${x},${y}: got ${got}, want ${want}`,
        );
      }
    }
  }
});

Deno.test({
  name: "decodeImage() reads a palette PNG",
  ignore: !haveSkimage,
  async fn() {
    const img = await decodeImage(await Deno.readFile(`${SKIMAGE}/palette_color.png`));
    assert(img.width > 0 && img.height > 0 && img.data.length === img.width * img.height * 3);
  },
});

Deno.test("decodeImage() applies every EXIF orientation as the pixels of the stored photo moved", async () => {
  const bytes = await Deno.readFile(BASALT);
  const stored = await decodeImage(bytes, { fits: (w, h) => Math.min(w, h) >= 200 });
  for (let o = 1; o <= 8; o++) {
    const rotated = withExifOrientation(bytes, o);
    assertEquals(readHeader(rotated).orientation, o);
    const img = await decodeImage(rotated, { fits: (w, h) => Math.min(w, h) >= 200 });
    const expected = orient(stored, o);
    assertEquals([img.width, img.height], [expected.width, expected.height], `orientation ${o}`);
    assert(img.data.every((v, i) => v === expected.data[i]), `orientation ${o} pixels`);
  }
  // Orientation 6 (rotate 90° clockwise): the stored top-left pixel ends at the top-right.
  const six = orient({ width: 2, height: 1, data: new Uint8Array([1, 1, 1, 2, 2, 2]) }, 6);
  assertEquals([six.width, six.height, Array.from(six.data)], [1, 2, [1, 1, 1, 2, 2, 2]]);
  const eight = orient({ width: 2, height: 1, data: new Uint8Array([1, 1, 1, 2, 2, 2]) }, 8);
  assertEquals(Array.from(eight.data), [2, 2, 2, 1, 1, 1]);
});

Deno.test("decodeImage() names the file when it is not an image, truncated or too large", async () => {
  await assertRejects(
    () => decodeImage(new TextEncoder().encode("hello, not a photo"), { name: "notes.jpg" }),
    RocksError,
    "notes.jpg is not a JPEG or PNG image",
  );
  const bytes = await Deno.readFile(BASALT);
  await assertRejects(() => decodeImage(bytes.subarray(0, 300), { name: "cut.jpg" }), RocksError, "cut.jpg");
  await assertRejects(
    () => decodeImage(bytes, { name: "big.jpg", maxPixels: 1_000_000 }),
    RocksError,
    "big.jpg is 3000×1985 pixels, over the limit of 1000000",
  );
  assertThrows(() => readHeader(new Uint8Array([0xff, 0xd8, 0x00]), "x.jpg"), RocksError, "x.jpg");
});

Deno.test("decodeImage() reads grayscale, progressive and CMYK (YCCK) JPEGs as ImageMagick does", async () => {
  // JPEGs ImageMagick made from testPicture(96, 64), and what ImageMagick decodes each to
  // (tests/images/, made by scripts/make_test_images.ts).
  for (const kind of ["baseline", "gray", "progressive", "cmyk"] as const) {
    const jpeg = await testImage(`picture-${kind}.jpg`);
    const ours = await decodeImage(jpeg, { name: `${kind}.jpg` });
    const ref = await decodeImage(await testImage(`picture-${kind}.magick.png`));
    assertEquals([ours.width, ours.height], [ref.width, ref.height], kind);
    // Different IDCTs and chroma upsampling: close on average, not bit-exact.
    let sum = 0;
    for (let i = 0; i < ref.data.length; i++) sum += Math.abs(ours.data[i]! - ref.data[i]!);
    const mean = sum / ref.data.length;
    assert(mean < 2.5, `${kind}: mean difference ${mean.toFixed(2)} from ImageMagick's decode`);
    if (kind === "gray") assert(ours.data[300] === ours.data[301] && ours.data[301] === ours.data[302]);
  }
});

Deno.test("decodeImage() names an arithmetic-coded JPEG and a PNG with a damaged header", async () => {
  const bytes = await Deno.readFile(BASALT);
  const arith = bytes.slice();
  // Turn the baseline frame marker (SOF0) into SOF9, arithmetic coding.
  arith[frameHeaderAt(arith) + 1] = 0xc9;
  await assertRejects(
    () => decodeImage(arith, { name: "a.jpg" }),
    RocksError,
    "a.jpg is an arithmetic-coded JPEG, which rocks cannot decode",
  );
  const png = encodePng(new Uint8Array(12), 2, 2);
  await assertRejects(
    () => decodeImage(png.subarray(0, 20), { name: "p.png" }),
    RocksError,
    "ends after 20 bytes",
  );
  const noIhdr = png.slice();
  noIhdr.set([0x49, 0x44, 0x41, 0x54], 12); // "IDAT" where IHDR belongs
  await assertRejects(
    () => decodeImage(noIhdr, { name: "p.png" }),
    RocksError,
    "expected the IHDR chunk first",
  );
  const sig = png.slice();
  sig[6] = 0;
  await assertRejects(() => decodeImage(sig, { name: "p.png" }), RocksError, "signature is altered");
});

Deno.test("decodeImage() decodes a sound photo exactly after the decoder trapped on 100 damaged ones", async () => {
  // Without a fresh instance after each trap, imagescript's decoder fails on
  // sound photos after about 95 traps ("memory access out of bounds"; measured
  // on this very sequence: it broke after 3,800 inputs).
  const bytes = await testImage("picture-300x200-progressive.jpg");
  const reference = await decodeImage(bytes);
  const renewedBefore = codecRenewals();
  const rng = createRng(5);
  let traps = 0;
  for (let t = 0; t < 4500; t++) {
    const bad = bytes.slice();
    for (let k = 0; k < 6; k++) {
      const p = 600 + rng.int(bad.length - 600);
      bad[p] = bad[p]! ^ (1 << rng.int(8));
    }
    try {
      await decodeImage(bad);
    } catch (e) {
      assert(e instanceof RocksError, String(e));
      if (e.message.includes("the decoder stopped")) traps++;
    }
  }
  assert(traps >= 100, `only ${traps} inputs made the decoder trap`);
  assert(codecRenewals() - renewedBefore >= traps, "each trap replaced the decoder instance");
  const again = await decodeImage(bytes);
  assert(again.data.every((v, i) => v === reference.data[i]), "same pixels as before the traps");
});

Deno.test("decodeImage() refuses a decompression bomb from its header, before allocating", async () => {
  // A 4×4 PNG whose IHDR (CRC fixed) claims 100000×100000 pixels: 40 GB as RGBA.
  const png = encodePng(new Uint8Array(48).fill(9), 4, 4);
  const view = new DataView(png.buffer);
  view.setUint32(16, 100_000);
  view.setUint32(20, 100_000);
  view.setUint32(29, crc32(png.subarray(12, 29)));
  const rss = Deno.memoryUsage().rss;
  const t0 = performance.now();
  await assertRejects(
    () => decodeImage(png, { name: "bomb.png" }),
    RocksError,
    "bomb.png is 100000×100000 pixels, over the limit of 100000000 (raise it with --max-pixels)",
  );
  assert(performance.now() - t0 < 100, "refused from the header, without decoding");
  assert(Deno.memoryUsage().rss - rss < 16e6, "nothing large was allocated");
  // Raising the limit lets the decoder try; it fails on the missing data, cleanly.
  await assertRejects(() => decodeImage(png, { name: "bomb.png", maxPixels: 1e11 }), RocksError, "bomb.png");
  // A JPEG frame header of 65535×65535.
  const jpeg = (await Deno.readFile(BASALT)).slice();
  new DataView(jpeg.buffer).setUint32(frameHeaderAt(jpeg) + 5, 0xffffffff);
  await assertRejects(() => decodeImage(jpeg, { name: "b.jpg" }), RocksError, "b.jpg is 65535×65535 pixels");
  await assertRejects(() => decodeImage(jpeg, { name: "b.jpg", maxPixels: 1e10 }), RocksError, "b.jpg");
});

Deno.test("loadView() cuts every view out of 1×1, 1×5000, 5000×1 and other thin photos", async () => {
  await using dir = await tempDir();
  const shapes: [number, number][] = [[1, 1], [1, 5000], [5000, 1], [2, 1], [3, 300]];
  for (const [w, h] of shapes) {
    const png = `${dir.path}/${w}x${h}.png`;
    await Deno.writeFile(png, encodePng(new Uint8Array(w * h * 3).fill(77), w, h));
    const jpg = `${IMAGES}/grey77-${w}x${h}.jpg`; // solid grey 77, made by ImageMagick
    for (const file of [png, jpg]) {
      for (const view of ["centre", "crop:1", "crop:2", "crop:3"] as const) {
        const v = await loadView(file, view);
        assertEquals(v.length, 224 * 224 * 3, `${file} ${view}`);
        assert(Math.abs(v[0]! - 77) <= 2 && Math.abs(v[v.length - 1]! - 77) <= 2, `${file} ${view}: ${v[0]}`);
      }
      const thumb = await thumbnail(file, 160);
      assertEquals(thumb.size, 160);
    }
  }
});

Deno.test("loadViews() gives each view the pixels loadView() gives it alone, from one read", async () => {
  const views: ViewName[] = [
    "centre",
    ...Array.from({ length: 8 }, (_, i) => `crop:${i + 1}` as const),
    "centre@448",
    "crop:5@448",
  ];
  await using dir = await tempDir();
  const png = `${dir.path}/picture.png`;
  await Deno.writeFile(png, testPicture(451, 300));
  const photos = [
    BASALT, // 3000 px JPEG: crops want different scales
    png,
  ];
  for (const photo of photos) {
    const together = await loadViews(photo, views);
    assertEquals(together.length, views.length);
    for (const [i, view] of views.entries()) {
      const alone = await loadView(photo, view);
      assert(together[i]!.every((v, k) => v === alone[k]), `${photo} ${view}: differs from loadView()`);
    }
  }
  await assertRejects(
    () => loadViews(`${SKIMAGE}/missing.jpg`, ["centre", "crop:1"]),
    RocksError,
    "missing.jpg",
  );
});

Deno.test("cutJobs() keeps a photo's consecutive views in one run, up to twice the run size", () => {
  const jobs = ["a", "a", "a", "a", "a", "b", "c", "c", "d", "d", "d", "d", "d", "d", "d", "d", "d"].map((
    path,
  ) => ({
    path,
    view: "centre" as const,
  }));
  const runs = cutJobs(jobs, 4).map((r) => r.map((j) => j.path).join(""));
  assertEquals(runs, ["aaaaa", "bccddddd", "dddd"]);
  assertEquals(cutJobs(jobs, 4).flat(), jobs);
  assertEquals(cutJobs([], 4), []);
});

/**
 * Every fifth Learn photo (3000 px, 4:4:4, Adobe-marked YCbCr, a restart interval of about a block row;
 * most have a side that is not a multiple of 8) and every test JPEG.
 */
function scaledJpegCases(): { learn: string[]; tests: string[] } {
  const listed = (dir: string) => [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort();
  const learn = [...listed(`${SPACE_ROCKS}/Basalt`), ...listed(`${SPACE_ROCKS}/Highland`)].filter((_, i) =>
    i % 5 === 0
  );
  return { learn, tests: listed(IMAGES).filter((f) => f.endsWith(".jpg")) };
}

/** A JPEG's copy whose frame header says `width × height`: the same blocks when ⌈width/8⌉ and ⌈height/8⌉ agree. */
function withFrameSize(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpeg.slice(), at = frameHeaderAt(out);
  out.set([height >> 8, height & 255, width >> 8, width & 255], at + 5);
  return out;
}

Deno.test("decodeJpegScaled(…, 8) gives imagescript's 1/8-scale pixels byte for byte, and declines what it does not read", async () => {
  const { learn, tests } = scaledJpegCases();
  const read: string[] = [], declined: string[] = [];
  for (const path of [...learn, ...tests]) {
    const bytes = await Deno.readFile(path);
    const ours = decodeJpegScaled(bytes, 8);
    if (!ours) {
      declined.push(path.split("/").pop()!);
      continue;
    }
    read.push(path);
    const theirs = await decodeImage(bytes, { fits: () => true, imagescriptOnly: true });
    assertEquals([ours.width, ours.height], [theirs.width, theirs.height], path);
    assert(ours.data.every((v, i) => v === theirs.data[i]), `${path}: pixels differ from imagescript's`);
    // decodeImage takes this path at 1/8 scale.
    assertEquals(crc32((await decodeImage(bytes, { fits: () => true })).data), crc32(theirs.data), path);
  }
  assert(learn.every((p) => read.includes(p)), `Learn photos declined: ${declined}`);
  assert(read.some((p) => p.includes("gray")), "a grey JPEG read");
  // Progressive and CMYK are imagescript's.
  for (const name of ["picture-progressive.jpg", "picture-cmyk.jpg", "speckle-progressive.jpg"]) {
    assert(declined.includes(name), `${name} should be declined`);
  }
  // A cut file: its data runs out, and it says so instead of filling with zeros.
  const whole = await Deno.readFile(BASALT);
  assertEquals(decodeJpegScaled(whole.subarray(0, whole.length >> 1), 8), undefined);
  assertEquals(decodeJpegScaled(whole.subarray(0, 1000), 8), undefined);
});

Deno.test("decodeJpegScaled(…, 4) gives imagescript's 1/4-scale pixels byte for byte, edge blocks cut, and declines what it does not read", async () => {
  const { learn, tests } = scaledJpegCases();
  // Test pictures whose sides are not multiples of 8: their last block column and row overhang the picture,
  // by one of the block's two pixels at 1/4 (90, 59, 58, 57) or by none (94, 62).
  const picture = await Deno.readFile(`${IMAGES}/picture-baseline.jpg`); // 96×64
  const speckle = await Deno.readFile(`${IMAGES}/speckle-gray.jpg`); // 64×64
  const cases: [string, Uint8Array][] = [
    ["picture 90×59", withFrameSize(picture, 90, 59)],
    ["picture 94×62", withFrameSize(picture, 94, 62)],
    ["speckle-gray 57×58", withFrameSize(speckle, 57, 58)],
  ];
  for (const path of [...learn, ...tests]) cases.push([path, await Deno.readFile(path)]);
  const read: string[] = [], declined: string[] = [];
  for (const [path, bytes] of cases) {
    const ours = decodeJpegScaled(bytes, 4);
    if (!ours) {
      declined.push(path.split("/").pop()!);
      continue;
    }
    read.push(path);
    // Sizes whose product reaches the 1/4-scale size's: 1/4 for all but 1×1 and 2×1 (then 1/8, as here too).
    const { width, height } = readHeader(bytes);
    const area = Math.ceil(width / 4) * Math.ceil(height / 4);
    const fits = (w: number, h: number) => w * h >= area;
    const theirs = await decodeImage(bytes, { fits, imagescriptOnly: true });
    assertEquals([ours.width, ours.height], [theirs.width, theirs.height], path);
    assert(ours.data.every((v, i) => v === theirs.data[i]), `${path}: pixels differ from imagescript's`);
    // decodeImage takes this path at 1/4 scale.
    assertEquals(crc32((await decodeImage(bytes, { fits })).data), crc32(theirs.data), path);
  }
  assert(learn.every((p) => read.includes(p)), `Learn photos declined: ${declined}`);
  assert(read.includes("picture 90×59") && read.includes("speckle-gray 57×58"), "the cut pictures read");
  const sizes = read.map((p) => readHeader(cases.find(([q]) => q === p)![1]));
  assert(
    sizes.some((h) => h.width % 8 > 0 && h.width % 8 <= 4 && h.width > 4),
    "a width whose last pixel column is cut",
  );
  assert(
    sizes.some((h) => h.height % 8 > 0 && h.height % 8 <= 4 && h.height > 4),
    "a height whose last pixel row is cut",
  );
  // jpeg-decoder gives 1/8 for a JPEG 4 pixels or less across or high (one side is then already full size).
  assertEquals(decodeJpegScaled(await Deno.readFile(`${IMAGES}/grey77-1x5000.jpg`), 4)?.height, 625);
  for (const name of ["picture-progressive.jpg", "picture-cmyk.jpg", "speckle-progressive.jpg"]) {
    assert(declined.includes(name), `${name} should be declined`);
  }
  const whole = await Deno.readFile(BASALT);
  assertEquals(decodeJpegScaled(whole.subarray(0, whole.length >> 1), 4), undefined);
  assertEquals(decodeJpegScaled(whole.subarray(0, 1000), 4), undefined);
});

/**
 * A baseline JPEG for the scan readers, written from random data: a random size, 1 or 3 components (the
 * chroma ones sharing a second pair of tables), random quantisation, canonical Huffman tables with the
 * symbols shuffled over code lengths 2–16 (so any symbol, the end of block too, may have a code longer
 * than the 9-bit lookahead), random DC differences (sometimes large ones in a row, past the 16-bit
 * predictor's range) and AC runs, and a restart interval half the time.
 */
function syntheticJpeg(seed: number): Uint8Array {
  const rng = createRng(seed);
  const width = 1 + rng.int(rng.next() < 0.2 ? 8 : 90), height = 1 + rng.int(rng.next() < 0.2 ? 8 : 70);
  const nc = rng.next() < 0.3 ? 1 : 3, restart = rng.next() < 0.5 ? 1 + rng.int(5) : 0;
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  /** Codes (value, length) by symbol, with the DHT body's counts and symbols. */
  const table = (symbols: number[], counts: number[]) => {
    rng.shuffle(symbols);
    const code = new Map<number, [number, number]>();
    for (let length = 1, c = 0, k = 0; length <= 16; length++, c <<= 1) {
      for (let i = 0; i < counts[length - 1]!; i++) code.set(symbols[k++]!, [c++, length]);
    }
    return { code, body: [...counts, ...symbols] };
  };
  const dcCounts = [0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]; // 12 symbols
  const acCounts = [0, 1, 0, 2, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0, 39]; // 162: EOB, ZRL, 16 runs × sizes 1–10
  const acSymbols =
    () => [0, 0xf0, ...Array.from({ length: 160 }, (_, i) => ((i / 10) << 4) | (1 + (i % 10)))];
  const tables = [0, 1].map(() => ({
    dc: table(Array.from({ length: 12 }, (_, i) => i), dcCounts),
    ac: table(acSymbols(), acCounts),
  }));
  const out = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) =>
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  for (let t = 0; t < Math.min(nc, 2); t++) {
    segment(0xdb, [
      t,
      ...Array.from({ length: 64 }, () => 1 + rng.int(255)),
    ]);
  }
  const ids = [...Array(nc).keys()];
  segment(0xc0, [
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    nc,
    ...ids.flatMap((c) => [c + 1, 0x11, c && 1]),
  ]);
  tables.forEach((t, id) => segment(0xc4, [id, ...t.dc.body, 0x10 | id, ...t.ac.body]));
  if (restart) segment(0xdd, [0, restart]);
  segment(0xda, [nc, ...ids.flatMap((c) => [c + 1, c ? 0x11 : 0]), 0, 63, 0]);
  let acc = 0, bits = 0;
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++bits === 8) {
        out.push(acc, ...(acc === 0xff ? [0] : []));
        acc = bits = 0;
      }
    }
  };
  const putCode = (t: Map<number, [number, number]>, symbol: number) => put(...t.get(symbol)!);
  /** A random nonzero value of `size` bits' category, coded as JPEG does. */
  const putValue = (size: number, negative: boolean) => {
    const magnitude = (1 << (size - 1)) + rng.int(1 << (size - 1));
    put(negative ? (1 << size) - 1 - magnitude : magnitude, size);
  };
  const climb = rng.next() < 0.2; // DC differences of +1024…2047 block after block
  for (let i = 0, rst = 0; i < blocks; i++) {
    if (restart && i && i % restart === 0) {
      while (bits) put(1, 1);
      out.push(0xff, 0xd0 + (rst++ & 7));
    }
    for (let c = 0; c < nc; c++) {
      const { dc, ac } = tables[c && 1]!;
      const size = climb ? 11 : rng.int(rng.next() < 0.8 ? 6 : 12);
      putCode(dc.code, size);
      if (size) putValue(size, !climb && rng.next() < 0.5);
      const density = rng.next() * 0.5;
      for (let k = 1, run = 0; k < 64; k++) {
        if (rng.next() >= density) {
          if (k < 63) {
            run++;
            continue;
          }
          putCode(ac.code, 0); // end of block (a zero at 63 included)
          break;
        }
        for (; run >= 16; run -= 16) putCode(ac.code, 0xf0);
        const s = 1 + rng.int(rng.next() < 0.8 ? 4 : 10);
        putCode(ac.code, (run << 4) | s);
        putValue(s, rng.next() < 0.5);
        run = 0;
      }
    }
  }
  while (bits) put(1, 1);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** Whether two results of `decodeJpegScaled` are the same pixels, or both `undefined`. */
function sameScaled(a: ReturnType<typeof decodeJpegScaled>, b: ReturnType<typeof decodeJpegScaled>): boolean {
  if (!a || !b) return !a && !b;
  return a.width === b.width && a.height === b.height && a.data.length === b.data.length &&
    a.data.every((v, i) => v === b.data[i]);
}

/** The offsets of the markers (0xFF then neither 0x00 nor 0xFF) after a JPEG's first scan header. */
function scanMarkers(jpeg: Uint8Array): { start: number; markers: number[] } {
  let i = 2;
  while (jpeg[i + 1] !== 0xda) i += 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!);
  const start = i + 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!), markers: number[] = [];
  for (let j = start; j + 1 < jpeg.length; j++) {
    if (jpeg[j] === 0xff && jpeg[j + 1] && jpeg[j + 1] !== 0xff) markers.push(j);
  }
  return { start, markers };
}

Deno.test("decodeJpegScaled()'s WebAssembly loop gives its JavaScript loop's result on photos, generated, cut and damaged JPEGs", async () => {
  const check = (bytes: Uint8Array, what: string, inWasm = false) => {
    for (const s of [8, 4] as const) {
      const before = scanCounts.wasm;
      const wasm = decodeJpegScaled(bytes, s, "wasm");
      if (inWasm) assertEquals(scanCounts.wasm, before + 1, `${what} at 1/${s}: read in WebAssembly`);
      assert(sameScaled(wasm, decodeJpegScaled(bytes, s, "js")), `${what} at 1/${s}: the two loops differ`);
    }
  };
  const { learn, tests } = scaledJpegCases();
  for (const path of learn) check(await Deno.readFile(path), path, true);
  for (const path of tests) check(await Deno.readFile(path), path);
  // Generated JPEGs, and each one cut, with a bit flipped, a byte 0xFF put in, or 1–3 bytes put in before a
  // marker (the JavaScript loop takes some of these at a restart marker, depending on how far it had read).
  const rng = createRng(11);
  const damaged = (jpeg: Uint8Array): Uint8Array[] => {
    const { start, markers } = scanMarkers(jpeg), at = () => start + rng.int(jpeg.length - start);
    const flipped = jpeg.slice(), ff = jpeg.slice();
    const flip = at();
    flipped[flip] = flipped[flip]! ^ (1 << rng.int(8));
    ff[at()] = 0xff;
    const before = markers[rng.int(markers.length)]!,
      extra = Array.from({ length: 1 + rng.int(3) }, () => rng.int(255));
    return [
      jpeg.subarray(0, at()),
      flipped,
      ff,
      Uint8Array.from([...jpeg.subarray(0, before), ...extra, ...jpeg.subarray(before)]),
    ];
  };
  let decoded = 0;
  for (let seed = 0; seed < 400; seed++) {
    const jpeg = syntheticJpeg(seed);
    check(jpeg, `synthetic ${seed}`, true);
    decoded += decodeJpegScaled(jpeg, 8) ? 1 : 0;
    for (const [k, bad] of damaged(jpeg).entries()) check(bad, `synthetic ${seed}, damage ${k}`);
  }
  assertEquals(decoded, 400, "every generated JPEG read");
  // Learn photos (restart interval: a block row or so) cut and damaged the same ways.
  for (const path of learn.slice(0, 4)) {
    for (const [k, bad] of damaged(await Deno.readFile(path)).entries()) check(bad, `${path}, damage ${k}`);
  }
  // A Huffman table that is no prefix code (over-full): the JavaScript loop reads it.
  const picture = await Deno.readFile(`${IMAGES}/picture-baseline.jpg`), odd = picture.slice();
  let dht = 2;
  while (odd[dht + 1] !== 0xc4) dht += 2 + ((odd[dht + 2]! << 8) | odd[dht + 3]!);
  // One more code of length 1, one fewer of the longest: after two 1-bit codes, no room for the rest.
  const counts = dht + 5, lengths = [...odd.subarray(counts, counts + 16)];
  const longest = counts + 15 - lengths.reverse().findIndex((n) => n > 0);
  odd[longest] = odd[longest]! - 1, odd[counts] = odd[counts]! + 1;
  const before = { ...scanCounts };
  check(odd, "an over-full table");
  assertEquals(scanCounts.wasm, before.wasm, "the over-full table not read in WebAssembly");
  assertEquals(scanCounts.js, before.js + 4);
});
