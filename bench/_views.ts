/**
 * Ready-made 224×224 views for the trunk rows: the centre view of each Learn
 * photo (as `loadView` cuts it), saved as a PNG so that the pool's workers
 * read and decode it in about a millisecond and the time left is the trunk's.
 * @module
 */
import { loadView } from "../lib/embed.ts";
import { crc32 } from "../lib/embed_cache.ts";
import { VIEW_SIZE } from "../lib/view.ts";

async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes RGB pixels as an 8-bit PNG (filter 0 on every row).
 * @param rgb `width × height × 3` bytes.
 * @param width Pixels per row.
 * @param height Rows.
 * @returns The PNG file's bytes.
 */
export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, filter set 0, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", await zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Photo files (`.jpg`, `.jpeg`, `.png`) under `dir`, sorted. Requires --allow-read. */
export async function listPhotos(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && /\.(jpe?g|png)$/i.test(e.name)) found.push(p);
    }
  };
  await walk(dir);
  return found.sort();
}

/**
 * Writes `count` 224×224 PNG views into `outDir`: centre views of the photos
 * in `dataDir` (spread over all of them), or seeded noise when there are none.
 *
 * Requires --allow-read and --allow-write.
 * @param dataDir Folder of photos (searched recursively); may be missing.
 * @param outDir Folder to write `view-NNN.png` into.
 * @param count How many views.
 * @returns The files written.
 */
export async function writeViews(dataDir: string, outDir: string, count: number): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  let photos: string[] = [];
  try {
    photos = await listPhotos(dataDir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const files: string[] = [];
  let seed = 1;
  for (let i = 0; i < count; i++) {
    let rgb: Uint8Array;
    if (photos.length > 0) {
      rgb = await loadView(photos[Math.floor(i * photos.length / count)]!, "centre");
    } else {
      rgb = new Uint8Array(VIEW_SIZE * VIEW_SIZE * 3);
      for (let k = 0; k < rgb.length; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        rgb[k] = seed >>> 24;
      }
    }
    const file = `${outDir}/view-${String(i).padStart(3, "0")}.png`;
    await Deno.writeFile(file, await encodePng(rgb, VIEW_SIZE, VIEW_SIZE));
    files.push(file);
  }
  return files;
}
