import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { maxPhotoBytes, readPhotoFile } from "../lib/image/read_photo.ts";
import { RocksError } from "../lib/util/errors.ts";
import { isRoot, ROOT, tempDir } from "./_helpers.ts";

Deno.test("readPhotoFile() names what is wrong with each kind of file that is not a readable photo", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.writeFile(`${d}/empty.jpg`, new Uint8Array());
  await Deno.mkdir(`${d}/folder.jpg`);
  await Deno.symlink(`${d}/nothing-here.jpg`, `${d}/dangling.jpg`);
  await Deno.symlink(`${d}/loop.jpg`, `${d}/loop.jpg`);
  await new Deno.Command("mkfifo", { args: [`${d}/pipe.jpg`] }).output();
  const cases: [string, string][] = [
    [`${d}/gone.jpg`, "gone.jpg does not exist"],
    [`${d}/empty.jpg`, "empty.jpg is empty (0 bytes)"],
    [`${d}/folder.jpg`, "folder.jpg is a folder, not a photo"],
    [`${d}/dangling.jpg`, "dangling.jpg is a broken symbolic link (its target does not exist)"],
    [`${d}/loop.jpg`, "loop.jpg is a symbolic link loop"],
    // A pipe would block a read forever: refused from its type.
    [`${d}/pipe.jpg`, "pipe.jpg is not a regular file (a pipe, socket or device), not a photo"],
    ["/dev/zero", "/dev/zero is not a regular file (a pipe, socket or device), not a photo"],
  ];
  for (const [path, message] of cases) {
    const e = await readPhotoFile(path).then(() => undefined, (e) => e);
    assert(e instanceof RocksError && e.kind === "input", `${path}: ${e}`);
    assert(e.message.endsWith(message), `${path}: ${e.message}`);
    assertEquals(e.path, path);
  }
  await Deno.writeFile(`${d}/big.jpg`, new Uint8Array(2000));
  await assertRejects(
    () => readPhotoFile(`${d}/big.jpg`, { maxBytes: 1000 }),
    RocksError,
    "big.jpg is 2000 bytes, more than a photo within the pixel limit can be (1000 bytes)",
  );
  assertEquals(maxPhotoBytes(100), 800 + 64 * 1024 * 1024);
});

Deno.test("readPhotoFile() reads names with spaces, non-ASCII letters and any extension", async () => {
  await using dir = await tempDir();
  for (const name of ["with space.JPG", "Mondgestein ümlaut 月.png", "no-extension", "UPPER.JPEG"]) {
    await Deno.writeFile(`${dir.path}/${name}`, new Uint8Array([1, 2, 3]));
    assertEquals(Array.from(await readPhotoFile(`${dir.path}/${name}`)), [1, 2, 3], name);
  }
});

Deno.test("readPhotoFile() says a file it may not read cannot be read (permission denied)", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/secret.jpg`;
  await Deno.writeFile(file, new Uint8Array([0xff, 0xd8, 0xff]));
  await Deno.chmod(file, 0o000);
  // Root reads past permission bits, so a child run whose read permission
  // excludes the file stands in for an unreadable file; as another user the
  // chmod alone does it.
  const script = `${dir.path}/read.ts`;
  await Deno.writeTextFile(
    script,
    `import { readPhotoFile } from "${ROOT}/lib/image/read_photo.ts";\n` +
      `await readPhotoFile(Deno.args[0]!).then(() => console.log("read"), (e) => console.log(e.message));\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", ...(isRoot() ? [`--deny-read=${file}`] : []), script, file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(out.stdout).trim();
  assertEquals(said, `${file} cannot be read: permission denied`, new TextDecoder().decode(out.stderr));
});
