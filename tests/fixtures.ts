/**
 * Test set-up, run by `deno task test` before `deno test`: gets what some
 * tests need from the machine (tests/_system.ts lists it), where it can.
 *
 * - the skimage photos (chelsea the cat, a cup of coffee, ...) for the ImageNet
 *   test: Debian's `python3-skimage` is downloaded (`apt-get download`, any
 *   user) and unpacked into tests/.fixtures/skimage, never installed;
 * - Chromium (`/usr/bin/chromium`) for the report test, and
 *   `mesa-vulkan-drivers` (the llvmpipe software WebGPU adapter) for the
 *   WebGPU test: installed with `apt-get install -y --no-install-recommends`
 *   when this runs as root on a machine with apt (after one `apt-get update`
 *   when the package lists need it).
 *
 * What it cannot get (not root, no apt, no network) it names, with the
 * command that gets it and the tests it leaves out; those tests then report
 * themselves as ignored. It never fails the test run itself.
 * @module
 */
import {
  browserSkipped,
  CHROMIUM_NEED,
  chromiumPresent,
  type Need,
  SKIMAGE_DIR,
  SKIMAGE_FILES,
  SKIMAGE_NEED,
  skimagePresent,
  WEBGPU_NEED,
  type WebGpuFacts,
} from "./_system.ts";

const dec = new TextDecoder();

/** Runs a command; never throws (a missing program is a failed run). */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...opts }).output();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}

/** The last line of a command's output that says something. */
function lastLine(out: string): string {
  return out.trim().split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? "";
}

async function isRoot(): Promise<boolean> {
  const id = await run("id", ["-u"]);
  if (id.ok) return id.out.trim() === "0";
  try {
    return /^Uid:\s+0\s/m.test(await Deno.readTextFile("/proc/self/status"));
  } catch {
    return false;
  }
}

/** Asks for a WebGPU adapter in a fresh process (one started after any driver was installed). */
async function webGpu(): Promise<WebGpuFacts> {
  const r = await run(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    decodeURIComponent(new URL("./_system.ts", import.meta.url).pathname),
  ]);
  try {
    return JSON.parse(r.out.split("\n").find((l) => l.startsWith("{"))!).webgpu;
  } catch {
    return { available: false, description: `the probe failed: ${lastLine(r.out)}` };
  }
}

const hasApt = (await run("apt-get", ["--version"])).ok;
const root = await isRoot();
const aptEnv = { DEBIAN_FRONTEND: "noninteractive" };
let listsUpdated = false;

/** `apt-get update`, once, quietly, saying so. */
async function aptUpdate(): Promise<void> {
  if (listsUpdated || !root) return;
  listsUpdated = true;
  console.log("Test set-up: updating the Debian package lists (apt-get update -qq)");
  const r = await run("apt-get", ["update", "-qq"], { env: aptEnv });
  if (!r.ok) console.log(`Test set-up: apt-get update failed: ${lastLine(r.out)}`);
}

/** Runs an apt-get command; when it fails and the lists were not updated yet, updates them and tries again. */
async function apt(args: string[], cwd?: string): Promise<{ ok: boolean; out: string }> {
  const first = await run("apt-get", args, { env: aptEnv, ...(cwd ? { cwd } : {}) });
  if (first.ok || listsUpdated || !root) return first;
  await aptUpdate();
  return await run("apt-get", args, { env: aptEnv, ...(cwd ? { cwd } : {}) });
}

/** Downloads python3-skimage and unpacks the photos the tests read. */
async function getSkimage(): Promise<string | undefined> {
  const work = await Deno.makeTempDir({ prefix: "rocks-fixtures-" });
  try {
    const got = await apt(["download", "python3-skimage"], work);
    if (!got.ok) return `apt-get download python3-skimage failed: ${lastLine(got.out)}`;
    const deb = [...Deno.readDirSync(work)].find((e) => e.name.endsWith(".deb"));
    if (!deb) return "apt-get download python3-skimage left no .deb";
    const x = await run("dpkg-deb", ["-x", deb.name, "x"], { cwd: work });
    if (!x.ok) return `dpkg-deb -x failed: ${lastLine(x.out)}`;
    await Deno.mkdir(SKIMAGE_DIR, { recursive: true });
    const data = `${work}/x/usr/lib/python3/dist-packages/skimage/data`;
    for (const f of SKIMAGE_FILES) await Deno.copyFile(`${data}/${f}`, `${SKIMAGE_DIR}/${f}`);
    console.log(`Test set-up: photos extracted from python3-skimage into ${SKIMAGE_DIR}`);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** What is still missing, and why. */
const missing: { need: Need; why: string }[] = [];

// 1. The skimage photos: a download, which needs apt but not root.
if (!skimagePresent()) {
  const why = hasApt ? await getSkimage() : "apt-get is not on this machine";
  if (why !== undefined || !skimagePresent()) {
    missing.push({ need: SKIMAGE_NEED, why: why ?? "not extracted" });
  }
}

// 2. Chromium and mesa-vulkan-drivers: installed as root with apt.
const wantChromium = !browserSkipped && !chromiumPresent();
const mesaInstalled = hasApt && (await run("dpkg", ["-s", "mesa-vulkan-drivers"])).ok;
const packages = [
  ...(wantChromium && !Deno.env.get("ROCKS_CHROMIUM") ? ["chromium"] : []),
  ...(hasApt && !mesaInstalled ? ["mesa-vulkan-drivers"] : []),
];
let installError = "";
if (packages.length > 0 && hasApt && root) {
  console.log(
    `Test set-up: installing ${packages.join(" and ")} ` +
      `(apt-get install -y --no-install-recommends), for the tests that need them`,
  );
  const r = await apt(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
  if (!r.ok) installError = `apt-get install ${packages.join(" ")} failed: ${lastLine(r.out)}`;
}
const cannot = installError ||
  (!hasApt ? "apt-get is not on this machine" : !root ? "this is not running as root" : "");

if (wantChromium && !chromiumPresent()) {
  const why = Deno.env.get("ROCKS_CHROMIUM")
    ? `ROCKS_CHROMIUM names ${Deno.env.get("ROCKS_CHROMIUM")}, which is not there`
    : cannot || "chromium was installed but /usr/bin/chromium is not there";
  missing.push({ need: CHROMIUM_NEED, why });
}
const gpu = await webGpu();
if (!gpu.available) {
  missing.push({
    need: WEBGPU_NEED,
    why: `${gpu.description}${!mesaInstalled && cannot ? `; ${cannot}` : ""}`,
  });
}

if (missing.length > 0) {
  const lines = [
    "Test set-up: some tests cannot run on this machine; deno test reports them as ignored (not run),",
    "never as passed:",
  ];
  for (const { need, why } of missing) {
    lines.push(``, `  not run: ${need.tests}`);
    lines.push(`    needs ${need.name}: ${why}`);
    lines.push(`    to run them: ${need.command}`);
  }
  console.log(lines.join("\n") + "\n");
}
