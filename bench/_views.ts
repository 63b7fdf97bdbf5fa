/**
 * Ready-made 224×224 views for the trunk rows: the centre view of each Learn
 * photo (as `loadView` cuts it), saved as a PNG so that the pool's workers
 * read and decode it in about a millisecond and the time left is the trunk's.
 * @module
 */
import { loadView } from "../lib/image/load_view.ts";
import { encodePng } from "../lib/image/png_encode.ts";
import { VIEW_SIZE } from "../lib/image/view.ts";

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
    await Deno.writeFile(file, encodePng(rgb, VIEW_SIZE, VIEW_SIZE));
    files.push(file);
  }
  return files;
}
