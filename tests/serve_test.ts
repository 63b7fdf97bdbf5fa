/**
 * `rocks serve` and `createHandler`: the request body and queue on their own,
 * the handler through real HTTP on 127.0.0.1 with a stand-in embedder (the
 * queue's 503s made certain, bad requests thrown at it), then `rocks serve`
 * as a child process with the real trunk: each endpoint and each error
 * status, answers equal to `rocks predict`'s, `--token`, a burst over the
 * queue, SIGTERM with a request in flight, and the page in headless Chromium.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { cliCommand, fileTempDir, ROOT, runCli, runPageScript, SPACE_ROCKS, texturePng } from "./_helpers.ts";
import { haveChromium } from "./_system.ts";
import { randomClassifier } from "./_classifier.ts";
import { createHandler, type CreateHandlerOptions } from "../lib/serve/handler.ts";
import { HttpError, readLimited, readUploads } from "../lib/serve/body.ts";
import { createPhotoQueue } from "../lib/serve/queue.ts";
import { pageHtml } from "../lib/serve/page.ts";
import { isLoopback, serverUrl } from "../cli/commands/serve.ts";
import { initBackend } from "../lib/trunk/backend.ts";
import type { EmbedJob, EmbedResult } from "../lib/embed/job.ts";
import type { ServePageFacts } from "./_serve_page.ts";

/** Screenshots are kept here (gitignored). */
const ARTIFACTS = `${ROOT}/tests/.artifacts`;
const dir = fileTempDir("rocks-serve-test-");
const BASALT = `${SPACE_ROCKS}/Basalt/Basalt_Cristobalite_s69-45539.jpg`;
const HIGHLAND = `${SPACE_ROCKS}/Highland/${
  [...Deno.readDirSync(`${SPACE_ROCKS}/Highland`)].map((e) => e.name).filter((n) => n.endsWith(".jpg"))
    .sort()[0]
}`;

// ---------------------------------------------------------------------------------------------------------
// The body and the queue on their own.

Deno.test("readLimited() stops reading an endless body just past the limit and refuses it with 413", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled += 4096;
      c.enqueue(new Uint8Array(4096));
    },
  });
  const req = new Request("http://x/predict", { method: "POST", body: endless });
  const e = await readLimited(req, 100_000).then(() => undefined, (e) => e);
  assert(e instanceof HttpError && e.status === 413, String(e));
  assert(pulled <= 100_000 + 3 * 4096, `read ${pulled} bytes for a limit of 100000`);
  // A declared length over the limit is refused before a byte is read.
  const declared = new Request("http://x/", {
    method: "POST",
    body: "x",
    headers: { "content-length": "999999" },
  });
  assertEquals((await readLimited(declared, 10).catch((e) => e)).status, 413);
});

Deno.test("readUploads() names the photos and refuses malformed forms with 400 and too many with 413", async () => {
  const limits = { maxBytes: 1e6, maxPhotos: 2 };
  const post = (body: BodyInit | null, type: string) =>
    new Request("http://x/predict", { method: "POST", body, headers: { "content-type": type } });
  const status = (p: Promise<unknown>) => p.then(() => 200, (e) => (e instanceof HttpError ? e.status : 500));
  assertEquals(
    (await readUploads(post(new Uint8Array([1]), "image/jpeg"), "image", limits))[0]!.name,
    "upload",
  );
  assertEquals(await status(readUploads(post(null, "image/jpeg"), "image", limits)), 400);
  assertEquals(
    await status(readUploads(post("--b\r\ngarbage", "multipart/form-data; boundary=b"), "multipart", limits)),
    400,
  );
  assertEquals(await status(readUploads(post("x", "multipart/form-data"), "multipart", limits)), 400);
  const form = (parts: [string, string | File][]) => {
    const f = new FormData();
    for (const [k, v] of parts) f.append(k, v);
    return new Request("http://x/predict", { method: "POST", body: f });
  };
  const file = (name: string) => new File([new Uint8Array([1, 2, 3])], name);
  assertEquals(await status(readUploads(form([["photo", file("a.jpg")]]), "multipart", limits)), 400);
  assertEquals(await status(readUploads(form([["file", "text"]]), "multipart", limits)), 400);
  assertEquals(
    await status(
      readUploads(form([["file", file("a")], ["file", file("b")], ["file", file("c")]]), "multipart", limits),
    ),
    413,
  );
  const named = await readUploads(
    form([["file", file("dir/a.jpg")], ["other", "ignored"], ["file", file("")]]),
    "multipart",
    limits,
  );
  assertEquals(named.map((u) => u.name), ["a.jpg", "upload-2"]);
});

Deno.test("createPhotoQueue() admits up to its limit, and with batching runs the requests that waited together", async () => {
  const calls: string[][] = [];
  let open!: () => void;
  let gate = new Promise<void>((r) => (open = r));
  const queue = createPhotoQueue<string, string>({
    limit: 5,
    batch: true,
    calls: 1,
    run: async (jobs) => {
      calls.push(jobs);
      await gate;
      return jobs.map((j) => j.toUpperCase());
    },
  });
  const a = queue.admit(1)!, b = queue.admit(2)!, c = queue.admit(2)!;
  assertEquals([queue.pending, queue.admit(1)], [5, undefined]);
  const ra = a.run(["a"]);
  const rb = b.run(["b1", "b2"]);
  const rc = c.run(["c"]); // one of its two photos could not be written: it runs one
  await Promise.resolve();
  assertEquals(calls, [["a"]]);
  const first = open;
  gate = new Promise<void>((r) => (open = r));
  first();
  assertEquals(await ra, ["A"]);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(calls, [["a"], ["b1", "b2", "c"]], "b and c waited, then went together");
  open();
  assertEquals([await rb, await rc], [["B1", "B2"], ["C"]]);
  for (const t of [a, b, c, a]) t.release(); // a second release does nothing
  assertEquals(queue.pending, 0);
  assert(queue.retryAfter() >= 1 && queue.retryAfter() <= 60);
});

// ---------------------------------------------------------------------------------------------------------
// The handler in this process, over real HTTP, with an embedder that waits for a gate.

/** An embedder that reads each file and gives a JPEG a fixed embedding, anything else an error. */
function standInEmbedder(gate: () => Promise<void>): CreateHandlerOptions["embedder"] {
  return {
    embed: async (jobs: EmbedJob[]): Promise<EmbedResult[]> => {
      await gate();
      return await Promise.all(jobs.map(async (j) => {
        const b = await Deno.readFile(j.path);
        return b[0] === 0xff && b[1] === 0xd8
          ? { embedding: new Float32Array(2048).fill(b.length % 7) }
          : { error: `${j.path} is not a JPEG or PNG image` };
      }));
    },
    backend: { name: "cpu", requested: "cpu", reason: "test", simd: false, threads: 1 },
    workers: 1,
    trunk: { id: "test", sha256: "0".repeat(64) },
  };
}

/** `Deno.serve` on 127.0.0.1, a free port, with `handler`; stop it with `shutdown()`. */
function serveHere(handler: (r: Request) => Promise<Response>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
}

Deno.test("createHandler() over HTTP: a full queue answers 503 with Retry-After, then answers again; bad requests never get a 500", async () => {
  await initBackend("cpu");
  const classifier = randomClassifier(["Basalt", "Highland"], { id: "test", sha256: "0".repeat(64) });
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const tmp = `${dir}/handler-tmp`;
  await Deno.mkdir(tmp);
  const handler = createHandler({
    embedder: standInEmbedder(() => gate),
    classifier,
    queue: 2,
    maxUploadBytes: 50_000,
    bodyTimeoutMs: 500,
    tempDir: tmp,
    basePath: "/rocks",
  });
  const server = serveHere(handler);
  const base = `http://127.0.0.1:${server.addr.port}/rocks`;
  const jpeg = await Deno.readFile(`${ROOT}/tests/images/picture-baseline.jpg`);
  const post = (body: BodyInit, type = "image/jpeg") =>
    fetch(`${base}/predict`, { method: "POST", headers: { "content-type": type }, body });
  try {
    // Two photos wait at the gate; the third finds the queue full.
    const waiting = [post(jpeg), post(jpeg)];
    while (handler.pending < 2) await new Promise((r) => setTimeout(r, 5));
    const full = await post(jpeg);
    assertEquals(full.status, 503);
    const retry = Number(full.headers.get("retry-after"));
    assert(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert((await full.json()).error.includes("busy"));
    // A form is refused before it is parsed when the queue is full.
    const form = new FormData();
    form.append("file", new File([jpeg], "a.jpg"));
    assertEquals(
      await fetch(`${base}/predict`, { method: "POST", body: form }).then(async (
        r,
      ) => (await r.body?.cancel(), r.status)),
      503,
    );
    // The uploads are in a private folder while they wait.
    const [root] = [...Deno.readDirSync(tmp)];
    assert(root, "a folder for the uploads");
    assertEquals(Deno.statSync(`${tmp}/${root.name}`).mode! & 0o777, 0o700);
    open();
    for (const r of await Promise.all(waiting)) {
      assertEquals(r.status, 200);
      const [p] = await r.json();
      assertEquals(p.file, "upload");
      assert(Math.abs(p.probabilities.Basalt + p.probabilities.Highland - 1) < 1e-5);
    }
    assertEquals(handler.pending, 0);
    assertEquals([...Deno.readDirSync(`${tmp}/${root.name}`)], [], "each request's photos are removed");
    // A body sent in chunks, without a length, is refused with 413 while it is read.
    let sent = 0;
    const chunked = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > 10_000_000) return c.close();
        sent += 16_384;
        c.enqueue(new Uint8Array(16_384));
      },
    });
    const tooBig = await fetch(`${base}/predict`, {
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: chunked,
    }).then(
      async (r) => ({ status: r.status, body: await r.json() }),
      (e) => ({ status: 0, body: String(e) }),
    );
    assertEquals(tooBig.status, 413, JSON.stringify(tooBig.body));
    assert(sent < 10_000_000, `the server stopped reading (the client sent ${sent} bytes)`);
    // A body that stalls is refused with 408 and gives its place back.
    let stall!: ReadableStreamDefaultController<Uint8Array>;
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        stall = c;
        c.enqueue(jpeg.subarray(0, 100));
      },
    });
    const slow = await fetch(`${base}/predict`, {
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: stalled,
    });
    assertEquals([slow.status, (await slow.json()).error], [
      408,
      "The request body did not arrive within 0.5 s (100 bytes came)",
    ]);
    try {
      stall.close();
    } catch {
      // the server's side is gone already
    }
    assertEquals(handler.pending, 0);

    // Random requests: methods, paths, types and bodies. None gets a 500; each error is JSON { error }.
    const statuses = new Map<number, number>();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    for (let i = 0; i < 120; i++) {
      const method = rand() < 0.6 ? "POST" : pick(["GET", "PUT", "DELETE", "HEAD", "PATCH"]);
      const path = rand() < 0.6
        ? "/predict"
        : pick(["/model", "/healthz", "/", "/x", "/predict/", "/%zz", "//predict"]);
      const type = pick([
        "image/jpeg",
        "image/png",
        "multipart/form-data; boundary=zz",
        "multipart/form-data",
        "text/plain",
        "",
      ]);
      const size = pick([0, 1, 40, 3000, 60_000]);
      const bytes = crypto.getRandomValues(new Uint8Array(size));
      if (size > 40 && rand() < 0.5) bytes.set(jpeg.subarray(0, Math.min(size, jpeg.length)));
      if (type.includes("boundary") && rand() < 0.5) {
        bytes.set(
          new TextEncoder().encode(
            '--zz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n',
          ).subarray(0, size),
        );
      }
      const init: RequestInit = { method, headers: type ? { "content-type": type } : {} };
      if (method !== "GET" && method !== "HEAD" && size > 0) init.body = bytes;
      const r = await fetch(`${base}${path}`, init);
      const text = await r.text();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert(r.status < 500, `${method} ${path} ${type} ${size} bytes: ${r.status} ${text}`);
      if (r.status >= 400 && method !== "HEAD") assert(typeof JSON.parse(text).error === "string", text);
    }
    for (const s of [200, 400, 404, 405, 413, 415, 422]) {
      assert(statuses.has(s), `saw ${s}: ${[...statuses.keys()]}`);
    }
    assertEquals((await fetch(`${base}/healthz`).then((r) => r.json())).ready, true, "still answering");
    // Outside the base path: 404.
    const outside = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
    assertEquals([outside.status, (await outside.json()).error.startsWith("No such page")], [404, true]);
  } finally {
    await server.shutdown();
    await handler.close();
    classifier.dispose();
  }
  assertEquals([...Deno.readDirSync(tmp)], [], "close() removes the uploads' folder");
});

// ---------------------------------------------------------------------------------------------------------
// rocks serve, a child process with the real trunk.

const model = `${dir}/model`;
const cache = `${dir}/cache`;
let trained: Promise<void> | undefined;
/** A model trained on the Learn photos at 64 px for one epoch (quick), once for the file. */
const modelReady = () =>
  trained ??= runCli([
    "train",
    SPACE_ROCKS,
    ...["--preset", "course", "--epochs", "1", "--augment", "none", "--view-size", "64"],
    ...["--workers", "1", "--cache", cache, "--out", model, "--quiet"],
  ]).then((r) => assertEquals(r.code, 0, r.stderr));

/** A running `rocks serve`. */
interface Served {
  url: string;
  /** Ends it (SIGTERM by default) and returns its exit code, stdout and stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Its exit code, stdout and stderr once it has ended by itself. */
  ended(): Promise<{ code: number; stdout: string; stderr: string }>;
  child: Deno.ChildProcess;
}

/** Starts `rocks serve <model> --port 0 --workers 1 <args>` and waits for its URL. */
async function startServe(args: string[], env?: Record<string, string>): Promise<Served> {
  await modelReady();
  const child = cliCommand(["serve", model, "--port", "0", "--workers", "1", ...args], {
    denoFlags: ["--allow-net=127.0.0.1"],
    ...(env ? { env: { ...Deno.env.toObject(), ...env } } : {}),
  }).spawn();
  const dec = new TextDecoder();
  let stdout = "", stderr = "";
  const errDone = (async () => {
    for await (const c of child.stderr) stderr += dec.decode(c, { stream: true });
  })();
  const reader = child.stdout.getReader();
  let url: string | undefined;
  while (!url) {
    const { done, value } = await reader.read();
    if (done) {
      await errDone;
      await child.status;
      throw new Error(`rocks serve ended before printing its URL: ${stderr}`);
    }
    stdout += dec.decode(value, { stream: true });
    url = / on (http:\/\/127\.0\.0\.1:\d+\/) /.exec(stdout)?.[1];
  }
  const outDone = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      stdout += dec.decode(r.value, { stream: true });
    }
  })();
  const ended = async () => {
    const { code } = await child.status;
    await Promise.all([errDone, outDone]);
    return { code, stdout, stderr };
  };
  return {
    url,
    child,
    ended,
    stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already ended
      }
      return ended();
    },
  };
}

const post = (
  url: string,
  body: BodyInit | Uint8Array,
  type?: string,
  headers: Record<string, string> = {},
) =>
  fetch(new URL("predict", url), {
    method: "POST",
    body: body as BodyInit,
    headers: { ...(type ? { "content-type": type } : {}), ...headers },
  }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));

/** `rocks predict --json` on files, with the same model and cache. */
async function predictJson(
  files: string[],
): Promise<{ file: string; error?: string; class?: string; probabilities?: Record<string, number> }[]> {
  const r = await runCli(["predict", model, ...files, "--json", "--workers", "1", "--cache", cache]);
  assert(r.code === 0 || r.code === 1, r.stderr);
  return JSON.parse(r.stdout);
}

/** The same probabilities, to float rounding. */
function assertSameProbabilities(a: Record<string, number>, b: Record<string, number>) {
  assertEquals(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a)) assert(Math.abs(a[k]! - b[k]!) < 1e-6, `${k}: ${a[k]} vs ${b[k]}`);
}

/** A PNG whose header says 60000 × 60000 pixels (and nothing else: never decodable). */
function hugePngHeader(): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, 60000);
  new DataView(b.buffer).setUint32(20, 60000);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

Deno.test({
  name:
    "rocks serve: each endpoint and each error status over HTTP on 127.0.0.1; answers and reasons equal rocks predict's",
  sanitizeResources: false,
  async fn() {
    const server = await startServe(["--max-upload-mb", "2", "--cache", cache]);
    let stopped;
    try {
      const { url } = server;
      // The page, with its CSP.
      const page = await fetch(url);
      const html = await page.text();
      const csp = page.headers.get("content-security-policy") ?? "";
      assertEquals(page.status, 200);
      assert(csp.startsWith("default-src 'none'") && csp.includes("connect-src 'self'"), csp);
      const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
      assertEquals(html, pageHtml(nonce), "the page is the library's, with the header's nonce");
      // Health and the model's facts.
      const health = await (await fetch(new URL("healthz", url))).json();
      assertEquals([health.ready, health.queue], [true, 32]);
      const facts = await (await fetch(new URL("model", url))).json();
      assertEquals([facts.classes, facts.viewSize, facts.preset, facts.name], [
        ["Basalt", "Highland"],
        64,
        "course",
        "model",
      ]);
      assertEquals(facts.backend, "wasm");
      assert(
        typeof facts.metrics.accuracy === "number" && facts.metrics.count === 31,
        JSON.stringify(facts.metrics),
      );
      assertEquals(facts.limits, { maxUploadBytes: 2_000_000, queue: 32 });

      // One photo as the body: predict's entry, named "upload".
      const [expected, expectedHighland] = await predictJson([BASALT, HIGHLAND]);
      const one = await post(url, await Deno.readFile(BASALT), "image/jpeg");
      assertEquals([one.status, one.body.length, one.body[0].file, one.body[0].class], [
        200,
        1,
        "upload",
        expected!.class,
      ]);
      assertSameProbabilities(one.body[0].probabilities, expected!.probabilities!);

      // A form with a bad part among good ones: 200, one entry each, in order, the bad one with predict's reason.
      const bad = `${dir}/bad`;
      await Deno.mkdir(bad, { recursive: true });
      const noise = crypto.getRandomValues(new Uint8Array(5000));
      await Deno.writeFile(`${bad}/noise.jpg`, noise);
      const form = new FormData();
      form.append("file", new File([await Deno.readFile(BASALT)], "b.jpg"));
      form.append("file", new File([noise], "noise.jpg"));
      form.append("file", new File([await Deno.readFile(HIGHLAND)], "h.jpg"));
      const mixed = await post(url, form);
      assertEquals(mixed.status, 200);
      assertEquals(mixed.body.map((e: { file: string }) => e.file), ["b.jpg", "noise.jpg", "h.jpg"]);
      const [noiseExpected] = await predictJson([`${bad}/noise.jpg`]);
      assertEquals(mixed.body[1].error, noiseExpected!.error!.replace(`${bad}/`, ""));
      assertEquals([mixed.body[0].class, mixed.body[2].class], [expected!.class, expectedHighland!.class]);
      assertSameProbabilities(mixed.body[2].probabilities, expectedHighland!.probabilities!);

      // 422: photos that cannot be read, with predict's reason for a file of the same name ("upload").
      const basalt = await Deno.readFile(BASALT);
      const cases: Record<string, Uint8Array> = {
        truncated: basalt.subarray(0, Math.floor(basalt.length / 3)),
        random: crypto.getRandomValues(new Uint8Array(20_000)),
        huge: hugePngHeader(),
      };
      for (const [name, bytes] of Object.entries(cases)) {
        await Deno.mkdir(`${bad}/${name}`);
        await Deno.writeFile(`${bad}/${name}/upload`, bytes);
      }
      const reasons = await predictJson(Object.keys(cases).map((n) => `${bad}/${n}/upload`));
      for (const [i, [name, bytes]] of Object.entries(cases).entries()) {
        const started = performance.now();
        const r = await post(url, bytes, name === "huge" ? "image/png" : "image/jpeg");
        const ms = performance.now() - started;
        assertEquals(r.status, 422, `${name}: ${JSON.stringify(r.body)}`);
        assertEquals(r.body.error, reasons[i]!.error!.replace(`${bad}/${name}/`, ""), name);
        assertEquals(r.body.predictions, [{ file: "upload", error: r.body.error }]);
        // 60000 × 60000 is refused from its header: 10.8 GB of pixels are never decoded.
        if (name === "huge") {
          assert(
            /^upload is 60000×60000 pixels, over the limit of 100000000/.test(r.body.error),
            r.body.error,
          );
          assert(ms < 2000, `refused in ${ms.toFixed(0)} ms`);
        }
      }
      // A form whose every photo is unreadable: 422, every reason.
      const allBad = new FormData();
      allBad.append("file", new File([noise], "n1.jpg"));
      allBad.append("file", new File([new Uint8Array()], "empty.jpg"));
      const none = await post(url, allBad);
      assertEquals(none.status, 422);
      assertEquals(none.body.predictions[1], { file: "empty.jpg", error: "empty.jpg is empty (0 bytes)" });
      assert(none.body.error.startsWith("None of the 2 photos could be read: n1.jpg is"), none.body.error);

      // 400 / 413 / 415 / 404 / 405.
      assertEquals((await post(url, new Uint8Array(), "image/jpeg")).status, 400, "an empty body");
      assertEquals((await post(url, "--zz\r\ngarbage", "multipart/form-data; boundary=zz")).status, 400);
      const over = await post(url, new Uint8Array(2_000_001), "image/jpeg");
      assertEquals(over.status, 413);
      assert(over.body.error.includes("--max-upload-mb"), over.body.error);
      const wrongType = await post(url, basalt, "application/octet-stream");
      assertEquals(wrongType.status, 415);
      const missing = await fetch(new URL("nope", url));
      assertEquals([missing.status, typeof (await missing.json()).error], [404, "string"]);
      const getPredict = await fetch(new URL("predict", url));
      assertEquals([getPredict.status, getPredict.headers.get("allow")], [405, "POST"]);
      await getPredict.body?.cancel();
      // Still there.
      assertEquals((await post(url, basalt, "image/jpeg")).status, 200);
    } finally {
      stopped = await server.stop();
    }
    assertEquals(stopped.code, 0, stopped.stderr);
    // One line per request on stderr (no --quiet), and the clean stop.
    assert(/ POST \/predict 200 3 photos \d+ ms/.test(stopped.stderr), stopped.stderr);
    assert(stopped.stderr.includes("Stopped."), stopped.stderr);
  },
});

Deno.test("isLoopback() and serverUrl(): only 127.x, ::1 and localhost count as this machine only", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) assert(isLoopback(h), h);
  for (const h of ["0.0.0.0", "::", "192.168.1.2", "example.org", "127.0.0.1.example.org"]) {
    assert(!isLoopback(h), h);
  }
  assertEquals([serverUrl("127.0.0.1", 80), serverUrl("::1", 8080)], [
    "http://127.0.0.1:80/",
    "http://[::1]:8080/",
  ]);
});

Deno.test({
  name: "rocks serve refuses clearly (exit 1): no permission to listen there, a port in use, no model",
  sanitizeResources: false,
  async fn() {
    await modelReady();
    const serve = (args: string[]) =>
      runCli(["serve", ...args, "--no-cache"], { denoFlags: ["--allow-net=127.0.0.1"] });
    const elsewhere = await serve([model, "--host", "0.0.0.0", "--port", "0"]);
    assertEquals(elsewhere.code, 1);
    assert(
      elsewhere.stderr.includes("Cannot listen on 0.0.0.0:0: no permission to listen"),
      elsewhere.stderr,
    );
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String(taken.addr.port);
    const inUse = await serve([model, "--port", port]);
    assertEquals(inUse.code, 1);
    assert(inUse.stderr.includes(`Cannot listen on 127.0.0.1:${port}: the port is in use`), inUse.stderr);
    const none = await serve([`${dir}/no-such-model`, "--port", "0"]);
    assertEquals([none.code, none.stdout], [1, ""]);
    const badPort = await serve([model, "--port", "70000"]);
    assertEquals(badPort.code, 2);
    assert(badPort.stderr.includes("--port must be at most 65535"), badPort.stderr);
  },
});

Deno.test({
  name: "rocks serve --token: /predict and /model need Authorization: Bearer, / and /healthz do not",
  sanitizeResources: false,
  async fn() {
    const server = await startServe(["--token", "s3cret", "--cache", cache, "--quiet"]);
    try {
      const { url } = server;
      const model = (headers: Record<string, string>) =>
        fetch(new URL("model", url), { headers }).then(async (r) => ({
          status: r.status,
          headers: r.headers,
          body: await r.json(),
        }));
      const missing = await model({});
      assertEquals(missing.status, 401);
      assertEquals(missing.headers.get("www-authenticate"), 'Bearer realm="rocks"');
      assertEquals((await model({ authorization: "Bearer wrong" })).status, 401);
      assertEquals((await model({ authorization: "Bearer s3cret" })).status, 200);
      const photo = await Deno.readFile(BASALT);
      assertEquals((await post(url, photo, "image/jpeg")).status, 401);
      assertEquals((await post(url, photo, "image/jpeg", { authorization: "Bearer s3cre" })).status, 401);
      assertEquals((await post(url, photo, "image/jpeg", { authorization: "bearer s3cret" })).status, 200);
      for (const path of ["", "healthz"]) {
        const r = await fetch(new URL(path, url));
        assertEquals(r.status, 200, path);
        await r.body?.cancel();
      }
    } finally {
      assertEquals((await server.stop()).code, 0);
    }
  },
});

Deno.test({
  name:
    "rocks serve --queue 1: a burst gets only 200s and 503s with Retry-After, and the server answers afterwards",
  sanitizeResources: false,
  async fn() {
    // No cache: every photo runs the trunk, and the first one waits for the worker to start.
    const server = await startServe(["--queue", "1", "--no-cache", "--quiet"]);
    try {
      const photos = Array.from(
        { length: 24 },
        (_, i) => texturePng(i % 2 ? "stripes" : "speckle", 100 + i, 96),
      );
      const answers = await Promise.all(photos.map((p) => post(server.url, p, "image/png")));
      const count = (s: number) => answers.filter((a) => a.status === s).length;
      assertEquals(count(200) + count(503), answers.length, JSON.stringify(answers.map((a) => a.status)));
      assert(count(200) >= 1 && count(503) >= 1, `${count(200)} × 200, ${count(503)} × 503`);
      for (const a of answers.filter((a) => a.status === 503)) {
        assert(Number(a.headers.get("retry-after")) >= 1, "Retry-After");
        assert(a.body.error.includes("busy"), a.body.error);
      }
      const after = await post(server.url, photos[0]!, "image/png");
      assertEquals(after.status, 200);
    } finally {
      assertEquals((await server.stop()).code, 0);
    }
  },
});

Deno.test({
  name:
    "rocks serve stops on SIGTERM: the request in flight gets its answer, new ones are refused, exit 0, uploads removed",
  sanitizeResources: false,
  async fn() {
    const tmp = `${dir}/sigterm-tmp`;
    await Deno.mkdir(tmp);
    const server = await startServe(["--no-cache"], { TMPDIR: tmp });
    // The first photo of a fresh server waits for the worker's trunk (about half a second or more): the
    // signal goes as soon as its upload is on disk, while it waits.
    const inFlight = post(server.url, texturePng("stripes", 999, 128), "image/png");
    const uploads = () => [...Deno.readDirSync(tmp)].filter((e) => e.name.startsWith("rocks-serve-"));
    for (let waited = 0; uploads().length === 0 && waited < 10_000; waited += 5) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(uploads().length, 1, "the uploads' folder exists while the photo waits");
    server.child.kill("SIGTERM");
    const answer = await inFlight;
    assertEquals(answer.status, 200, JSON.stringify(answer.body));
    assertEquals(answer.body[0].file, "upload");
    const stopped = await server.ended();
    assertEquals(stopped.code, 0, stopped.stderr);
    assert(
      /Stopping: no new connections; waiting for 1 request in flight/.test(stopped.stderr),
      stopped.stderr,
    );
    assert(stopped.stderr.includes("Stopped."), stopped.stderr);
    assertEquals(uploads(), [], "the uploads' folder is gone");
    const refused = await fetch(new URL("healthz", server.url)).then(() => "answered", () => "refused");
    assertEquals(refused, "refused");
  },
});

Deno.test({
  name:
    "rocks serve's page in Chromium: a photo uploaded through the file input shows rocks predict's class and probability",
  // Without Chromium (tests/_system.ts) this test is reported as ignored, never as passed.
  ignore: !haveChromium,
  sanitizeResources: false,
  async fn() {
    const server = await startServe(["--cache", cache, "--quiet"]);
    let facts: ServePageFacts;
    const shot = `${ARTIFACTS}/serve.png`;
    try {
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      facts = await runPageScript<ServePageFacts>("_serve_page.ts", [server.url, HIGHLAND, shot]);
    } finally {
      assertEquals((await server.stop()).code, 0);
    }
    const [expected] = await predictJson([HIGHLAND]);
    const name = HIGHLAND.split("/").pop()!;
    // Nothing but this server: the page, its API calls (and the photo's own blob: thumbnail).
    assertEquals(facts.requests.filter((u) => !u.startsWith(server.url) && !u.startsWith("blob:")), []);
    assert(facts.requests.includes(`${server.url}model`) && facts.requests.includes(`${server.url}predict`));
    assertEquals([facts.violations, facts.errors], [[], []]);
    assert(
      /^Model model: classes Basalt, Highland; test accuracy 0\.\d{3} on 31 photos/.test(facts.model),
      facts.model,
    );
    assert(facts.tabPresses !== null, "Tab reaches the file input");
    assertEquals([facts.state, facts.caption, facts.file], ["done", expected!.class!, name]);
    assertEquals(facts.data.class, expected!.class);
    assert(Math.abs(facts.data.probability - expected!.probabilities![expected!.class!]!) < 1e-6);
    assertEquals(facts.p, `p = ${expected!.probabilities![expected!.class!]!.toFixed(3)}`);
    // A bar per class, each with its words: the predicted one marked ✓, not by colour alone.
    assertEquals(
      facts.bars,
      ["Basalt", "Highland"].map((c) => ({
        label: c === expected!.class ? `${c} ✓` : c,
        value: `${(100 * expected!.probabilities![c]!).toFixed(1)} %`,
      })),
    );
    assertEquals(facts.image.alt, `Photo ${name}`);
    assert(facts.image.naturalWidth > 0, "the thumbnail shows");
    assertEquals(facts.live, { results: "polite", status: "polite" });
    assert((await Deno.stat(shot)).size > 10_000, "screenshot saved");
  },
});
