/**
 * Lines on stdout and stderr with at most one progress bar under them: the
 * bar is redrawn below each line printed while it runs, and is drawn only
 * where it is wanted.
 * @module
 */
import type { Io } from "./command.ts";
import type { ScreenValues } from "./options.ts";
import { ProgressBar } from "./progress_bar.ts";

/** Lines on stdout and stderr, printed above the progress bar when one is drawn. */
export interface Screen {
  /** A line on stdout. */
  out: (text: string) => void;
  /** A line on stderr. */
  err: (text: string) => void;
  /** Starts a bar (ending any previous one); it is drawn only where bars are wanted. */
  start: (label: string, unit?: string) => void;
  /** Moves the bar on. */
  update: (done: number, total: number) => void;
  /** Leaves the bar's final state on its own line. */
  finish: () => void;
}

/**
 * The screen of a command. The bar shows on a terminal unless --quiet,
 * --json or --csv; --progress forces it (still on stderr, so stdout stays
 * clean). `rocks` refuses --progress with --quiet before a command runs.
 * @param io Where to write.
 * @param values The command's options.
 */
export function screen(io: Io, values: ScreenValues): Screen {
  const wanted = values.progress === true ||
    (io.isTty && !values.quiet && !values.json && !values.csv);
  let bar: ProgressBar | undefined;
  const above = (print: () => void) => (bar ? bar.above(print) : print());
  return {
    out: (t) => above(() => io.out(t)),
    err: (t) => above(() => io.err(t)),
    start(label, unit) {
      bar?.finish();
      bar = wanted
        ? new ProgressBar({
          write: io.write,
          label,
          ...(unit ? { unit } : {}),
          ...(io.columns ? { columns: io.columns } : {}),
        })
        : undefined;
    },
    update: (done, total) => bar?.update(done, total),
    finish() {
      bar?.finish();
      bar = undefined;
    },
  };
}
