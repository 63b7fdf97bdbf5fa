/**
 * Starts a `rocks serve` command on port 0, asks it for each endpoint, stops
 * it with SIGTERM, and prints what it saw as one JSON object on stdout. It
 * imports nothing, so it runs where there is no network at all:
 * tests/compile_test.ts runs it inside `unshare -n` (a network namespace
 * whose only interface is the loopback) to check that the compiled binary
 * serves its page and API offline.
 *
 * Usage: deno run -A tests/_serve_probe.ts [--home DIR] <photo> -- <serve command and its arguments>
 *
 * With --home, the server runs with an empty environment but HOME=DIR and PATH.
 * @module
 */

/** What the probe saw. */
export interface ProbeFacts {
  /** The URL the server printed. */
  url: string;
  /** `GET /`: status, CSP header, the HTML. */
  page: { status: number; csp: string; html: string };
  /** `GET /healthz`'s status and body. */
  health: { status: number; body: Record<string, unknown> };
  /** `GET /model`'s status and body. */
  model: { status: number; body: Record<string, unknown> };
  /** `POST /predict` with the photo as the body (image/jpeg or image/png, by its name). */
  predict: { status: number; body: unknown };
  /** `POST /predict` with random bytes. */
  bad: { status: number; body: Record<string, unknown> };
  /** The server's exit code after SIGTERM, and its stderr. */
  exit: { code: number; stderr: string };
}

/**
 * Runs the probe.
 * @param command The server command (its last arguments must leave room for `--port 0`).
 * @param photo A JPEG or PNG to send.
 * @param home An empty HOME for the server (its environment is then cleared).
 */
export async function probe(command: string[], photo: string, home?: string): Promise<ProbeFacts> {
  const [cmd, ...args] = command;
  const child = new Deno.Command(cmd!, {
    args: [...args, "--port", "0", "--quiet"],
    stdout: "piped",
    stderr: "piped",
    ...(home ? { clearEnv: true, env: { HOME: home, PATH: "/usr/bin:/bin" } } : {}),
  }).spawn();
  const dec = new TextDecoder();
  let stderr = "";
  const errDone = (async () => {
    for await (const c of child.stderr) stderr += dec.decode(c, { stream: true });
  })();
  const out = child.stdout.getReader();
  let text = "";
  let url: string | undefined;
  while (!url) {
    const { done, value } = await out.read();
    if (done) {
      await errDone;
      throw new Error(`the server ended before printing its URL: ${stderr}`);
    }
    text += dec.decode(value, { stream: true });
    url = / on (http:\/\/\S+\/) /.exec(text)?.[1];
  }
  const get = async (path: string, init?: RequestInit) => {
    const r = await fetch(new URL(path, url), init);
    const body = await r.text();
    return { status: r.status, headers: r.headers, body };
  };
  const page = await get("/");
  const health = await get("/healthz");
  const model = await get("/model");
  const bytes = await Deno.readFile(photo);
  const type = photo.toLowerCase().endsWith(".png") ? "image/png" : "image/jpeg";
  const predict = await get("/predict", { method: "POST", headers: { "content-type": type }, body: bytes });
  const bad = await get("/predict", {
    method: "POST",
    headers: { "content-type": "image/jpeg" },
    body: crypto.getRandomValues(new Uint8Array(1000)),
  });
  child.kill("SIGTERM");
  const status = await child.status;
  await out.cancel();
  await errDone;
  return {
    url,
    page: { status: page.status, csp: page.headers.get("content-security-policy") ?? "", html: page.body },
    health: { status: health.status, body: JSON.parse(health.body) },
    model: { status: model.status, body: JSON.parse(model.body) },
    predict: { status: predict.status, body: JSON.parse(predict.body) },
    bad: { status: bad.status, body: JSON.parse(bad.body) },
    exit: { code: status.code, stderr },
  };
}

if (import.meta.main) {
  const args = [...Deno.args];
  let home: string | undefined;
  if (args[0] === "--home") {
    home = args[1];
    args.splice(0, 2);
  }
  const split = args.indexOf("--");
  const photo = args[0];
  if (!photo || split !== 1 || split === args.length - 1) {
    console.error("usage: deno run -A tests/_serve_probe.ts [--home DIR] <photo> -- <serve command...>");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await probe(args.slice(split + 1), photo, home)));
}
