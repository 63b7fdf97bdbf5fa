import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";
import { createRng } from "../lib/util/rng.ts";
import { centreRegion, randomResizedCrop, resample } from "../lib/image/view.ts";
import type { RgbImage } from "../lib/image/decode.ts";

/** Reference area average: integrates the piecewise-constant source over each output pixel, in 2-D. */
function referenceArea(img: RgbImage, outW: number, outH: number): number[] {
  const out: number[] = [];
  const sx = img.width / outW, sy = img.height / outH;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let y = 0; y < img.height; y++) {
          const cy = Math.max(0, Math.min(y + 1, (oy + 1) * sy) - Math.max(y, oy * sy));
          if (cy <= 0) continue;
          for (let x = 0; x < img.width; x++) {
            const cx = Math.max(0, Math.min(x + 1, (ox + 1) * sx) - Math.max(x, ox * sx));
            if (cx > 0) acc += img.data[(y * img.width + x) * 3 + c]! * cx * cy;
          }
        }
        out.push(acc / (sx * sy));
      }
    }
  }
  return out;
}

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = createRng(seed);
  return { width, height, data: new Uint8Array(width * height * 3).map(() => rng.int(256)) };
}

Deno.test("resample() shrinks by area averaging, matching a 2-D reference", () => {
  for (const [w, h, ow, oh] of [[8, 6, 4, 3], [37, 23, 10, 7], [100, 64, 17, 29]] as const) {
    const img = randomImage(w, h, w * h);
    const got = resample(img, { x: 0, y: 0, w: 1, h: 1 }, ow, oh);
    const want = referenceArea(img, ow, oh);
    want.forEach((v, i) => assertAlmostEquals(got[i]!, v, 0.51, `${w}×${h}→${ow}×${oh} at ${i}`));
  }
});

Deno.test("resample() anti-aliases: a 1-pixel checkerboard shrinks to even grey, not black or white", () => {
  const n = 448;
  const img: RgbImage = { width: n, height: n, data: new Uint8Array(n * n * 3) };
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) img.data.fill((x + y) % 2 ? 255 : 0, (y * n + x) * 3, (y * n + x) * 3 + 3);
  }
  const out = resample(img, { x: 0, y: 0, w: 1, h: 1 }, 224, 224);
  assert(out.every((v) => v === 127 || v === 128), "every pixel is mid-grey");
  const odd = resample(img, { x: 0, y: 0, w: 1, h: 1 }, 100, 100);
  assert(odd.every((v) => Math.abs(v - 127.5) < 40), "non-integer shrink stays near grey");
});

Deno.test("resample() enlarges bilinearly between pixel centres", () => {
  const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 200, 200, 200]) };
  const out = resample(img, { x: 0, y: 0, w: 1, h: 1 }, 4, 1);
  assertEquals(Array.from(out.filter((_, i) => i % 3 === 0)), [0, 50, 150, 200]);
});

Deno.test("resample() of a region equals resampling the cropped pixels", () => {
  const img = randomImage(40, 30, 5);
  const crop: RgbImage = { width: 20, height: 10, data: new Uint8Array(20 * 10 * 3) };
  for (let y = 0; y < 10; y++) {
    crop.data.set(img.data.subarray(((y + 5) * 40 + 10) * 3, ((y + 5) * 40 + 30) * 3), y * 60);
  }
  const a = resample(img, { x: 10 / 40, y: 5 / 30, w: 20 / 40, h: 10 / 30 }, 8, 4);
  const b = resample(crop, { x: 0, y: 0, w: 1, h: 1 }, 8, 4);
  a.forEach((v, i) => assert(Math.abs(v - b[i]!) <= 1, `pixel ${i}: ${v} vs ${b[i]}`));
});

Deno.test("centreRegion() is the centred square of the shorter side", () => {
  assertEquals(centreRegion(300, 200), { x: (1 - 2 / 3) / 2, y: 0, w: 2 / 3, h: 1 });
  assertEquals(centreRegion(100, 100), { x: 0, y: 0, w: 1, h: 1 });
});

Deno.test("randomResizedCrop() draws crops of 8–100 % area and 3/4–4/3 aspect inside the photo, by seed", () => {
  const rng = createRng(3);
  for (let i = 0; i < 500; i++) {
    const [w, h] = [3000, 1985];
    const r = randomResizedCrop(rng, w, h);
    assert(r.x >= 0 && r.y >= 0 && r.x + r.w <= 1 + 1e-9 && r.y + r.h <= 1 + 1e-9, "inside");
    const area = r.w * r.h;
    const aspect = (r.w * w) / (r.h * h);
    assert(area >= 0.08 - 0.002 && area <= 1, `area ${area}`);
    assert(aspect >= 0.75 - 0.01 && aspect <= 4 / 3 + 0.01, `aspect ${aspect}`);
  }
  assertEquals(randomResizedCrop(createRng(9), 640, 480), randomResizedCrop(createRng(9), 640, 480));
  // A photo too thin for any crop falls back to a centred crop with the ratio clamped.
  const thin = randomResizedCrop(createRng(1), 1000, 10);
  assertAlmostEquals((thin.w * 1000) / (thin.h * 10), 4 / 3, 0.2);
});
