/**
 * The options more than one command takes, each declared once; commands list
 * them by reference (with {@linkcode described} where a command words its
 * help otherwise). Also the pairs of options that cannot be given together.
 * @module
 */
import { definedOnly, described, flag, num, oneOf, option, valued, type Values } from "./command.ts";

// Every command.

/** `--help`, `-h`. */
export const help = option({ name: "help", type: "boolean", short: "h", help: "this help" });
/** `--version`, `-V`. */
export const version = option({ name: "version", type: "boolean", short: "V", help: "the version" });
/** `--licenses`. */
export const licenses = flag("licenses", "rocks' licence and those of the code and weights it ships");
/** The options every command answers before anything else. */
export const GLOBAL_OPTIONS = [help, version, licenses] as const;

// Where the embeddings come from.

/** `--backend NAME`. */
export const backend = valued("backend", "NAME", "auto|webgpu|wasm|cpu (default auto)");
/** `--workers N`. */
export const workers = valued("workers", "N", "embedding workers, one trunk each (default: one per core)");
/** `--cache DIR`. */
export const cache = valued(
  "cache",
  "DIR",
  "embedding cache folder (default $XDG_CACHE_HOME/rocks or ~/.cache/rocks)",
);
/** `--no-cache`. */
export const noCache = flag("no-cache", "embed without the cache");
/** `--max-pixels N`. */
export const maxPixels = valued("max-pixels", "N", "skip photos larger than N pixels (default 100000000)");
/** `--precision auto|fp32|int8`. */
export const precision = valued(
  "precision",
  "P",
  "auto|fp32|int8: the trunk's arithmetic; int8 is about 2x faster on WASM, embeddings within cosine " +
    "0.995 of fp32's (default auto: int8 where it runs, else fp32; a model's own when it is used)",
);
/** The options `openEmbedderFor()` reads. */
export const EMBEDDER_OPTIONS = [backend, workers, cache, noCache, maxPixels, precision] as const;
/** Their values. */
export type EmbedderValues = Values<typeof EMBEDDER_OPTIONS>;

// What is printed, and the progress bar.

/** `--json`; each command says what its JSON holds. */
export const json = flag("json", "print one JSON object");
/** `--csv`. */
export const csv = flag("csv", "print CSV: file,class,<one column per class>,error");
/** `--quiet`. */
export const quiet = flag("quiet", "no progress bar");
/** `--progress`. */
export const progress = flag("progress", "draw the progress bar on stderr even when it is not a terminal");
/** The options `screen()` reads. */
export const SCREEN_OPTIONS = [json, csv, quiet, progress] as const;
/** Their values. */
export type ScreenValues = Values<typeof SCREEN_OPTIONS>;

// Files written.

/** `--out DIR`: the model folder `train` and `demo` write (`report` writes a file). */
export const out = valued("out", "DIR", "model folder to write (default ./rock-model)");
/** `--report FILE`. */
export const report = valued("report", "FILE", "also write an HTML report there (see rocks report --help)");
/** `--samples N`. */
export const samples = valued("samples", "N", "photos in the report's grid (default 5)");
/** `--seed N`; each command says what it seeds. */
export const seed = valued("seed", "N", "seed (default 1)");
/** `--seed N` of a report's grid (`eval`, `report`). */
export const gridSeed = described(seed, {
  help: "seed of the grid's choice (default the model's training seed)",
});

// The photos.

/** `--groups FILE`. */
export const groups = valued(
  "groups",
  "FILE",
  "file,group CSV overriding the series rule (default <data-dir>/groups.csv)",
);

// A training recipe (`train`, `eval-recipe`).

/** `--preset NAME`. */
export const preset = valued("preset", "NAME", "rocks (default) or course");
/** `--epochs N`. */
export const epochs = valued("epochs", "N", "passes over the training photos");
/** `--batch N`. */
export const batch = valued("batch", "N", "photos per Adam step");
/** `--lr X`. */
export const lr = valued("lr", "X", "Adam learning rate");
/** `--augment crop|none`. */
export const augment = valued(
  "augment",
  "crop|none",
  "a fresh RandomResizedCrop each epoch, or the centre view",
);
/** `--view-size N`. */
export const viewSize = valued("view-size", "N", "side of the square the network sees, 32 to 1024");
/** `--l2normalize`. */
export const l2normalize = flag("l2normalize", "scale each embedding to unit length before the head");
/** The recipe's options, after `--preset`. */
export const RECIPE_OPTIONS = [epochs, batch, lr, augment, viewSize, l2normalize] as const;

/** What the recipe options (and `--seed`) say, checked; options not given are left out. */
export interface RecipeValues {
  /** `--epochs`. */
  epochs?: number;
  /** `--batch`. */
  batchSize?: number;
  /** `--lr`. */
  lr?: number;
  /** `--augment`. */
  augment?: "crop" | "none";
  /** `--view-size`. */
  viewSize?: number;
  /** `--l2normalize`. */
  l2normalize?: boolean;
  /** `--seed`. */
  seed?: number;
}

/**
 * Reads {@linkcode RECIPE_OPTIONS} and `--seed` as `train`, `embed` and `eval-recipe` take them.
 * @param values The parsed options of a command that has them.
 * @returns The recipe options given, checked.
 * @throws {RocksError} (kind `usage`) naming an option whose value is out of range.
 */
export function recipeValues(
  values: {
    epochs?: string | undefined;
    batch?: string | undefined;
    lr?: string | undefined;
    augment?: string | undefined;
    "view-size"?: string | undefined;
    l2normalize?: boolean | undefined;
    seed?: string | undefined;
  },
): RecipeValues {
  return definedOnly({
    epochs: num(values, "epochs", { integer: true, min: 1 }),
    batchSize: num(values, "batch", { integer: true, min: 1 }),
    lr: num(values, "lr", {}),
    augment: oneOf(values, "augment", ["crop", "none"] as const),
    viewSize: num(values, "view-size", { integer: true, min: 32, max: 1024 }),
    l2normalize: values.l2normalize,
    seed: num(values, "seed", { integer: true }),
  });
}

/** The progress bar's: hide it, or draw it where it would not show. */
export const BAR_OPTIONS = [quiet, progress] as const;

/** Options that cannot be given together; `rocks` refuses any pair before a command runs. */
export const CONFLICTS: readonly (readonly [{ name: string }, { name: string }])[] = [
  [json, csv],
  [cache, noCache],
  [progress, quiet],
];
