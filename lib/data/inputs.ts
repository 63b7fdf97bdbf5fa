/**
 * What to predict: photo files and folders as a user names them, expanded
 * into one photo path each, keeping a place for every input that turns out
 * missing, unreadable or empty so its prediction can say why.
 * @module
 */
import { isImageName } from "../image/read_photo.ts";

/**
 * Expands folders into the photos they hold (recursively, sorted, hidden
 * files skipped). Files named directly are kept whatever their extension.
 * A missing or unreadable input, or a folder without photos, keeps a place
 * of its own, and its prediction's `error` says why: one bad input never
 * stops the others.
 *
 * Requires --allow-read.
 * @param inputs Files and folders.
 * @returns Photo paths, in order.
 */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<number> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) if (!e.name.startsWith(".")) entries.push(e);
    } catch {
      // An unreadable folder gets an entry of its own, whose error says why.
      out.push(dir);
      return 1;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let found = 0;
    for (const e of entries) {
      const path = `${dir.replace(/\/+$/, "")}/${e.name}`;
      if (e.isDirectory) found += await walk(path);
      else if (isImageName(e.name)) {
        out.push(path);
        found++;
      }
    }
    return found;
  };
  for (const input of inputs) {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(input);
    } catch {
      // Missing, a broken link or a link loop: reported as an error in its own result.
      out.push(input);
      continue;
    }
    // A folder without photos keeps a place of its own, whose error says it is a folder.
    if (st.isDirectory) {
      if ((await walk(input)) === 0) out.push(input);
    } else out.push(input);
  }
  return out;
}
