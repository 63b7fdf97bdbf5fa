/**
 * The serve stage: a trained classifier behind HTTP. {@linkcode createHandler}
 * makes one `(request) => Promise<Response>` handler with the JSON API
 * (`POST /predict`, `GET /model`, `GET /healthz`) and the page (`GET /`);
 * `rocks serve` runs it with `Deno.serve`, and any server that speaks
 * `Request` / `Response` can mount it. Below it: reading bodies within a byte
 * limit and multipart forms (`body.ts`), the bounded photo queue with its
 * 503s and optional batching (`queue.ts`), and the page with its
 * Content-Security-Policy (`page.ts`).
 *
 * ```ts
 * import { pageCsp, readLimited } from "./mod.ts";
 * const bytes = await readLimited(new Request("http://x/", { method: "POST", body: "hi" }), 10);
 * if (bytes.length !== 2 || !pageCsp("n").includes("connect-src 'self'")) throw new Error("read within the limit");
 * ```
 * @module
 */
export {
  createHandler,
  type CreateHandlerOptions,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_QUEUE,
  type RequestLog,
  type ServeHandler,
} from "./handler.ts";
export {
  checkDeclaredLength,
  HttpError,
  IMAGE_TYPES,
  mediaType,
  readLimited,
  readUploads,
  type Upload,
  type UploadKind,
  uploadKind,
  type UploadLimits,
} from "./body.ts";
export { createPhotoQueue, type PhotoQueue, type PhotoQueueOptions, type Ticket } from "./queue.ts";
export { pageCsp, pageHtml } from "./page.ts";
