/**
 * Views: which part of a photo the network sees, resampled to a square.
 *
 * A view is a rectangle in fractions of the upright photo, so the same view
 * applies to a full-size decode and to a JPEG decoded at 1/8 scale.
 * - eval view: the centred square of side = shorter side, i.e. torchvision's
 *   `Resize(224)` then `CenterCrop(224)`;
 * - train view: torchvision's `RandomResizedCrop(224)` (area 8–100 %, aspect
 *   3/4–4/3), drawn from a seeded generator.
 * Resampling is anti-aliased: area averaging when shrinking, bilinear when
 * enlarging, separately along each axis.
 *
 * A view is named by a string, so it can key a cache or cross to a worker:
 * `"centre"` (the eval view) or `"crop:<seed>"` (the RandomResizedCrop drawn
 * from that seed), optionally with `@<size>` for a side other than 224
 * (`"centre@448"`: the same centre square at twice the resolution; ResNet50
 * is fully convolutional and its global pool averages over the larger map).
 * @module
 */
import type { RgbImage } from "./decode.ts";
import { createRng, type Rng } from "../util/rng.ts";

/** A rectangle in fractions of the photo's width and height (0–1). */
export interface Region {
  /** Left edge / width. */
  x: number;
  /** Top edge / height. */
  y: number;
  /** Region width / photo width. */
  w: number;
  /** Region height / photo height. */
  h: number;
}

/** The course's input size. */
export const VIEW_SIZE = 224;

/** A view name: `"centre"` or `"crop:<seed>"`, optionally followed by `@<size>`. */
export type ViewName = "centre" | `centre@${number}` | `crop:${number}` | `crop:${number}@${number}`;

/** The side, in pixels, of the square a view is resampled to (default 224). */
export function viewSize(view: ViewName): number {
  const at = view.indexOf("@");
  return at < 0 ? VIEW_SIZE : Number(view.slice(at + 1));
}

/** `view` resampled to `size` instead (224 gives the plain name). */
export function sizedView(view: ViewName, size: number): ViewName {
  const base = view.split("@")[0] as "centre" | `crop:${number}`;
  return size === VIEW_SIZE ? base : `${base}@${size}` as ViewName;
}

/** The region a view covers on a `width × height` upright photo. */
export function viewRegion(view: ViewName, width: number, height: number): Region {
  const base = view.split("@")[0]!;
  if (base === "centre") return centreRegion(width, height);
  const seed = Number(base.slice(5));
  return randomResizedCrop(createRng(seed), width, height);
}

/** The centred square whose side is the photo's shorter side. */
export function centreRegion(width: number, height: number): Region {
  const side = Math.min(width, height);
  const w = side / width;
  const h = side / height;
  return { x: (1 - w) / 2, y: (1 - h) / 2, w, h };
}

/**
 * Draws a crop as torchvision's `RandomResizedCrop.get_params` does: up to
 * ten tries at a random area fraction in `scale` and a log-uniform aspect
 * ratio in `ratio`, then a centre crop with the ratio clamped.
 * @param rng The seeded generator.
 * @param width Photo width in pixels.
 * @param height Photo height in pixels.
 * @returns The crop as a {@linkcode Region}.
 */
export function randomResizedCrop(
  rng: Rng,
  width: number,
  height: number,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): Region {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { x: left / width, y: top / height, w: w / width, h: h / height };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return {
    x: (width - w) / 2 / width,
    y: (height - h) / 2 / height,
    w: w / width,
    h: h / height,
  };
}

/**
 * For one axis: which source pixels feed each output pixel, and how much.
 * Shrinking integrates the source over each output pixel's footprint (area
 * averaging); enlarging interpolates between the two nearest source centres.
 * Output pixel `o` reads `taps` consecutive entries from `first[o]` of
 * `index` and `weight` (padded with weight 0 where it needs fewer).
 */
function axisWeights(
  start: number,
  length: number,
  srcSize: number,
  outSize: number,
): { taps: number; index: Int32Array; weight: Float64Array } {
  const lists: { idx: number[]; wt: number[] }[] = [];
  const step = length / outSize;
  for (let o = 0; o < outSize; o++) {
    const idx: number[] = [];
    const wt: number[] = [];
    if (step >= 1) {
      const a = start + o * step;
      const b = a + step;
      for (let s = Math.floor(a); s < Math.ceil(b); s++) {
        const cover = Math.min(b, s + 1) - Math.max(a, s);
        if (cover > 1e-9) {
          idx.push(Math.min(srcSize - 1, Math.max(0, s)));
          wt.push(cover / step);
        }
      }
    } else {
      const c = start + (o + 0.5) * step - 0.5;
      const s0 = Math.floor(c);
      const f = c - s0;
      idx.push(
        Math.min(srcSize - 1, Math.max(0, s0)),
        Math.min(srcSize - 1, Math.max(0, s0 + 1)),
      );
      wt.push(1 - f, f);
    }
    lists.push({ idx, wt });
  }
  // Flat and padded, so the loops below index typed arrays only. A padded tap reads the output pixel's
  // first source pixel with weight 0: the sums are the same numbers, added in the same order.
  const taps = Math.max(...lists.map((l) => l.idx.length));
  const index = new Int32Array(outSize * taps);
  const weight = new Float64Array(outSize * taps);
  lists.forEach(({ idx, wt }, o) => {
    for (let k = 0; k < taps; k++) {
      index[o * taps + k] = idx[Math.min(k, idx.length - 1)]!;
      weight[o * taps + k] = k < wt.length ? wt[k]! : 0;
    }
  });
  return { taps, index, weight };
}

/**
 * Resamples `region` of `img` to `outW × outH` RGB pixels (anti-aliased).
 * @param img The decoded photo.
 * @param region The part to keep, in fractions.
 * @param outW Output width.
 * @param outH Output height.
 * @returns `outW × outH × 3` bytes.
 */
export function resample(
  img: RgbImage,
  region: Region,
  outW: number,
  outH: number,
): Uint8Array {
  const { width, height, data } = img;
  const cols = axisWeights(region.x * width, region.w * width, width, outW);
  const rows = axisWeights(region.y * height, region.h * height, height, outH);
  // Pass 1: rows of the source touched by the region, resampled horizontally.
  let rowLo = height, rowHi = 0;
  for (const r of rows.index) {
    if (r < rowLo) rowLo = r;
    if (r > rowHi) rowHi = r;
  }
  const stride = outW * 3;
  const tmp = new Float32Array((rowHi - rowLo + 1) * stride);
  const { taps: ct, index: ci, weight: cw } = cols;
  for (let y = rowLo; y <= rowHi; y++) {
    const srcRow = y * width * 3;
    let d = (y - rowLo) * stride;
    for (let o = 0, t = 0; o < outW; o++, t += ct) {
      let r = 0, g = 0, b = 0;
      for (let k = t; k < t + ct; k++) {
        const p = srcRow + ci[k]! * 3;
        const w = cw[k]!;
        r += data[p]! * w;
        g += data[p + 1]! * w;
        b += data[p + 2]! * w;
      }
      tmp[d++] = r;
      tmp[d++] = g;
      tmp[d++] = b;
    }
  }
  // Pass 2: vertically, a whole output row at a time (each value's terms in the same order).
  const out = new Uint8Array(outW * outH * 3);
  const sum = new Float64Array(stride);
  const { taps: rt, index: ri, weight: rw } = rows;
  for (let o = 0; o < outH; o++) {
    sum.fill(0);
    for (let k = o * rt; k < (o + 1) * rt; k++) {
      const src = (ri[k]! - rowLo) * stride;
      const w = rw[k]!;
      for (let x = 0; x < stride; x++) sum[x] = sum[x]! + tmp[src + x]! * w;
    }
    const d = o * stride;
    for (let x = 0; x < stride; x++) {
      const v = Math.round(sum[x]!);
      out[d + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
