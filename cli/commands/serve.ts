/**
 * `rocks serve <model-dir>`: the classifier behind HTTP, the JSON API and the
 * page (`createHandler` of `mod.ts`, run by `Deno.serve`). Ctrl-C or SIGTERM
 * stops it cleanly: no new connections, the requests in flight answered (up
 * to {@linkcode STOP_WAIT_MS}), the uploads' folder removed, exit 0.
 * @module
 */
import { RocksError } from "../../lib/util/errors.ts";
import { defineCommand, described, num, valued } from "../command.ts";
import { loadModelFor, openEmbedderFor } from "../embedder.ts";
import { EMBEDDER_OPTIONS, quiet } from "../options.ts";

/** How long a stop waits for the requests in flight. */
export const STOP_WAIT_MS = 10_000;

/** The port when --port is not given. */
export const DEFAULT_PORT = 8080;

/** Whether `host` names this machine only (no other machine can connect). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `http://host:port/`, with an IPv6 address in brackets. */
export function serverUrl(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

/** The last part of a folder's path (`rock-model` for `./rock-model/`). */
function folderName(dir: string): string {
  const parts = dir.replace(/\/+$/, "").split("/");
  const last = parts.at(-1) ?? "";
  return last === "" || last === "." || last === ".." ? "model" : last;
}

/** `rocks serve`. */
export const serve = defineCommand({
  name: "serve",
  summary: "serve a model: a JSON API and a page in the browser",
  usage: "serve <model-dir>",
  description: `Serves a saved classifier over HTTP until Ctrl-C or SIGTERM, printing its URL:
  POST /predict   the photo as the body (image/jpeg, image/png), or multipart/form-data
                  with file parts: predict --json's entries, one per photo, in order
  GET  /model     the model's facts; GET /healthz: ready or not
  GET  /          a page to pick or drop photos and see each one's class
Errors are JSON { error } (400, 401, 404, 405, 408, 413, 415, 422, 503 with Retry-After).
It listens on 127.0.0.1 (this machine only) unless --host says otherwise; the API
has no authentication unless --token is given. Photos are embedded on the worker
pool, behind the embedding cache unless --no-cache. Stopping answers the requests
in flight (up to 10 s) and exits 0. The README's "Serving a model" has the details.`,
  options: [
    valued("port", "N", `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one, printed)`),
    valued("host", "ADDR", "address to listen on (default 127.0.0.1: this machine only)"),
    valued("token", "T", "require Authorization: Bearer T on /predict and /model"),
    valued("max-upload-mb", "MB", "largest request body, in MB of 10^6 bytes (default 25)"),
    valued("queue", "N", "photos waiting or being classified at most; more get 503 (default 32)"),
    ...EMBEDDER_OPTIONS,
    described(quiet, { help: "no line per request on stderr" }),
  ] as const,
  positionals: { min: 1, max: 1, refusal: () => `serve takes one model folder: see rocks serve --help` },
  watchesSignal: true,
  async run([modelDir], values, io) {
    const port = num(values, "port", { integer: true, min: 0, max: 65535 }) ?? DEFAULT_PORT;
    const host = values.host ?? "127.0.0.1";
    const maxUploadMb = num(values, "max-upload-mb", { min: 0.001, max: 4096 }) ?? 25;
    const queue = num(values, "queue", { integer: true, min: 1, max: 100_000 }) ?? 32;
    const token = values.token;
    const rocks = await import("../../mod.ts");
    const embedder = await openEmbedderFor(values, io, undefined, modelDir);
    try {
      const classifier = await loadModelFor(embedder, values, modelDir!);
      try {
        const handler = rocks.createHandler({
          embedder,
          classifier,
          ...(token !== undefined ? { token } : {}),
          maxUploadBytes: Math.round(maxUploadMb * 1e6),
          queue,
          // A tuning switch (bench/README.md, "Serving"): photos of requests that wait go to the pool together.
          batch: Deno.env.get("ROCKS_SERVE_BATCH") === "1",
          name: folderName(modelDir!),
          ...(values.quiet ? {} : {
            onRequest: (r) =>
              io.err(
                `${new Date().toISOString()} ${r.method} ${r.path} ${r.status}${
                  r.photos ? ` ${r.photos} photo${r.photos === 1 ? "" : "s"}` : ""
                } ${Math.round(r.ms)} ms`,
              ),
          }),
          onError: (e) => io.err(`error: unexpected: ${e instanceof Error ? e.stack ?? e.message : e}`),
        });
        let server: Deno.HttpServer<Deno.NetAddr>;
        try {
          server = Deno.serve({ hostname: host, port, onListen: () => {} }, handler);
        } catch (e) {
          const why = e instanceof Deno.errors.AddrInUse
            ? "the port is in use (--port N picks another, --port 0 a free one)"
            : e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable
            ? "no permission to listen (run it with deno run --allow-net; deno task rocks and the compiled rocks have it)"
            : e instanceof Error
            ? e.message
            : String(e);
          throw new RocksError("runtime", `Cannot listen on ${host}:${port}: ${why}`);
        }
        const url = serverUrl(host, server.addr.port);
        const classes = classifier.meta.classes.join(", ");
        const cache = embedder.cache ? `cache ${embedder.cache.dir}` : "no cache";
        io.out(
          `Serving ${modelDir} on ${url} (classes ${classes}; ${embedder.workers} workers on ${embedder.backend.name}; ` +
            `${cache}; queue ${queue} photos; uploads up to ${maxUploadMb} MB${
              token !== undefined ? "; token required" : ""
            })`,
        );
        if (!isLoopback(host)) {
          io.err(
            token === undefined
              ? `warning: listening on ${host}: other machines can reach this server, and its API has no ` +
                `authentication (--token T requires one; the traffic is plain HTTP)`
              : `warning: listening on ${host}: other machines can reach this server; /predict and /model ` +
                `require the token, and the traffic is plain HTTP (put TLS in front of it)`,
          );
        }
        // Run until Ctrl-C / SIGTERM (cli.ts aborts io.signal at the first one; a second quits at once).
        await new Promise<void>((resolve) => {
          server.finished.then(() => resolve(), () => resolve());
          if (io.signal?.aborted) return resolve();
          io.signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        io.err(
          `Stopping: no new connections; waiting for ${handler.active} request${
            handler.active === 1 ? "" : "s"
          } in flight (up to ${STOP_WAIT_MS / 1000} s)`,
        );
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finished = await Promise.race([
          server.shutdown().then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WAIT_MS))),
        ]);
        clearTimeout(timer);
        await handler.close();
        if (!finished) {
          io.err(
            `warning: ${handler.active} requests were still running after ${
              STOP_WAIT_MS / 1000
            } s: stopped without them`,
          );
        } else io.err("Stopped.");
        return 0;
      } finally {
        classifier.dispose();
      }
    } finally {
      embedder.close();
    }
  },
});
