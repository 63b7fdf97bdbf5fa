/**
 * Makes the JPEGs the tests cannot draw themselves — grayscale, progressive,
 * CMYK (written by ImageMagick as YCCK), tiny and thin — once, with
 * ImageMagick's `convert`, into `tests/images/` (committed), together with
 * what ImageMagick decodes the ones the tests compare against to (as an RGB
 * PNG written by rocks' own `encodePng`). The tests read these files, so
 * running them needs no ImageMagick; only this script does.
 *
 * The pictures come from the tests' own drawings (`testPicture`,
 * `texturePng` in tests/_helpers.ts), so the JPEGs are those pictures
 * encoded by libjpeg at quality 92. The same ImageMagick gives the same bytes.
 *
 * Usage: deno run --allow-read --allow-write --allow-run --allow-env scripts/make_test_images.ts
 * (`CONVERT=/path/to/convert` picks another `convert`; the files were made with ImageMagick 6.9.11.)
 * @module
 */
import { encodePng } from "../lib/image/png_encode.ts";
import { testPicture, texturePng } from "../tests/_helpers.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const OUT = `${ROOT}/tests/images`;
const CONVERT = Deno.env.get("CONVERT") ?? "convert";

/** Runs `convert` with `args`, feeding `input` on stdin; returns stdout. */
async function convert(args: string[], input?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(CONVERT, {
    args,
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${CONVERT} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** The kinds of JPEG made from one picture, and their `convert` flags. */
const KINDS = {
  baseline: [],
  gray: ["-colorspace", "Gray"],
  progressive: ["-interlace", "JPEG"],
  cmyk: ["-colorspace", "CMYK"],
} as const;

/** A PNG as a JPEG of a kind: `convert png:- <flags> -quality 92 jpg:-`. */
function jpegOf(png: Uint8Array, kind: keyof typeof KINDS): Promise<Uint8Array> {
  return convert(["png:-", ...KINDS[kind], "-quality", "92", "jpg:-"], png);
}

/** A solid-colour JPEG of `w × h` pixels. */
function solidJpeg(w: number, h: number, rgb: string): Promise<Uint8Array> {
  return convert(["-size", `${w}x${h}`, `xc:rgb(${rgb})`, "jpg:-"]);
}

/** ImageMagick's own decode of a JPEG (libjpeg's colour conversion), as an RGB PNG. */
async function magickDecode(jpeg: Uint8Array): Promise<Uint8Array> {
  const ppm = await convert(["jpg:-", "-colorspace", "sRGB", "-depth", "8", "ppm:-"], jpeg);
  // P6\n<w> <h>\n255\n<bytes>
  const head = new TextDecoder().decode(ppm.subarray(0, 40)).split(/\s+/);
  const [width, height] = [Number(head[1]), Number(head[2])];
  return encodePng(ppm.subarray(ppm.length - width * height * 3), width, height);
}

if (import.meta.main) {
  const files: Record<string, Uint8Array> = {};
  // decode_test: each kind of a 96×64 picture, with ImageMagick's decode to compare against.
  const picture = testPicture(96, 64);
  for (const kind of Object.keys(KINDS) as (keyof typeof KINDS)[]) {
    const jpeg = await jpegOf(picture, kind);
    files[`picture-${kind}.jpg`] = jpeg;
    files[`picture-${kind}.magick.png`] = await magickDecode(jpeg);
  }
  // decode_test: the sound photo the decoder must still read exactly after trapping on damaged copies.
  files["picture-300x200-progressive.jpg"] = await jpegOf(testPicture(300, 200), "progressive");
  // decode_test: thin and tiny photos, solid grey 77.
  for (const [w, h] of [[1, 1], [1, 5000], [5000, 1], [2, 1], [3, 300]]) {
    files[`grey77-${w}x${h}.jpg`] = await solidJpeg(w!, h!, "77,77,77");
  }
  // inputs_test: a speckle photo of every JPEG kind, one stripes photo, a 1×1 red one.
  const speckle = texturePng("speckle", 99, 64);
  for (const kind of Object.keys(KINDS) as (keyof typeof KINDS)[]) {
    files[`speckle-${kind}.jpg`] = await jpegOf(speckle, kind);
  }
  files["stripes-baseline.jpg"] = await jpegOf(texturePng("stripes", 7, 64), "baseline");
  files["red-1x1.jpg"] = await solidJpeg(1, 1, "200,10,10");

  await Deno.mkdir(OUT, { recursive: true });
  let total = 0;
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.writeFile(`${OUT}/${name}`, bytes);
    total += bytes.length;
  }
  const version = new TextDecoder().decode(await convert(["-version"])).split("\n")[0];
  console.log(`Wrote ${Object.keys(files).length} files (${total} bytes) to ${OUT} with ${version}`);
}
