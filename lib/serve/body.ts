/**
 * What a request to `POST /predict` carries, read safely: the body is read
 * while counting its bytes and refused (413) as soon as it passes the limit,
 * never buffered whole first; then it is one photo (`image/jpeg`,
 * `image/png`) or a `multipart/form-data` form whose `file` parts are photos.
 * Every way a request can be wrong is an {@linkcode HttpError} with the
 * status it deserves, never an unexpected exception.
 * @module
 */

/** A request the server refuses: the status, the message for `{ error }`, and any headers to add. */
export class HttpError extends Error {
  /** The HTTP status (400, 401, 404, 405, 413, 415, 422, 503…). */
  readonly status: number;
  /** Headers the response carries (`Allow`, `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * Makes a refusal.
   * @param status The HTTP status.
   * @param message What was expected and what was found.
   * @param headers Headers the response carries.
   */
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** One photo of a request: the name its prediction's `file` gets, and its bytes. */
export interface Upload {
  /** The uploaded file name (multipart), or `upload` / `upload-<n>`. */
  name: string;
  /** The bytes, as sent. */
  bytes: Uint8Array;
}

/** How a request to `/predict` carries its photos. */
export type UploadKind = "image" | "multipart";

/** Media types read as one photo in the body (the bytes decide JPEG or PNG, not the type). */
export const IMAGE_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/jpg", "image/pjpeg"];

/**
 * The media type of a request, lower case, without parameters (`""` when none).
 * @param request The request.
 */
export function mediaType(request: Request): string {
  return (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * How `request` carries its photos, from its `Content-Type`.
 * @param request The request.
 * @returns `image` for one photo as the body, `multipart` for a form.
 * @throws {HttpError} 415 for any other type.
 * @example
 * ```ts
 * import { uploadKind } from "./body.ts";
 * const req = new Request("http://x/predict", { method: "POST", headers: { "content-type": "image/png" } });
 * if (uploadKind(req) !== "image") throw new Error("one photo");
 * ```
 */
export function uploadKind(request: Request): UploadKind {
  const type = mediaType(request);
  if (IMAGE_TYPES.includes(type)) return "image";
  if (type === "multipart/form-data") return "multipart";
  throw new HttpError(
    415,
    `Unsupported Content-Type "${type || "(none)"}": send the photo as image/jpeg or image/png, ` +
      `or photos as multipart/form-data parts named file`,
  );
}

/**
 * Refuses a request whose `Content-Length` already says it is too large (or
 * is not a number), before a byte of it is read.
 * @param request The request.
 * @param limit The most bytes a body may have.
 * @throws {HttpError} 413 over the limit, 400 for a length that is not a number.
 */
export function checkDeclaredLength(request: Request, limit: number): void {
  const declared = request.headers.get("content-length");
  if (declared === null) return;
  if (!/^\d+$/.test(declared.trim())) {
    throw new HttpError(400, `Content-Length must be a whole number, got "${declared}"`);
  }
  const n = Number(declared);
  if (n > limit) throw tooLarge(limit, `${n} bytes`);
}

function tooLarge(limit: number, got: string): HttpError {
  return new HttpError(
    413,
    `The request body is ${got}, over the limit of ${limit} bytes (${(limit / 1e6).toFixed(1)} MB; ` +
      `rocks serve --max-upload-mb raises it)`,
  );
}

/**
 * Reads a request's body, counting while it reads: past `limit` bytes it
 * stops reading, cancels the rest and refuses, so no body larger than the
 * limit is ever held. A body that has not arrived whole within `timeoutMs`
 * is refused too (a client that stalls must not hold its place for ever).
 * @param request The request.
 * @param limit The most bytes allowed.
 * @param timeoutMs The most milliseconds the body may take. @default Infinity
 * @returns The bytes (empty for no body).
 * @throws {HttpError} 413 past the limit; 408 past the time; 400 when the body breaks off.
 * @example
 * ```ts
 * import { readLimited } from "./body.ts";
 * const big = new Request("http://x/", { method: "POST", body: new Uint8Array(2000) });
 * const status = await readLimited(big, 1000).then(() => 200, (e) => e.status);
 * if (status !== 413) throw new Error(`expected 413, got ${status}`);
 * ```
 */
export async function readLimited(
  request: Request,
  limit: number,
  timeoutMs = Infinity,
): Promise<Uint8Array> {
  checkDeclaredLength(request, limit);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let late = false;
  // Cancelling ends the pending read (done); `late` tells that end from the body's own.
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => {
      late = true;
      reader.cancel().catch(() => {});
    }, timeoutMs)
    : undefined;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (late) {
        throw new HttpError(
          408,
          `The request body did not arrive within ${timeoutMs / 1000} s (${total} bytes came)`,
        );
      }
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit, `more than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `The request body could not be read: ${e instanceof Error ? e.message : e}`);
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/** The last part of a client's file name (no folders), at most 200 characters; empty when none. */
function baseName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? "";
  // Control characters (C0 and DEL) are dropped: the name is shown on a page and in logs.
  return [...last].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join("").slice(0, 200);
}

/** Limits of {@linkcode readUploads}. */
export interface UploadLimits {
  /** The most bytes a body may have. */
  maxBytes: number;
  /** The most photos one request may carry. */
  maxPhotos: number;
  /** The most milliseconds the body may take to arrive. @default Infinity */
  timeoutMs?: number;
}

/**
 * The photos of a `POST /predict`: the body as one photo named `upload`, or
 * each `file` part of a multipart form, named by its file name (or
 * `upload-<n>`, n counting the request's photos from 1, when it has none).
 * The body is read within `maxBytes` first ({@linkcode readLimited}); the
 * form is parsed only then.
 * @param request The request.
 * @param kind What {@linkcode uploadKind} said.
 * @param limits Bytes and photos.
 * @returns The photos, in the order sent (at least one).
 * @throws {HttpError} 413 past a limit; 408 past the time; 400 for an empty body, a malformed form or one without a `file` part.
 * @example
 * ```ts
 * import { readUploads } from "./body.ts";
 * const form = new FormData();
 * form.append("file", new File([new Uint8Array([1, 2])], "a.jpg"));
 * form.append("file", new File([new Uint8Array([3])], ""));
 * const req = new Request("http://x/predict", { method: "POST", body: form });
 * const photos = await readUploads(req, "multipart", { maxBytes: 1e6, maxPhotos: 8 });
 * if (photos.map((p) => p.name).join() !== "a.jpg,upload-2") throw new Error(photos.map((p) => p.name).join());
 * ```
 */
export async function readUploads(
  request: Request,
  kind: UploadKind,
  limits: UploadLimits,
): Promise<Upload[]> {
  const bytes = await readLimited(request, limits.maxBytes, limits.timeoutMs);
  if (bytes.length === 0) {
    throw new HttpError(400, "The request has no photo: its body is empty");
  }
  if (kind === "image") return [{ name: "upload", bytes }];
  const type = request.headers.get("content-type") ?? "";
  if (!/;\s*boundary=/i.test(type)) {
    throw new HttpError(400, "The multipart/form-data body has no boundary in its Content-Type");
  }
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": type } })
      .formData();
  } catch (e) {
    throw new HttpError(
      400,
      `The multipart/form-data body is malformed: ${e instanceof Error ? e.message : e}`,
    );
  }
  const parts = form.getAll("file");
  if (parts.length === 0) {
    throw new HttpError(400, "The form has no part named file: send each photo as a file part named file");
  }
  if (parts.length > limits.maxPhotos) {
    throw new HttpError(
      413,
      `The form has ${parts.length} photos, more than the ${limits.maxPhotos} one request may carry ` +
        `(the queue's size): send them in several requests`,
    );
  }
  const uploads: Upload[] = [];
  for (const [i, part] of parts.entries()) {
    if (typeof part === "string") {
      throw new HttpError(
        400,
        `Part ${i + 1} named file is a text field, not a file: send the photo's bytes`,
      );
    }
    uploads.push({
      name: baseName(part.name) || `upload-${i + 1}`,
      bytes: new Uint8Array(await part.arrayBuffer()),
    });
  }
  return uploads;
}
