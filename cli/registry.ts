/**
 * The commands of `rocks`, in the order its help lists them, and everything
 * derived from that list: the top-level help, each command's help, the
 * argument parser's options (the union of every command's), the check that
 * an option applies to the command given, and the dispatch.
 * @module
 */
import { parseArgs } from "node:util";
import { VERSION } from "../lib/util/version.ts";
import { type Command, commandHelp, type Io, type Option, orList, usage } from "./command.ts";
import { cacheCommand } from "./commands/cache.ts";
import { demo } from "./commands/demo.ts";
import { embed } from "./commands/embed.ts";
import { evalCommand } from "./commands/eval.ts";
import { evalRecipe } from "./commands/eval_recipe.ts";
import { exportCommand } from "./commands/export.ts";
import { info } from "./commands/info.ts";
import { predict } from "./commands/predict.ts";
import { report } from "./commands/report.ts";
import { serve } from "./commands/serve.ts";
import { train } from "./commands/train.ts";
import { licensesText } from "./licenses.ts";
import { CONFLICTS, GLOBAL_OPTIONS } from "./options.ts";

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  train,
  evalCommand,
  evalRecipe,
  report,
  predict,
  exportCommand,
  serve,
  embed,
  cacheCommand,
  info,
  demo,
];

/** Top-level help. */
export const HELP: string = (() => {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  const commands = COMMANDS.map((c) => `  ${c.usage.padEnd(width)} ${c.summary}`);
  return `rocks ${VERSION}: tell lunar basalt from highland rock (or any photo classes)
with a frozen ImageNet ResNet50 and a small trained head.

Usage: rocks <command> [options]

Commands:
${commands.join("\n")}

Options for every command: --help, --version, --licenses, --backend auto|webgpu|wasm|cpu
Progress bars (on stderr) show on a terminal; --quiet hides them, --progress forces them.
Exit codes: 0 success, 1 failure (nothing useful could be done), 2 usage error,
130 / 143 stopped by Ctrl-C / SIGTERM (train keeps the previous model and the cache).
Run "rocks help <command>" (or "rocks <command> --help") for a command's options.`;
})();

/** Help of each command, by name. */
export const COMMAND_HELP: Readonly<Record<string, string>> = Object.fromEntries(
  COMMANDS.map((c) => [c.name, commandHelp(c)]),
);

/**
 * The command of that name.
 * @param name What was typed after `rocks`.
 * @throws {RocksError} (kind `usage`) for a name no command has, listing the commands.
 */
export function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) usage(`Unknown command "${name}": expected ${orList(COMMANDS.map((c) => c.name))}`);
  return command;
}

/**
 * The parser's options: --help, --version and every command's. Two commands
 * may word an option's help differently, but it must parse the same way.
 */
function parserOptions(): Record<string, { type: "string" | "boolean"; short?: string }> {
  const spec: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  const all: readonly Option[] = [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)];
  for (const o of all) {
    const parsed = { type: o.type, ...(o.short ? { short: o.short } : {}) };
    const seen = spec[o.name];
    if (seen && (seen.type !== parsed.type || seen.short !== parsed.short)) {
      throw new Error(`Option --${o.name} is declared twice with different types or short names`);
    }
    spec[o.name] = parsed;
  }
  return spec;
}

const PARSER_OPTIONS = parserOptions();

/**
 * Parses the arguments and runs the command they name: `--version`,
 * `--licenses`, `--help` and `help [command]` first, then the checks every
 * command gets (its own options only, no empty values, no conflicting pair,
 * its count of positional arguments).
 * @param args The arguments (without the program name).
 * @param io Where to write.
 * @returns The exit code.
 * @throws {RocksError} For usage errors and what the command throws.
 */
export async function dispatch(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: PARSER_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    usage(`${e instanceof Error ? e.message : String(e)} (see rocks --help)`);
  }
  const values: Record<string, string | boolean | undefined> = parsed.values;
  const [name, ...positionals] = parsed.positionals;
  if (values.version) {
    io.out(`rocks ${VERSION}`);
    return 0;
  }
  if (values.licenses) {
    io.out(await licensesText());
    return 0;
  }
  if (name === "help") {
    // `rocks help` is `rocks --help`; `rocks help <command>` is `rocks <command> --help`.
    if (positionals.length > 1) usage(`help takes at most one command name, got ${positionals.length}`);
    io.out(positionals[0] === undefined ? HELP : COMMAND_HELP[findCommand(positionals[0]).name]!);
    return 0;
  }
  if (!name) {
    // No command: the help answers --help; otherwise it is a usage error, and goes to stderr.
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    io.err(HELP);
    return 2;
  }
  const command = findCommand(name);
  if (values.help) {
    io.out(COMMAND_HELP[command.name]!);
    return 0;
  }
  const allowed = new Set([...GLOBAL_OPTIONS, ...command.options].map((o) => o.name));
  for (const [key, value] of Object.entries(values)) {
    if (!allowed.has(key)) usage(`Option --${key} does not apply to ${name}: see rocks ${name} --help`);
    if (value === "") usage(`--${key} needs a value, got an empty string`);
  }
  for (const [a, b] of CONFLICTS) {
    if (values[a.name] !== undefined && values[b.name] !== undefined) {
      usage(`--${a.name} and --${b.name} cannot be used together`);
    }
  }
  io.watchesSignal?.(command.watchesSignal === true);
  const { min, max, refusal } = command.positionals;
  if (positionals.length < min || positionals.length > max) usage(refusal(positionals.length));
  return await command.run(positionals, values, io);
}
