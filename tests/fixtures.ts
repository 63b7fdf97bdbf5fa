/**
 * Test set-up: extracts a few photos from Debian's `python3-skimage` package
 * (chelsea the cat, a cup of coffee, ...) into tests/.fixtures/skimage, so the
 * ImageNet test has real photos without the internet. The package is only
 * downloaded and unpacked, never installed. Runs before `deno task test`.
 * @module
 */
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const DEST = `${ROOT}tests/.fixtures/skimage`;
const WANTED = ["chelsea.png", "coffee.png", "astronaut.png", "hubble_deep_field.jpg", "palette_color.png"];

async function have(): Promise<boolean> {
  try {
    for (const f of WANTED) await Deno.stat(`${DEST}/${f}`);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

if (!(await have())) {
  const work = await Deno.makeTempDir({ prefix: "rocks-fixtures-" });
  try {
    await run("apt-get", ["download", "python3-skimage"], work);
    const deb = [...Deno.readDirSync(work)].find((e) => e.name.endsWith(".deb"));
    if (!deb) throw new Error("apt-get download python3-skimage left no .deb");
    await run("dpkg-deb", ["-x", deb.name, "x"], work);
    await Deno.mkdir(DEST, { recursive: true });
    const data = `${work}/x/usr/lib/python3/dist-packages/skimage/data`;
    for (const f of WANTED) await Deno.copyFile(`${data}/${f}`, `${DEST}/${f}`);
    console.log(`Test photos extracted from python3-skimage into ${DEST}`);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
