/**
 * The compiled `rocks` executable: built with the Deno 2.9.4 runtime from
 * ../shared/tools, copied alone into an empty folder, and run there with an
 * empty HOME, no Deno, no node_modules and no network (`unshare -n`; where
 * that cannot run, the test is reported as ignored, never as passed). Its
 * train / predict outputs must equal `deno run cli.ts`'s, and its `serve`
 * must answer the page and the API inside that network namespace.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { flags, ROOT, runCli, tempDir, writeTextureDataset } from "./_helpers.ts";
import { sha256Hex } from "../lib/util/hash.ts";
import { pageHtml } from "../lib/serve/page.ts";
import type { ProbeFacts } from "./_serve_probe.ts";

const DENORT_ZIP = `${ROOT}/../shared/tools/denort-2.9.4/denort-x86_64-unknown-linux-gnu.zip`;
const DENORT_SHA256 = "723d45cca4f68bd66652da1e0d45562b0700317c1535981035f50f078785a131";

async function run(cmd: string, args: string[], opts: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...opts }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function canUnshareNet(): Promise<boolean> {
  try {
    return (await run("unshare", ["-n", "true"])).code === 0;
  } catch {
    return false;
  }
}

const offline = await canUnshareNet();
if (!offline) {
  console.error("compile_test: `unshare -n` cannot run here (needs root or user namespaces): not run");
}

Deno.test({
  name: "the compiled rocks runs alone, offline, with an empty HOME, and matches deno run",
  ignore: !offline,
  sanitizeResources: false,
  fn: async () => {
    await using dir = await tempDir("rocks-compile-");
    // 1. The runtime from ../shared, checked.
    const unzip = await run("python3", ["-m", "zipfile", "-e", DENORT_ZIP, `${dir.path}/denort`]);
    assertEquals(unzip.code, 0, unzip.stderr);
    const denort = `${dir.path}/denort/denort`;
    assertEquals(await sha256Hex(await Deno.readFile(denort)), DENORT_SHA256);
    await Deno.chmod(denort, 0o755);
    // 2. Build.
    const built = await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}/scripts/compile.ts`,
      "--output",
      `${dir.path}/out/rocks`,
    ], {
      cwd: ROOT,
      env: { DENORT_BIN: denort, NO_COLOR: "1" },
    });
    assertEquals(built.code, 0, built.stderr + built.stdout);
    const size = (await Deno.stat(`${dir.path}/out/rocks`)).size;
    console.log(`compiled rocks: ${(size / 1e6).toFixed(1)} MB`);
    // 107.6 MB of Deno's runtime, 49.3 MB of weights (float16 kernels), ~5 MB of tfjs, wasm and codecs.
    assert(size <= 175e6, `binary is ${size} bytes, more than 175 MB`);
    // 3. Alone in an empty folder.
    await Deno.mkdir(`${dir.path}/bin`);
    await Deno.copyFile(`${dir.path}/out/rocks`, `${dir.path}/bin/rocks`);
    await Deno.chmod(`${dir.path}/bin/rocks`, 0o755);
    await Deno.remove(`${dir.path}/out`, { recursive: true });
    await Deno.mkdir(`${dir.path}/home`);
    const work = `${dir.path}/work`;
    await writeTextureDataset(`${work}/data`, 5);
    const rocks = (args: string[]) =>
      run("unshare", ["-n", `${dir.path}/bin/rocks`, ...args], {
        cwd: work,
        clearEnv: true,
        env: { HOME: `${dir.path}/home`, PATH: "/usr/bin:/bin" },
      });

    const help = await rocks(["--version"]);
    assertEquals(help.code, 0, help.stderr);
    assert(help.stdout.startsWith("rocks "));
    const licenses = await rocks(["--licenses"]); // LICENSE and THIRD_PARTY_LICENSES.txt are embedded
    assertEquals(licenses.code, 0, licenses.stderr);
    assert(
      licenses.stdout.includes((await Deno.readTextFile(`${ROOT}/THIRD_PARTY_LICENSES.txt`)).trimEnd()),
      "the licences",
    );
    const info = await rocks(["info", "--json"]);
    assertEquals(info.code, 0, info.stderr);
    const facts = JSON.parse(info.stdout);
    assertEquals(facts.weights.verified, true);
    assert(facts.weights.location.includes("deno-compile"), `weights at ${facts.weights.location}`);

    const common = [
      ...flags("--preset course --epochs 1 --augment none --workers 1 --no-cache --json"),
    ];
    const trainBin = await rocks(["train", "data", "--out", "m-bin", ...common]);
    assertEquals(trainBin.code, 0, trainBin.stderr);
    const trainRun = await runCli(["train", "data", "--out", "m-run", ...common], { cwd: work });
    assertEquals(trainRun.code, 0, trainRun.stderr);
    const a = JSON.parse(trainBin.stdout), b = JSON.parse(trainRun.stdout);
    for (const key of ["classes", "trainCount", "testCount", "testAccuracy", "testLoss", "confusion"]) {
      assertEquals(a[key], b[key], key);
    }
    assertEquals(
      await Deno.readFile(`${work}/m-bin/weights.bin`),
      await Deno.readFile(`${work}/m-run/weights.bin`),
    );

    const predictArgs = ["predict", "m-bin", "data/stripes", "--json", "--workers", "1", "--no-cache"];
    const predictBin = await rocks(predictArgs);
    const predictRun = await runCli(predictArgs, { cwd: work });
    assertEquals(predictBin.code, 0, predictBin.stderr);
    assertEquals(JSON.parse(predictBin.stdout), JSON.parse(predictRun.stdout));
    assertEquals([...Deno.readDirSync(`${dir.path}/home`)].length, 0, "--no-cache wrote nothing to HOME");
    // Without --no-cache the cache goes to the empty HOME, and a second run reads it.
    const cached = ["predict", "m-bin", "data/speckle", "--json", "--workers", "1"];
    const first = await rocks(cached);
    const second = await rocks(cached);
    assertEquals(second.code, 0, second.stderr);
    assertEquals(JSON.parse(second.stdout), JSON.parse(first.stdout));
    assert(Deno.statSync(`${dir.path}/home/.cache/rocks`).isDirectory, "the cache is under HOME");

    // rocks serve: the same page and API, offline. `unshare -n` leaves only a loopback that is down: it is
    // brought up inside the namespace, where the client (tests/_serve_probe.ts, no imports) runs too.
    const photo = "data/stripes/stripes_000.png";
    const served = await run("unshare", [
      "-n",
      "sh",
      "-c",
      'ip link set lo up && exec "$@"',
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      `${ROOT}/tests/_serve_probe.ts`,
      ...["--home", `${dir.path}/home`, photo, "--"],
      ...[`${dir.path}/bin/rocks`, "serve", "m-bin", "--workers", "1", "--no-cache"],
    ], { cwd: work });
    assertEquals(served.code, 0, served.stderr);
    const probe: ProbeFacts = JSON.parse(served.stdout);
    assertEquals(probe.exit.code, 0, probe.exit.stderr);
    assert(probe.url.startsWith("http://127.0.0.1:"), probe.url);
    const nonce = /'nonce-([^']+)'/.exec(probe.page.csp)?.[1] ?? "";
    assertEquals([probe.page.status, probe.page.html], [200, pageHtml(nonce)], "the library's page");
    assert(probe.page.csp.startsWith("default-src 'none'"), probe.page.csp);
    assertEquals([probe.health.status, probe.health.body.ready], [200, true]);
    assertEquals([probe.model.status, probe.model.body.classes], [200, ["speckle", "stripes"]]);
    const expected = JSON.parse(predictRun.stdout).find((p: { file: string }) => p.file === photo);
    assertEquals(probe.predict.status, 200);
    const [got] = probe.predict.body as {
      file: string;
      class: string;
      probabilities: Record<string, number>;
    }[];
    assertEquals([got!.file, got!.class], ["upload", expected.class]);
    for (const c of ["speckle", "stripes"]) {
      assert(
        Math.abs(got!.probabilities[c]! - expected.probabilities[c]) < 1e-6,
        `${c}: as deno run predicts`,
      );
    }
    assertEquals([probe.bad.status, probe.bad.body.error], [422, "upload is not a JPEG or PNG image"]);
  },
});
