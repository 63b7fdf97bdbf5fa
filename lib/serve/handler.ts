/**
 * The HTTP face of a trained classifier: one request handler, `(request) =>
 * Promise<Response>`, that `rocks serve` runs with `Deno.serve` and that a
 * user can mount in their own server (Deno.serve, Hono, Fresh, anything that
 * speaks `Request` / `Response`).
 *
 * | route            | answers                                                                         |
 * | ---------------- | ------------------------------------------------------------------------------- |
 * | `POST /predict`  | `predict --json`'s entries, one per photo, in order (`{ file, class, probabilities }` or `{ file, error }`) |
 * | `GET /model`     | the model's facts: classes, recipe, metrics, trunk, backend, limits             |
 * | `GET /healthz`   | `{ ready, ... }`, 200 when ready, 503 when stopping                              |
 * | `GET /`          | the page (see `page.ts`)                                                        |
 *
 * Every refusal is JSON `{ error }` with its status: 400 a malformed request,
 * 401 a missing or wrong token, 404 / 405, 408 a body that stalls, 413 a body over the limit (counted
 * while it is read) or more photos than the queue holds, 415 another content
 * type, 422 no photo of the request could be read (the reason is `predict`'s),
 * 503 the queue is full (with `Retry-After`) or the server is stopping.
 *
 * Photos sent as bytes are written to a private temporary folder (mode 0700,
 * one sub-folder per request, removed when it is answered, the whole folder
 * by `close()`) and go through {@linkcode predict} like files on the command
 * line, on the embedder's pool and behind its cache: the reasons given for
 * unreadable photos are exactly `predict`'s, with the uploaded file's name in
 * place of the temporary path.
 * @module
 */
import type { Embedder } from "../embed/embedder.ts";
import type { Classifier } from "../model/classifier.ts";
import { predict, type Prediction } from "../score/predict.ts";
import { RocksError } from "../util/errors.ts";
import { VERSION } from "../util/version.ts";
import { checkDeclaredLength, HttpError, readUploads, type Upload, uploadKind } from "./body.ts";
import { pageCsp, pageHtml } from "./page.ts";
import { createPhotoQueue, type Ticket } from "./queue.ts";

/** The largest request body by default: 25 MB (25,000,000 bytes). */
export const DEFAULT_MAX_UPLOAD_BYTES = 25_000_000;
/** Photos waiting or being classified at most, by default. */
export const DEFAULT_QUEUE = 32;

/** One answered request, for a log line. */
export interface RequestLog {
  /** `GET`, `POST`… */
  method: string;
  /** The path asked for. */
  path: string;
  /** The status answered. */
  status: number;
  /** Photos the request carried (0 for all but `/predict`). */
  photos: number;
  /** Milliseconds from the request to its response. */
  ms: number;
}

/** Options of {@linkcode createHandler}. */
export interface CreateHandlerOptions {
  /** What embeds the photos (from `openEmbedder`): its pool, its cache. */
  embedder: Pick<Embedder, "embed" | "backend" | "workers" | "trunk"> & { readonly started?: boolean };
  /** The trained classifier (from `loadClassifier` or `trainFolder`). */
  classifier: Classifier;
  /** When set, `/predict` and `/model` require `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** The largest request body, in bytes. @default 25_000_000 */
  maxUploadBytes?: number;
  /** Photos waiting or being classified at most; beyond it, 503. Also the most photos one request may carry. @default 32 */
  queue?: number;
  /** The most milliseconds a request's body may take to arrive (then 408). @default 60_000 */
  bodyTimeoutMs?: number;
  /** Run the photos of requests that wait together, in one call. @default false */
  batch?: boolean;
  /** The model's name, shown by `GET /model` and the page (e.g. its folder's name). */
  name?: string;
  /** A path prefix the handler is mounted under (`/rocks`): routes are matched after it. @default "" */
  basePath?: string;
  /** Where the uploads' temporary folder is made. @default the system's temporary folder */
  tempDir?: string;
  /** Called after each request is answered. */
  onRequest?: (entry: RequestLog) => void;
  /** Called with an unexpected error (answered 500). */
  onError?: (error: unknown) => void;
}

/** A request handler over a classifier; `close()` it when its server has stopped. */
export interface ServeHandler {
  /** Answers one request. */
  (request: Request): Promise<Response>;
  /** Photos admitted and not yet answered. */
  readonly pending: number;
  /** Requests being answered. */
  readonly active: number;
  /** Refuses further predictions (503) and removes the uploads' temporary folder. */
  close(): Promise<void>;
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** Compares two strings in time that depends on their lengths only. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function nonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** A prediction of a temporary file, named as the client named the photo. */
function named(p: Prediction, path: string, name: string): Prediction {
  if ("error" in p) return { file: name, error: p.error.replaceAll(path, name) };
  return { file: name, class: p.class, probabilities: p.probabilities };
}

/**
 * Makes the request handler of a classifier: the JSON API (`POST /predict`,
 * `GET /model`, `GET /healthz`) and the page (`GET /`). Mount it in any
 * server that speaks `Request` / `Response`; `rocks serve` is
 * `Deno.serve(createHandler(...))` with signal handling around it.
 *
 * Requires --allow-read and --allow-write (the uploads' temporary folder), and
 * whatever the embedder needs.
 * @param options The embedder, the classifier, the limits, the token.
 * @returns The handler; `close()` it once its server has stopped.
 * @example
 * ```ts
 * import { createHandler, openEmbedder, trainFolder } from "../../mod.ts";
 * const embedder = await openEmbedder({ workers: 1, cache: ".rocks-cache" });
 * const data = "../shared/data/space-rocks";
 * // 64 px views and one epoch keep this example quick; the presets train at 224 or 448 px.
 * const { classifier } = await trainFolder(embedder, data, { preset: "course", epochs: 1, viewSize: 64 });
 * const handler = createHandler({ embedder, classifier });
 * // In a server: Deno.serve({ hostname: "127.0.0.1", port: 8080 }, handler);
 * const health = await handler(new Request("http://x/healthz"));
 * if (health.status !== 200 || (await health.json()).ready !== true) throw new Error("ready");
 * const photo = await Deno.readFile(`${data}/Basalt/Basalt_Cristobalite_s69-45539.jpg`);
 * const answer = await handler(
 *   new Request("http://x/predict", { method: "POST", headers: { "content-type": "image/jpeg" }, body: photo }),
 * );
 * const [p] = await answer.json();
 * if (answer.status !== 200 || p.file !== "upload" || !(p.class in p.probabilities)) throw new Error("a class");
 * await handler.close();
 * classifier.dispose();
 * embedder.close();
 * ```
 */
export function createHandler(options: CreateHandlerOptions): ServeHandler {
  const { embedder, classifier } = options;
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (!(maxUploadBytes >= 1)) {
    throw new RocksError("usage", `maxUploadBytes must be ≥ 1, got ${maxUploadBytes}`);
  }
  const limit = options.queue ?? DEFAULT_QUEUE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RocksError("usage", `The queue must be a whole number ≥ 1, got ${limit}`);
  }
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  const queue = createPhotoQueue<string, Prediction>({
    limit,
    run: (paths) => predict(embedder, classifier, paths),
    batch: options.batch === true,
    calls: Math.max(2, embedder.workers),
  });
  let closing = false;
  let active = 0;
  let root: Promise<string> | undefined;
  let nextDir = 0;

  /** A fresh private folder for one request's photos, inside the handler's own. */
  const requestDir = async (): Promise<string> => {
    for (let attempt = 0;; attempt++) {
      // Deno makes temporary folders with mode 0700: only this user can read the photos.
      root ??= Deno.makeTempDir({
        prefix: "rocks-serve-",
        ...(options.tempDir ? { dir: options.tempDir } : {}),
      });
      const dir = `${await root}/${++nextDir}`;
      try {
        await Deno.mkdir(dir, { mode: 0o700 });
        return dir;
      } catch (e) {
        // The folder was removed under us (a cleaner of /tmp): make a new one, once.
        if (!(e instanceof Deno.errors.NotFound) || attempt > 0) throw e;
        root = undefined;
      }
    }
  };

  const busy = () => {
    const wait = queue.retryAfter();
    return new HttpError(
      503,
      `The server is busy: ${queue.pending} photos are waiting or being classified, as many as its queue ` +
        `holds (${limit}); retry in ${wait} s`,
      { "retry-after": String(wait) },
    );
  };

  const authorize = (request: Request) => {
    if (options.token === undefined) return;
    const given = request.headers.get("authorization") ?? "";
    const match = /^bearer\s+(.+)$/i.exec(given.trim());
    if (!match || !sameSecret(match[1]!, options.token)) {
      throw new HttpError(
        401,
        given
          ? "The token does not match: send Authorization: Bearer <the token rocks serve was given>"
          : "This server requires a token: send Authorization: Bearer <token>",
        { "www-authenticate": 'Bearer realm="rocks"' },
      );
    }
  };

  const classify = async (uploads: Upload[], ticket: Ticket<string, Prediction>): Promise<Prediction[]> => {
    const dir = await requestDir();
    try {
      const paths = uploads.map((_, i) => `${dir}/${i + 1}`);
      await Promise.all(uploads.map((u, i) => Deno.writeFile(paths[i]!, u.bytes, { mode: 0o600 })));
      const names = uploads.map((u) => u.name);
      uploads.length = 0; // the bytes are on disk now: let them go
      const predictions = await ticket.run(paths);
      return predictions.map((p, i) => named(p, paths[i]!, names[i]!));
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };

  const predictRoute = async (request: Request, count: (n: number) => void): Promise<Response> => {
    authorize(request);
    if (closing) throw new HttpError(503, "The server is stopping", { "retry-after": "5" });
    const kind = uploadKind(request);
    checkDeclaredLength(request, maxUploadBytes);
    // One photo in the body takes its place before the body is read; a form, once its photos are counted.
    let ticket = kind === "image" ? queue.admit(1) : undefined;
    if (kind === "image" ? !ticket : queue.pending >= limit) throw busy();
    try {
      const uploads = await readUploads(request, kind, {
        maxBytes: maxUploadBytes,
        maxPhotos: limit,
        timeoutMs: options.bodyTimeoutMs ?? 60_000,
      });
      count(uploads.length);
      ticket ??= queue.admit(uploads.length);
      if (!ticket) throw busy();
      const entries = await classify(uploads, ticket);
      if (entries.some((e) => !("error" in e))) return json(200, entries);
      const reasons = entries.map((e) => ("error" in e ? e.error : ""));
      const error = reasons.length === 1
        ? reasons[0]!
        : `None of the ${reasons.length} photos could be read: ${reasons.join("; ")}`;
      return json(422, { error, predictions: entries });
    } finally {
      ticket?.release();
    }
  };

  const modelFacts = () => {
    const m = classifier.meta;
    const t = m.training;
    return {
      ...(options.name !== undefined ? { name: options.name } : {}),
      classes: m.classes,
      preset: t.preset ?? "custom",
      viewSize: m.preprocessing.size,
      l2normalize: m.preprocessing.l2normalize === true,
      recipe: {
        epochs: t.epochs,
        batchSize: t.batchSize,
        lr: t.lr,
        testFraction: t.testFraction,
        split: t.split,
        seed: t.seed,
        augment: t.augment,
        trainCount: t.trainCount,
        testCount: t.testCount,
      },
      metrics: m.test ? { ...m.test, loss: m.testLoss } : null,
      trunk: { id: m.trunk.id, sha256: m.trunk.sha256, precision: m.trunk.precision ?? "fp32" },
      backend: embedder.backend.name,
      workers: embedder.workers,
      created: m.created,
      version: VERSION,
      limits: { maxUploadBytes, queue: limit },
    };
  };

  const allow = (request: Request, methods: string[]) => {
    if (!methods.includes(request.method)) {
      throw new HttpError(405, `${request.method} is not allowed here: use ${methods.join(" or ")}`, {
        allow: methods.join(", "),
      });
    }
  };

  const route = (
    request: Request,
    count: (n: number) => void,
    path: string,
  ): Promise<Response> | Response => {
    switch (path) {
      case "/predict":
        allow(request, ["POST"]);
        return predictRoute(request, count);
      case "/model":
        allow(request, ["GET", "HEAD"]);
        authorize(request);
        return json(200, modelFacts());
      case "/healthz":
        allow(request, ["GET", "HEAD"]);
        return closing
          ? json(503, { ready: false, error: "The server is stopping" }, { "retry-after": "5" })
          : json(200, {
            ready: true,
            trunkLoaded: embedder.started ?? true,
            pending: queue.pending,
            queue: limit,
            version: VERSION,
          });
      case "/": {
        allow(request, ["GET", "HEAD"]);
        const n = nonce();
        return new Response(pageHtml(n), {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": pageCsp(n),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
          },
        });
      }
      default:
        throw new HttpError(
          404,
          `No such page: ${request.method} ${path} (the API is POST /predict, GET /model, GET /healthz; the page is GET /)`,
        );
    }
  };

  const handler = async (request: Request): Promise<Response> => {
    const started = performance.now();
    active++;
    let photos = 0;
    let status = 500;
    let path = "/";
    try {
      path = new URL(request.url).pathname;
      const local = basePath === ""
        ? path
        : path === basePath
        ? "/"
        : path.startsWith(`${basePath}/`)
        ? path.slice(basePath.length)
        : undefined;
      if (local === undefined) throw new HttpError(404, `No such page: ${request.method} ${path}`);
      const response = await route(request, (n) => (photos = n), local);
      status = response.status;
      return response;
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        return json(e.status, { error: e.message }, { ...e.headers });
      }
      options.onError?.(e);
      status = 500;
      // A RocksError is meant for people (a pool that cannot start, say); anything else is a bug.
      const message = e instanceof RocksError ? e.message : "Internal error (the server's log has it)";
      return json(500, { error: message });
    } finally {
      active--;
      options.onRequest?.({ method: request.method, path, status, photos, ms: performance.now() - started });
    }
  };

  return Object.defineProperties(handler, {
    pending: { get: () => queue.pending, enumerable: true },
    active: { get: () => active, enumerable: true },
    close: {
      value: async () => {
        closing = true;
        const dir = root;
        root = undefined;
        if (dir) await Deno.remove(await dir, { recursive: true }).catch(() => {});
      },
      enumerable: true,
    },
  }) as ServeHandler;
}
