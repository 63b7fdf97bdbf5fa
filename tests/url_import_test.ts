/**
 * `mod.ts` imported by URL: this repository is served over HTTP on
 * 127.0.0.1, and a script in an empty folder (no deno.json, no import map,
 * no node_modules) imports it, trains and predicts. Deno resolves the npm
 * packages itself, into its global cache.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { flags, ROOT, tempDir, writeTextureDataset } from "./_helpers.ts";

const TYPES: Record<string, string> = { ".ts": "application/typescript", ".json": "application/json" };

Deno.test({
  name: "a script imports mod.ts from an http URL, trains and predicts on a test-made photo",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const served: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      served.push(path);
      if (
        path.includes("..") ||
        !/^\/(mod\.ts|deno\.json|lib\/[a-z]+\/[a-z0-9_]+\.ts|weights\/[a-z0-9_]+\.json)$/.test(path)
      ) {
        return new Response("not served", { status: 404 });
      }
      try {
        const body = await Deno.readFile(`${ROOT}${path}`);
        return new Response(body, { headers: { "content-type": TYPES[path.slice(path.lastIndexOf("."))]! } });
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
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...flags("run --no-config --reload=http://127.0.0.1 --allow-read --allow-write --allow-env"),
          `--allow-import=127.0.0.1:${port}`,
          `--allow-net=127.0.0.1:${port}`,
          "script.ts",
        ],
        cwd: dir.path,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      const preds = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assertEquals(preds.map((p: { class: string }) => p.class), ["speckle", "stripes"]);
      assert(served.includes("/mod.ts") && served.includes("/lib/embed/worker.ts"), served.join(" "));
      assert(
        [...Deno.readDirSync(dir.path)].every((e) => e.name !== "node_modules"),
        "no node_modules was made",
      );
    } finally {
      await server.shutdown();
    }
  },
});
