/**
 * What some tests need from the machine beyond Deno and `node_modules`, and
 * whether this machine has it. `tests/fixtures.ts` (run first by
 * `deno task test`) installs what is missing where it can; the tests read
 * the same facts here, and a test whose need is still missing is reported by
 * `deno test` as ignored: never as passed, never as failed.
 *
 * - Chromium at `/usr/bin/chromium` (Debian's `chromium`; `ROCKS_CHROMIUM`
 *   names another browser, `ROCKS_SKIP_BROWSER=1` leaves it out):
 *   tests/report_test.ts opens the HTML report in it, tests/serve_test.ts the
 *   page of `rocks serve`;
 * - a WebGPU adapter (on a machine without a GPU, the llvmpipe software one
 *   of Debian's `mesa-vulkan-drivers`): tests/webgpu_test.ts;
 * - a few photos from Debian's `python3-skimage` in `tests/.fixtures/skimage`
 *   (downloaded and unpacked, never installed): tests/resnet50_test.ts and
 *   tests/decode_test.ts.
 *
 * `deno run -A tests/_system.ts` prints the facts as JSON.
 * @module
 */

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** The browser tests/report_test.ts drives: `ROCKS_CHROMIUM`, or Debian's chromium. */
export const CHROMIUM: string = Deno.env.get("ROCKS_CHROMIUM") || "/usr/bin/chromium";

/** Where tests/fixtures.ts puts the skimage photos. */
export const SKIMAGE_DIR = `${ROOT}/tests/.fixtures/skimage`;

/** The skimage photos the tests read. */
export const SKIMAGE_FILES: readonly string[] = [
  "chelsea.png",
  "coffee.png",
  "astronaut.png",
  "hubble_deep_field.jpg",
  "palette_color.png",
];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Whether the browser test is left out on purpose (`ROCKS_SKIP_BROWSER=1`). */
export const browserSkipped: boolean = Deno.env.get("ROCKS_SKIP_BROWSER") === "1";

/** Whether {@linkcode CHROMIUM} is there (and the browser test is not left out on purpose). */
export function chromiumPresent(): boolean {
  return !browserSkipped && isFile(CHROMIUM);
}

/** Whether every skimage photo is in {@linkcode SKIMAGE_DIR}. */
export function skimagePresent(): boolean {
  return SKIMAGE_FILES.every((f) => isFile(`${SKIMAGE_DIR}/${f}`));
}

/** Whether Chromium was there when this module loaded. */
export const haveChromium: boolean = chromiumPresent();
/** Whether the skimage photos were there when this module loaded. */
export const haveSkimage: boolean = skimagePresent();

/** What `navigator.gpu` offers this process. */
export interface WebGpuFacts {
  /** An adapter was found. */
  available: boolean;
  /** The adapter's description (`llvmpipe (LLVM …)` for the software one), or why there is none. */
  description: string;
}

/**
 * Asks `navigator.gpu` for an adapter, as rocks does (`probeGpu` in
 * lib/trunk/backend.ts). Run it in a fresh process to see a driver
 * installed after this one started.
 */
export async function probeWebGpu(): Promise<WebGpuFacts> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { available: false, description: "this Deno has no navigator.gpu" };
  if (Deno.build.os === "linux" && !Deno.env.get("XDG_RUNTIME_DIR")) {
    // Mesa's loader warns without one (lib/trunk/backend.ts does the same).
    const dir = Deno.makeTempDirSync({ prefix: "rocks-runtime-" });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return { available: false, description: "navigator.gpu offered no adapter (no Vulkan driver)" };
    }
    return { available: true, description: adapter.info.description || adapter.info.vendor || "an adapter" };
  } catch (e) {
    return { available: false, description: `requestAdapter failed: ${e instanceof Error ? e.message : e}` };
  }
}

/** A thing some tests need, what leaves those tests out when it is missing, and how to get it. */
export interface Need {
  /** What it is, as the messages name it. */
  name: string;
  /** The tests left out without it. */
  tests: string;
  /** The Debian/Ubuntu package that gives it (installed, or for skimage only downloaded). */
  debianPackage: string;
  /** What the user runs to get it. */
  command: string;
}

/** Chromium, for tests/report_test.ts. */
export const CHROMIUM_NEED: Need = {
  name: `Chromium at ${CHROMIUM}`,
  tests:
    `tests/report_test.ts › "rocks train --report writes one self-contained page that Chromium shows…", ` +
    `tests/serve_test.ts › "rocks serve's page in Chromium: a photo uploaded through the file input…"`,
  debianPackage: "chromium",
  command: Deno.env.get("ROCKS_CHROMIUM")
    ? `install Chromium at ${CHROMIUM}, or point ROCKS_CHROMIUM at a Chromium or Chrome binary`
    : "sudo apt-get install -y --no-install-recommends chromium  (elsewhere: ROCKS_CHROMIUM=/path/to/chromium)",
};

/** A WebGPU adapter, for tests/webgpu_test.ts. */
export const WEBGPU_NEED: Need = {
  name: "a WebGPU adapter",
  tests: "tests/webgpu_test.ts (its 4 tests)",
  debianPackage: "mesa-vulkan-drivers",
  command: "sudo apt-get install -y --no-install-recommends mesa-vulkan-drivers  (Debian/Ubuntu: its " +
    "llvmpipe is a software adapter; elsewhere, a GPU with a Vulkan, Metal or Direct3D 12 driver)",
};

/** The skimage photos, for tests/resnet50_test.ts and tests/decode_test.ts. */
export const SKIMAGE_NEED: Need = {
  name: `the skimage photos in tests/.fixtures/skimage`,
  tests:
    `tests/resnet50_test.ts › "…chelsea is a cat, coffee is espresso" and "the folded trunk equals Keras's own graph…", ` +
    `tests/decode_test.ts › "decodeImage() reads a palette PNG"`,
  debianPackage: "python3-skimage",
  command: "on Debian/Ubuntu, `sudo apt-get update` and run deno task test again (it only downloads " +
    `python3-skimage, any user can); elsewhere, copy ${SKIMAGE_FILES.join(", ")} from scikit-image's ` +
    "skimage/data folder into tests/.fixtures/skimage/",
};

if (import.meta.main) {
  console.log(JSON.stringify({
    chromium: { path: CHROMIUM, present: haveChromium, skipped: browserSkipped },
    skimage: { dir: SKIMAGE_DIR, present: haveSkimage },
    webgpu: await probeWebGpu(),
  }));
}
