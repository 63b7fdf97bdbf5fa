/**
 * Where rocks keeps files of its own on this computer, by each system's
 * convention: the embedding cache and downloaded weights go under the
 * user's cache folder.
 *
 * | system  | cache folder                                              |
 * | ------- | --------------------------------------------------------- |
 * | Linux   | `$XDG_CACHE_HOME/rocks`, else `~/.cache/rocks`            |
 * | macOS   | `~/Library/Caches/rocks` (`$XDG_CACHE_HOME/rocks` if set) |
 * | Windows | `%LOCALAPPDATA%\rocks\cache`                              |
 * @module
 */
import { RocksError } from "./errors.ts";

/** The facts {@linkcode userCacheDir} decides by (the running system's, unless a test gives others). */
export interface SystemFacts {
  /** `Deno.build.os`. */
  os: string;
  /** Reads an environment variable. */
  env: (name: string) => string | undefined;
}

const here = (): SystemFacts => ({ os: Deno.build.os, env: (name) => Deno.env.get(name) });

/**
 * The folder rocks caches into (embeddings, downloaded weights), by the
 * system's convention.
 *
 * Requires --allow-env.
 * @param system The system and its environment; the running one by default.
 * @returns The folder (not created).
 * @throws {RocksError} (kind `usage`) when the environment names no home or cache folder.
 * @example
 * ```ts
 * import { userCacheDir } from "./dirs.ts";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * if (userCacheDir({ os: "linux", env: env({ HOME: "/home/ada" }) }) !== "/home/ada/.cache/rocks") throw new Error("XDG");
 * if (userCacheDir({ os: "darwin", env: env({ HOME: "/Users/ada" }) }) !== "/Users/ada/Library/Caches/rocks") throw new Error("macOS");
 * if (userCacheDir({ os: "windows", env: env({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" }) }) !== "C:\\Users\\ada\\AppData\\Local\\rocks\\cache") throw new Error("Windows");
 * ```
 */
export function userCacheDir(system: SystemFacts = here()): string {
  const { os, env } = system;
  if (os === "windows") {
    const local = env("LOCALAPPDATA");
    if (local) return `${local}\\rocks\\cache`;
    const profile = env("USERPROFILE");
    if (profile) return `${profile}\\AppData\\Local\\rocks\\cache`;
    throw new RocksError(
      "usage",
      "No cache folder: set LOCALAPPDATA (or USERPROFILE), pass --cache DIR, or use --no-cache",
    );
  }
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/rocks`;
  const home = env("HOME");
  if (home) return os === "darwin" ? `${home}/Library/Caches/rocks` : `${home}/.cache/rocks`;
  throw new RocksError(
    "usage",
    "No cache folder: set XDG_CACHE_HOME or HOME, pass --cache DIR, or use --no-cache",
  );
}
