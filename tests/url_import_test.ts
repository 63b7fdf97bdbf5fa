/**
 * `mod.ts` imported by URL: this repository is served over HTTP on
 * 127.0.0.1, and a script in an empty folder (no deno.json, no import map,
 * no node_modules) imports it, trains and predicts. Deno resolves the npm
 * packages itself, into its global cache; the weights come from the same
 * host, once, into the user's cache folder, each file verified.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { flags, ROOT, tempDir, writeTextureDataset } from "./_helpers.ts";

const TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".json": "application/json",
  ".bin": "application/octet-stream",
};

Deno.test({
  name: "a script imports mod.ts from an http URL, trains and predicts on a test-made photo",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const served: string[] = [];
    let tamper = false; // serve one weights shard with a flipped byte
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      served.push(path);
      if (
        path.includes("..") ||
        !/^\/(mod\.ts|deno\.json|lib\/[a-z]+\/[a-z0-9_]+\.ts|weights\/[a-z0-9_]+\.json|weights\/resnet50\/[\w.-]+)$/
          .test(path)
      ) {
        return new Response("not served", { status: 404 });
      }
      try {
        const body = await Deno.readFile(`${ROOT}${path}`);
        if (tamper && path.endsWith("shard3of13.bin")) body[99] = body[99]! ^ 1;
        const type = TYPES[path.slice(path.lastIndexOf("."))] ?? "text/plain";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("missing", { status: 404 });
      }
    });
    try {
      const { port } = server.addr;
      await using dir = await tempDir("rocks-url-");
      await writeTextureDataset(`${dir.path}/data`, 4);
      await Deno.writeTextFile(
        `${dir.path}/script.ts`,
        `import { openEmbedder, predict, trainFolder } from "http://127.0.0.1:${port}/mod.ts";
const embedder = await openEmbedder({ workers: 1 });
const { classifier } = await trainFolder(embedder, "data", { epochs: 2, augment: "none", testFraction: 0 });
const predictions = await predict(embedder, classifier, ["data/speckle/speckle_000.png", "data/stripes/stripes_000.png"]);
console.log(JSON.stringify(predictions));
embedder.close();
`,
      );
      const run = (cache: string) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            ...flags("run --no-config --reload=http://127.0.0.1 --allow-read --allow-write --allow-env"),
            `--allow-import=127.0.0.1:${port}`,
            `--allow-net=127.0.0.1:${port}`,
            "script.ts",
          ],
          cwd: dir.path,
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1", XDG_CACHE_HOME: cache },
        }).output();
      const dec = new TextDecoder();
      const out = await run(`${dir.path}/cache`);
      const stdout = dec.decode(out.stdout);
      assertEquals(out.code, 0, dec.decode(out.stderr));
      const preds = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assertEquals(preds.map((p: { class: string }) => p.class), ["speckle", "stripes"]);
      assert(served.includes("/mod.ts") && served.includes("/lib/embed/worker.ts"), served.join(" "));
      assert(
        [...Deno.readDirSync(dir.path)].every((e) => e.name !== "node_modules"),
        "no node_modules was made",
      );
      // The weights came from the same host, once each, into the cache folder.
      const fetched = served.filter((p) => p.startsWith("/weights/resnet50/"));
      assertEquals(fetched.length, 16, fetched.join(" "));
      const [kept] = [...Deno.readDirSync(`${dir.path}/cache/rocks/weights`)];
      assertEquals([...Deno.readDirSync(`${dir.path}/cache/rocks/weights/${kept!.name}`)].length, 16);
      // A second run finds them there and downloads nothing.
      const again = await run(`${dir.path}/cache`);
      assertEquals(again.code, 0, dec.decode(again.stderr));
      assertEquals(served.filter((p) => p.startsWith("/weights/resnet50/")).length, 16);
      // An altered file from the host is refused, by name, and not kept.
      tamper = true;
      const bad = await run(`${dir.path}/cache2`);
      const err = dec.decode(bad.stderr);
      assert(bad.code !== 0 && err.includes("group1-shard3of13.bin is damaged: sha256"), err);
      const partial = `${dir.path}/cache2/rocks/weights/${kept!.name}`;
      assert(
        [...Deno.readDirSync(partial)].every((e) => e.name !== "group1-shard3of13.bin"),
        "the damaged shard was not kept",
      );
    } finally {
      await server.shutdown();
    }
  },
});
