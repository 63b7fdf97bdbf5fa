/**
 * A terminal progress bar: {@linkcode formatBar} draws one line (done /
 * total, rate, time left) as pure text; {@linkcode ProgressBar} redraws it in
 * place with `\r`, at most every `minIntervalMs`, and lets full lines be
 * printed above it. The bar never decides whether it should be shown: the
 * caller does (a terminal, no `--quiet`, no `--json`, or `--progress`).
 * @module
 */

/** Options for {@linkcode formatBar}. */
export interface BarFormatOptions {
  /** Text before the bar. @default "" */
  label?: string;
  /** Cells of the bar itself. @default 24 */
  width?: number;
  /** What is counted, for the rate. @default "photos" */
  unit?: string;
  /** The line is kept shorter than this (the bar shrinks first, to 5 cells). @default Infinity */
  columns?: number;
}

/** Filled and empty cells: distinct shapes, so the bar reads without colour. */
const FULL = "█";
const EMPTY = "░";

/**
 * A duration as `m:ss`, or `h:mm:ss` from an hour up.
 * @param seconds Seconds, rounded to the nearest second.
 * @returns The text; `-:--` for a duration that is not finite.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress_bar.ts";
 * if (formatDuration(75) !== "1:15") throw new Error("wrong");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * One line of a progress bar: label, bar, `done/total`, rate and time left
 * (or the time taken once `done` reaches `total`).
 *
 * `label [██████░░░░░░░░░░░░░░░░░░] 6/24  2.0 photos/s  0:09 left`
 * @param done Items done so far (clamped to 0…total).
 * @param total Items in all.
 * @param elapsedMs Milliseconds since the work started.
 * @param options Label, width, unit, line length.
 * @returns The line, without `\r` or newline.
 *
 * @example
 * ```ts
 * import { formatBar } from "./progress_bar.ts";
 * const line = formatBar(6, 24, 3000, { label: "embedding", width: 8 });
 * if (line !== "embedding [██░░░░░░] 6/24  2.0 photos/s  0:09 left") throw new Error(line);
 * ```
 */
export function formatBar(
  done: number,
  total: number,
  elapsedMs: number,
  options: BarFormatOptions = {},
): string {
  const unit = options.unit ?? "photos";
  const d = Math.max(0, Math.min(done, total));
  const fraction = total > 0 ? d / total : 1;
  const seconds = Math.max(0, elapsedMs) / 1000;
  const rate = seconds > 0 && d > 0 ? d / seconds : NaN;
  const rateText = Number.isFinite(rate)
    ? `${rate < 10 ? rate.toFixed(1) : Math.round(rate)} ${unit}/s`
    : `- ${unit}/s`;
  const timeText = d >= total
    ? `done in ${formatDuration(seconds)}`
    : `${formatDuration((total - d) / rate)} left`;
  const tail = `] ${d}/${total}  ${rateText}  ${timeText}`;
  const head = options.label ? `${options.label} [` : "[";
  let width = options.width ?? 24;
  const columns = options.columns ?? Infinity;
  if (head.length + width + tail.length >= columns) {
    width = Math.max(5, columns - 1 - head.length - tail.length);
  }
  const filled = Math.floor(fraction * width);
  return `${head}${FULL.repeat(filled)}${EMPTY.repeat(width - filled)}${tail}`;
}

/** Options for {@linkcode ProgressBar}. */
export interface ProgressBarOptions extends BarFormatOptions {
  /** Writes raw text (no newline added), e.g. to stderr: `\r` + the bar, blanks, or the final `\n`. */
  write: (text: string) => void;
  /** The clock, in milliseconds. @default performance.now */
  now?: () => number;
  /** Least time between two redraws; the first and the last are always drawn. @default 100 */
  minIntervalMs?: number;
}

/**
 * A bar redrawn in place on one line. `update()` as work gets done,
 * `above()` to print full lines without tearing the bar, `finish()` to leave
 * the final state on its own line.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./progress_bar.ts";
 * let out = "";
 * const bar = new ProgressBar({ write: (t) => (out += t), width: 4, now: () => 0 });
 * bar.update(2, 2);
 * bar.finish();
 * if (!out.endsWith("2/2  - photos/s  done in 0:00\n")) throw new Error(out);
 * ```
 */
export class ProgressBar {
  #options: ProgressBarOptions;
  #now: () => number;
  #started: number;
  #lastDraw = -Infinity;
  #shown = 0;
  #done = 0;
  #total = 0;
  #finished = false;
  #drawn = "";

  /** @param options Where to write, what to show. */
  constructor(options: ProgressBarOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  /** Items done so far. */
  get done(): number {
    return this.#done;
  }

  /** Items in all. */
  get total(): number {
    return this.#total;
  }

  /**
   * Records progress and redraws when enough time has passed (or the work is complete).
   * @param done Items done so far.
   * @param total Items in all.
   */
  update(done: number, total: number): void {
    if (this.#finished) return;
    this.#done = done;
    this.#total = total;
    const t = this.#now();
    const minInterval = this.#options.minIntervalMs ?? 100;
    const changed = this.#drawn !== `${done}/${total}`;
    if (this.#shown === 0 || t - this.#lastDraw >= minInterval || (done >= total && changed)) this.#draw(t);
  }

  /**
   * Prints full lines above the bar: clears it, runs `print`, redraws it.
   * @param print Writes the lines (to any stream sharing the terminal).
   */
  above(print: () => void): void {
    if (this.#finished || this.#shown === 0) {
      print();
      return;
    }
    this.#clear();
    print();
    this.#draw(this.#now());
  }

  /** Draws the final state and ends the line; later calls do nothing. */
  finish(): void {
    if (this.#finished) return;
    if (this.#shown > 0 && this.#drawn === `${this.#done}/${this.#total}`) this.#options.write("\n");
    else if (this.#total > 0 || this.#shown > 0) this.#draw(this.#now(), "\n");
    this.#finished = true;
  }

  #draw(t: number, end = ""): void {
    const line = formatBar(this.#done, this.#total, t - this.#started, this.#options);
    // Pad over what a longer previous line left behind.
    const pad = Math.max(0, this.#shown - line.length);
    this.#options.write(`\r${line}${" ".repeat(pad)}${end}`);
    this.#shown = line.length;
    this.#lastDraw = t;
    this.#drawn = `${this.#done}/${this.#total}`;
  }

  #clear(): void {
    this.#options.write(`\r${" ".repeat(this.#shown)}\r`);
  }
}
