/**
 * JPEGs the tests cannot draw themselves — grayscale, progressive, CMYK
 * (written by ImageMagick as YCCK), tiny and thin — made at test time by
 * ImageMagick's `convert` (Debian package `imagemagick`, installed by
 * `.ci/run`). A missing `convert` fails the test that needs it, with the
 * package to install: these inputs must not go untested quietly.
 * @module
 */
import { encodePng } from "../lib/image/png_encode.ts";

/** Runs `convert` with `args`, feeding `input` on stdin; returns stdout. */
export async function convert(args: string[], input?: Uint8Array): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("convert", {
      args,
      stdin: input ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("ImageMagick's convert is missing: apt-get install imagemagick (see .ci/run)");
    }
    throw e;
  }
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`convert ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** A smooth RGB test picture (gradients and a few edges), `width × height`. */
export function testPicture(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / Math.max(1, width - 1));
      data[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      data[i + 2] = (x >> 4) % 2 === (y >> 4) % 2 ? 200 : 60;
    }
  }
  return encodePng(data, width, height);
}

/** The picture as a JPEG of a kind: `convert png:- <flags> jpg:-`. */
export function magickJpeg(
  png: Uint8Array,
  kind: "baseline" | "gray" | "progressive" | "cmyk",
): Promise<Uint8Array> {
  const flags = {
    baseline: [],
    gray: ["-colorspace", "Gray"],
    progressive: ["-interlace", "JPEG"],
    cmyk: ["-colorspace", "CMYK"],
  }[kind];
  return convert(["png:-", ...flags, "-quality", "92", "jpg:-"], png);
}

/** ImageMagick's own decode of a JPEG, as RGB bytes (libjpeg's colour conversion). */
export async function magickRgb(
  jpeg: Uint8Array,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  const ppm = await convert(["jpg:-", "-colorspace", "sRGB", "-depth", "8", "ppm:-"], jpeg);
  // P6\n<w> <h>\n255\n<bytes>
  const head = new TextDecoder().decode(ppm.subarray(0, 40)).split(/\s+/);
  const [width, height] = [Number(head[1]), Number(head[2])];
  return { width, height, data: ppm.subarray(ppm.length - width * height * 3) };
}
