/**
 * What a `rocks` command is: its name, one-line summary, usage, description,
 * the options it takes (each declared once: its parseArgs type, the name of
 * its value and its help line), the positional arguments it takes, and what
 * it runs. `cli/registry.ts` lists the commands and derives the help, the
 * argument parser and the dispatch from them. Also here: where the CLI writes
 * ({@linkcode Io}) and the checks commands share on option values.
 * @module
 */
import { RocksError } from "../lib/util/errors.ts";

/** Where the CLI writes. */
export interface Io {
  /** Writes a line to stdout. */
  out: (text: string) => void;
  /** Writes a line to stderr. */
  err: (text: string) => void;
  /** Writes raw text to stderr (the progress bar: `\r`, no newline). */
  write: (text: string) => void;
  /** Whether stderr is a terminal. */
  isTty: boolean;
  /** The terminal's width, when known. */
  columns?: number;
  /** A stop request (Ctrl-C, SIGTERM), aborted with the signal's name; `train` and `demo` watch it. */
  signal?: AbortSignal;
  /**
   * Told, once the command is known, whether it watches `signal` (stops
   * cleanly at the next step); a host should end other commands at once.
   */
  watchesSignal?: (yes: boolean) => void;
}

/** How an option is parsed: with a value, or a flag. */
export type OptionType = "string" | "boolean";

/** One command-line option, as parsed and as its help shows it. */
export interface Option<N extends string = string, T extends OptionType = OptionType> {
  /** The name, without `--`. */
  readonly name: N;
  /** `string`: takes a value; `boolean`: a flag. */
  readonly type: T;
  /** A one-letter alias, without `-`. */
  readonly short?: string;
  /** The value's name in the help (`N`, `DIR`, `crop|none`); none for a flag. */
  readonly value?: string;
  /** The help text; a line break starts a continuation line. */
  readonly help: string;
}

/**
 * Declares an option, keeping its name and type as literal types (so that
 * {@linkcode Values} knows them).
 * @param option The declaration.
 * @returns The same declaration.
 */
export function option<const N extends string, const T extends OptionType>(
  option: Option<N, T>,
): Option<N, T> {
  return option;
}

/**
 * Declares an option that takes a value.
 * @param name The name, without `--`.
 * @param value The value's name in the help (`N`, `DIR`, `crop|none`).
 * @param help The help text; a line break starts a continuation line.
 * @returns The declaration.
 */
export function valued<const N extends string>(name: N, value: string, help: string): Option<N, "string"> {
  return { name, type: "string", value, help };
}

/**
 * Declares a flag (an option without a value).
 * @param name The name, without `--`.
 * @param help The help text.
 * @returns The declaration.
 */
export function flag<const N extends string>(name: N, help: string): Option<N, "boolean"> {
  return { name, type: "boolean", help };
}

/**
 * An option with another value name or help line for one command (`--seed`
 * seeds training in one, the report's grid in another); the name and type,
 * which the parser goes by, stay.
 * @param base The shared declaration.
 * @param changes The value name and help for this command.
 * @returns The option as this command shows it.
 */
export function described<N extends string, T extends OptionType>(
  base: Option<N, T>,
  changes: Pick<Option, "help"> & Partial<Pick<Option, "value">>,
): Option<N, T> {
  return { ...base, ...changes };
}

/** The value of an option of type `T`, as parsed: a string for an option with a value, `true` for a flag. */
export type Value<T extends OptionType> = T extends "boolean" ? boolean : string;

/** The values of the options `O`, as parsed. */
export type Values<O extends readonly Option[]> = {
  readonly [K in O[number] as K["name"]]?: Value<K["type"]>;
};

/** The positional arguments a command takes. */
export interface Positionals {
  /** Fewest. */
  readonly min: number;
  /** Most (`Infinity`: no limit). */
  readonly max: number;
  /** The usage error's message for another count. */
  readonly refusal: (got: number) => string;
}

/** A `rocks` command. */
export interface Command<O extends readonly Option[] = readonly Option[]> {
  /** The name, as typed after `rocks`. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The command and its positional arguments, e.g. `train <data-dir>`. */
  readonly usage: string;
  /** The paragraphs of its help between the usage line and the options. */
  readonly description: string;
  /** Every option it takes besides --help and --version, in the order its help lists them. */
  readonly options: O;
  /** Its positional arguments. */
  readonly positionals: Positionals;
  /** Whether it stops cleanly at its next step on Ctrl-C / SIGTERM (else the process ends at once). */
  readonly watchesSignal?: boolean;
  /**
   * Runs the command once its options are known to be its own and its
   * positional count fits. Heavy modules are imported here, not above.
   * @returns The exit code.
   */
  run(positionals: string[], values: Values<O>, io: Io): Promise<number>;
}

/**
 * Declares a command, checking `run`'s values against its options.
 * @param command The declaration.
 * @returns The command, as the registry lists it.
 */
export function defineCommand<const O extends readonly Option[]>(command: Command<O>): Command {
  return command;
}

/**
 * A command's `--help`: the usage line, its description, and one aligned
 * line per option.
 * @param command The command.
 * @returns The text.
 */
export function commandHelp(command: Command): string {
  const labels = command.options.map((o) => `--${o.name}${o.value ? ` ${o.value}` : ""}`);
  const width = Math.max(...labels.map((l) => l.length)) + 3;
  const lines = command.options.flatMap((o, i) => {
    const [first, ...more] = o.help.split("\n");
    return [`  ${labels[i]!.padEnd(width)}${first}`, ...more.map((m) => `  ${"".padEnd(width)}${m}`)];
  });
  return `Usage: rocks ${command.usage} [options]\n\n${command.description}\n\nOptions:\n${lines.join("\n")}`;
}

/**
 * Throws a usage error (exit code 2).
 * @param message What was expected and what was found.
 */
export function usage(message: string): never {
  throw new RocksError("usage", message);
}

/**
 * An option's value as a number, checked.
 * @param values The parsed options.
 * @param name The option.
 * @param opts Whole numbers only; the least and most allowed; a bound it must stay below.
 * @returns The number, or undefined when the option was not given.
 * @throws {RocksError} (kind `usage`) naming the option, what was expected and what was given.
 */
export function num<V extends object>(
  values: V,
  name: keyof V & string,
  opts: { integer?: boolean; min?: number; max?: number; below?: number },
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) usage(`--${name} must be a number, got "${raw}"`);
  if (opts.integer && !Number.isInteger(n)) usage(`--${name} must be a whole number, got "${raw}"`);
  if (opts.min !== undefined && n < opts.min) usage(`--${name} must be at least ${opts.min}, got ${n}`);
  if (opts.below !== undefined && n >= opts.below) usage(`--${name} must be below ${opts.below}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) usage(`--${name} must be at most ${opts.max}, got ${n}`);
  return n;
}

/**
 * An option's value, checked against a list of choices.
 * @param values The parsed options.
 * @param name The option.
 * @param choices The values allowed.
 * @returns The value, or undefined when the option was not given.
 * @throws {RocksError} (kind `usage`) listing the choices.
 */
export function oneOf<V extends object, T extends string>(
  values: V,
  name: keyof V & string,
  choices: readonly T[],
): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(String(raw))) {
    usage(`Unknown --${name} "${raw}": expected ${choices.map((c) => `"${c}"`).join(" or ")}`);
  }
  return raw as T;
}

/**
 * The entries of `o` that are set (an option not given leaves a library default alone).
 * @param o Values, some undefined.
 * @returns A copy without the undefined ones.
 */
export function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * Names joined as a sentence says them: `a, b or c`.
 * @param names At least one name.
 */
export function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}
