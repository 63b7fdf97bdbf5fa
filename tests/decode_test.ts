import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { decodeImage, orient, readHeader } from "../lib/decode.ts";
import { RocksError } from "../lib/errors.ts";
import { drawRgb, encodePng, SKIMAGE, SPACE_ROCKS, withExifOrientation } from "./_helpers.ts";

const BASALT = `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`;

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

Deno.test("decodeImage() reads a palette PNG", async () => {
  const img = await decodeImage(await Deno.readFile(`${SKIMAGE}/palette_color.png`));
  assert(img.width > 0 && img.height > 0 && img.data.length === img.width * img.height * 3);
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
