/**
 * `rocks --licenses`: rocks' own licence (`LICENSE`) and the licences of the
 * third-party code and weights it runs and ships (`THIRD_PARTY_LICENSES.txt`,
 * written by scripts/licenses.ts). Both files sit at the repository root; the
 * compiled binary embeds them (scripts/compile.ts `--include`s them).
 * @module
 */
import { RocksError } from "../lib/util/errors.ts";

/** The files `--licenses` prints, in order. */
export const LICENSE_FILES: readonly string[] = ["LICENSE", "THIRD_PARTY_LICENSES.txt"];

/**
 * The text of one file beside `cli.ts`: read from disk (a checkout, a
 * compiled binary), or fetched when rocks runs from a URL.
 */
async function readBeside(name: string): Promise<string> {
  const url = new URL(`../${name}`, import.meta.url);
  try {
    if (url.protocol === "file:") return await Deno.readTextFile(url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RocksError("runtime", `${name} could not be read from ${url.href}: ${why}`);
  }
}

/**
 * Everything `rocks --licenses` prints: each file under a heading.
 * @returns The text.
 */
export async function licensesText(): Promise<string> {
  const parts: string[] = [];
  for (const name of LICENSE_FILES) {
    parts.push(`${"=".repeat(100)}\n${name}\n${"=".repeat(100)}\n\n${(await readBeside(name)).trimEnd()}\n`);
  }
  return parts.join("\n");
}
