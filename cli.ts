/**
 * `rocks`: the command line over `mod.ts`. It parses arguments, runs the
 * command they name (`cli/registry.ts` lists them; one module each under
 * `cli/commands/`), prints, and turns the library's {@linkcode RocksError}
 * into an exit code (0 success, 1 failure, 2 usage error). Heavy modules load
 * lazily, inside a command's `run`, so `--help` and `--version` answer at once.
 * @module
 */
import { RocksError } from "./lib/util/errors.ts";
import type { Io } from "./cli/command.ts";
import { dispatch } from "./cli/registry.ts";

export type { Io } from "./cli/command.ts";
export { COMMAND_HELP, HELP } from "./cli/registry.ts";
export { progressLine } from "./cli/format.ts";

/** Exit code of a run stopped by a signal: 128 + its number (SIGINT 2, SIGTERM 15). */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs the CLI.
 * @param args The arguments (without the program name).
 * @param io Where to write.
 * @returns The exit code.
 */
export async function main(args: string[], io: Io): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (e) {
    if (e instanceof RocksError) {
      io.err(`error: ${e.message}`);
      if (e.kind === "interrupted") return SIGNAL_EXIT[String(io.signal?.reason)] ?? 130;
      return e.kind === "usage" ? 2 : 1;
    }
    throw e;
  }
}

if (import.meta.main) {
  const enc = new TextEncoder();
  const isTty = Deno.stderr.isTerminal();
  let columns: number | undefined;
  try {
    columns = isTty ? Deno.consoleSize().columns : undefined;
  } catch {
    columns = undefined; // no size to be had: the bar keeps its default width
  }
  // A reader that went away (`rocks predict … | head -1`) must not stop the run.
  const put = (stream: typeof Deno.stdout, text: string) => {
    try {
      stream.writeSync(enc.encode(text));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    }
  };
  // Ctrl-C or SIGTERM: train stops at its next step (previous model kept, cache
  // complete); a second signal, or any other command, ends at once.
  const stop = new AbortController();
  let graceful = false;
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(name, () => {
      if (!graceful || stop.signal.aborted) Deno.exit(SIGNAL_EXIT[name]);
      stop.abort(name);
      put(Deno.stderr, `\n${name}: stopping after the current step (again to quit at once)\n`);
    });
  }
  const code = await main(Deno.args, {
    out: (t) => put(Deno.stdout, `${t}\n`),
    err: (t) => put(Deno.stderr, `${t}\n`),
    write: (t) => put(Deno.stderr, t),
    isTty,
    ...(columns ? { columns } : {}),
    signal: stop.signal,
    watchesSignal: (yes) => (graceful = yes),
  });
  Deno.exit(code);
}
