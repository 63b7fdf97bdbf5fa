/**
 * Helpers the tests share: images the tests draw themselves, temporary
 * folders, the real photos' location, and running the CLI.
 * @module
 */
import { encodePng } from "../lib/image/png_encode.ts";
import { createRng } from "../lib/util/rng.ts";
import { SKIMAGE_DIR } from "./_system.ts";

/** The repository root. */
export const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The course's photos. */
export const SPACE_ROCKS = `${ROOT}/../shared/data/space-rocks`;
/** Images extracted from Debian's python3-skimage by tests/fixtures.ts. */
export const SKIMAGE: string = SKIMAGE_DIR;
/** JPEGs made once by ImageMagick, and its decodes of them (committed; scripts/make_test_images.ts). */
export const IMAGES = `${ROOT}/tests/images`;

/**
 * One file of {@linkcode IMAGES}.
 * @param name Its name, e.g. `picture-cmyk.jpg`.
 */
export async function testImage(name: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(`${IMAGES}/${name}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      `tests/images/${name} is missing: it is committed; scripts/make_test_images.ts remakes it`,
    );
  }
}

/**
 * Encodes raw samples as a PNG (moved to `lib/png_encode.ts`; re-exported for the tests that draw photos).
 */
export { encodePng };

/** Draws an RGB image from a pixel function. */
export function drawRgb(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  }
  return data;
}

/** A smooth RGB test picture (gradients and a few edges), `width × height`, as a PNG. */
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

/**
 * A photo of one of two textures that a frozen ImageNet network separates
 * easily: `stripes` (smooth sinusoidal bands, warm colours) or `speckle`
 * (fine random dots, cool colours). Each call with a new seed varies
 * period, angle, colour and noise.
 */
export function texturePng(kind: "stripes" | "speckle", seed: number, size = 160): Uint8Array {
  const rng = createRng(seed * 7919 + (kind === "stripes" ? 1 : 2));
  const data = kind === "stripes"
    ? (() => {
      const period = rng.uniform(12, 30);
      const angle = rng.uniform(0, Math.PI);
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      const base = [rng.uniform(150, 230), rng.uniform(80, 140), rng.uniform(30, 80)];
      return drawRgb(size, size, (x, y) => {
        const v = 0.5 + 0.5 * Math.sin(((x * c + y * s) / period) * 2 * Math.PI);
        return base.map((b) => Math.max(0, Math.min(255, b * (0.4 + 0.6 * v) + rng.uniform(-8, 8)))) as [
          number,
          number,
          number,
        ];
      });
    })()
    : (() => {
      const base = [rng.uniform(30, 90), rng.uniform(90, 150), rng.uniform(150, 230)];
      const density = rng.uniform(0.2, 0.5);
      return drawRgb(size, size, () => {
        const on = rng.next() < density;
        return base.map((b) => (on ? Math.min(255, b + 90) : b * 0.35)) as [number, number, number];
      });
    })();
  return encodePng(data, size, size);
}

/** Writes a folder of class folders with `perClass` texture photos each. */
export async function writeTextureDataset(dir: string, perClass: number, seed0 = 0): Promise<void> {
  for (const kind of ["speckle", "stripes"] as const) {
    await Deno.mkdir(`${dir}/${kind}`, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      await Deno.writeFile(
        `${dir}/${kind}/${kind}_${String(i).padStart(3, "0")}.png`,
        texturePng(kind, seed0 + i),
      );
    }
  }
}

/**
 * A temporary folder for a whole test file (photos drawn once, a cache the
 * file's tests share), removed when the process ends. Within one test, use
 * {@linkcode tempDir} with `await using`.
 */
export function fileTempDir(prefix = "rocks-test-"): string {
  const path = Deno.makeTempDirSync({ prefix });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // already gone
    }
  });
  return path;
}

/** A temporary folder removed when the returned object is disposed. */
export async function tempDir(prefix = "rocks-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Inserts an EXIF APP1 segment holding `orientation` right after a JPEG's SOI marker. */
export function withExifOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  // TIFF header (big-endian) + one IFD with one entry: 0x0112 SHORT 1 = orientation.
  const tiff = [
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD at 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ];
  const body = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00, ...tiff]; // "Exif\0\0"
  const length = body.length + 2;
  const segment = new Uint8Array([0xff, 0xe1, length >> 8, length & 0xff, ...body]);
  const out = new Uint8Array(jpeg.length + segment.length);
  out.set(jpeg.subarray(0, 2), 0);
  out.set(segment, 2);
  out.set(jpeg.subarray(2), 2 + segment.length);
  return out;
}

/**
 * Command-line words written as one line: `flags("--preset course --epochs 1")`
 * is `["--preset", "course", "--epochs", "1"]`. A word with a space in it goes
 * into the argument list on its own.
 */
export function flags(line: string): string[] {
  return line.trim().split(/\s+/);
}

/**
 * `rocks train` with the course's recipe: `train <data> --preset course --out <out>` and more flags.
 * @param data The data folder.
 * @param out The model folder to write.
 * @param more Further flags, as one line (see {@linkcode flags}).
 */
export function courseTrain(data: string, out: string, more = ""): string[] {
  return ["train", data, "--preset", "course", "--out", out, ...(more ? flags(more) : [])];
}

/** Result of running the CLI as a separate process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode cliCommand} and {@linkcode runCli}. */
export interface CliOptions {
  /** Working folder. @default ROOT */
  cwd?: string;
  /** The whole environment of the process. */
  env?: Record<string, string>;
  /** Flags for deno itself, e.g. `--deny-read=FILE`. */
  denoFlags?: string[];
}

/** `deno run cli.ts <args>` with the CLI task's permissions, stdout and stderr piped: `.spawn()` or `.output()` it. */
export function cliCommand(args: string[], options: CliOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      ...(options.denoFlags ?? []),
      `${ROOT}/cli.ts`,
      ...args,
    ],
    cwd: options.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  });
}

/** Runs `deno run cli.ts <args>` as a separate process to its end. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const out = await cliCommand(args, options).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether the tests run as root (who reads past permission bits and may mount a tmpfs). Needs --allow-run. */
export function isRoot(): boolean {
  const out = new Deno.Command("id", { args: ["-u"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).trim() === "0";
}

/**
 * Runs a page script of tests/ (`_report_page.ts`, `_serve_page.ts`: headless
 * Chromium through playwright-core) as its own process, with --allow-all and
 * the tests' lock file, and returns the JSON object it prints.
 * @param script The script's file name in tests/.
 * @param args Its arguments.
 * @throws AssertionError with its stderr when it fails.
 */
export async function runPageScript<T>(script: string, args: string[]): Promise<T> {
  const page = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `--lock=${ROOT}/tests/deno.lock`, `${ROOT}/tests/${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (page.code !== 0) throw new Error(`${script} exited ${page.code}: ${dec.decode(page.stderr)}`);
  return JSON.parse(dec.decode(page.stdout));
}
