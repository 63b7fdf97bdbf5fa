/**
 * Every numeric option out of range or not a number, unknown flags,
 * conflicting flags and empty values: each is a usage error (exit code 2)
 * that names the option and what was expected, before any work starts. Runs
 * the CLI's `main()` in this process (the checks come before any trunk loads).
 */
import { assert, assertEquals } from "./_assert.ts";
import { main } from "../cli.ts";
import { tempDir, texturePng } from "./_helpers.ts";

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(args, {
    out: () => {},
    err: (t) => err.push(t),
    write: () => {},
    isTty: false,
  });
  return { code, err: err.join("\n") };
}

Deno.test("rocks refuses every numeric option that is out of range or not a number, naming it", async () => {
  await using dir = await tempDir();
  for (const c of ["a", "b"]) {
    await Deno.mkdir(`${dir.path}/data/${c}`, { recursive: true });
    await Deno.writeFile(`${dir.path}/data/${c}/x.png`, texturePng("stripes", c === "a" ? 1 : 2, 8));
  }
  const data = `${dir.path}/data`;
  const train = (...o: string[]) => ["train", data, ...o];
  const cases: [string[], string][] = [
    [train("--epochs", "abc"), `--epochs must be a number, got "abc"`],
    [train("--epochs", "0"), "--epochs must be at least 1, got 0"],
    [train("--epochs", "2.5"), `--epochs must be a whole number, got "2.5"`],
    [train("--epochs", "Infinity"), `--epochs must be a number, got "Infinity"`],
    [train("--epochs", "1e999"), `--epochs must be a number, got "1e999"`],
    [train("--epochs", " "), `--epochs must be a number, got " "`],
    [train("--batch", "0"), "--batch must be at least 1, got 0"],
    [train("--batch=-3"), "--batch must be at least 1, got -3"],
    [train("--lr", "0"), "--lr must be above 0, got 0"],
    [train("--lr=-1"), "--lr must be above 0, got -1"],
    [train("--lr", "NaN"), `--lr must be a number, got "NaN"`],
    [train("--test-fraction", "1"), "--test-fraction must be below 1, got 1"],
    [train("--test-fraction=-0.1"), "--test-fraction must be at least 0, got -0.1"],
    [train("--test-fraction", "half"), `--test-fraction must be a number, got "half"`],
    [train("--seed", "1.5"), `--seed must be a whole number, got "1.5"`],
    [train("--seed", "x"), `--seed must be a number, got "x"`],
    [train("--print-every", "0"), "--print-every must be at least 1, got 0"],
    [train("--max-pixels", "0"), "--max-pixels must be at least 1, got 0"],
    [train("--max-pixels", "lots"), `--max-pixels must be a number, got "lots"`],
    [train("--view-size", "16"), "--view-size must be at least 32, got 16"],
    [train("--view-size", "5000"), "--view-size must be at most 1024, got 5000"],
    [train("--workers=-1"), "--workers must be at least 0, got -1"],
    [train("--workers", "65"), "--workers must be at most 64, got 65"],
    [train("--workers", "two"), `--workers must be a number, got "two"`],
    [train("--report", "r.html", "--samples=-1"), "--samples must be at least 0, got -1"],
    [train("--samples", "3"), "--samples needs --report FILE"],
    [train("--split", "half"), `Unknown --split "half": expected "random" or "group"`],
    [train("--augment", "flip"), `Unknown --augment "flip": expected "crop" or "none"`],
    [train("--preset", "fast"), "fast"],
    [["eval-recipe", data, "--folds", "1"], "--folds must be at least 2, got 1"],
    [["eval-recipe", data, "--repeats", "0"], "--repeats must be at least 1, got 0"],
    [["eval", "m", data, "--report", "r.html", "--seed", "x"], `--seed must be a number, got "x"`],
    [["eval", "m", data, "--max-pixels=-5"], "--max-pixels must be at least 1, got -5"],
    [["predict", "m", "x.jpg", "--workers", "1.5"], `--workers must be a whole number, got "1.5"`],
    [["predict", "m", "x.jpg", "--max-pixels", "0"], "--max-pixels must be at least 1, got 0"],
    [["report", "m", data, "--samples", "many"], `--samples must be a number, got "many"`],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert(r.err.includes(message), `${args.join(" ")}: ${r.err}`);
  }
});

Deno.test("rocks refuses unknown, conflicting and empty options, and options of another command", async () => {
  const cases: [string[], string][] = [
    [["train", "d", "--bogus"], "Unknown option '--bogus'"],
    [["train", "d", "-x"], "Unknown option '-x'"],
    [["train", "d", "--epochs"], "Option '--epochs <value>' argument missing"],
    [["train", "d", "--cache", "c", "--no-cache"], "--cache and --no-cache cannot be used together"],
    [["predict", "m", "x.jpg", "--json", "--csv"], "--json and --csv cannot be used together"],
    [["eval", "m", "d", "--progress", "--quiet"], "--progress and --quiet cannot be used together"],
    [["train", "d", "--out", ""], "--out needs a value, got an empty string"],
    [["train", "d", "--cache="], "--cache needs a value, got an empty string"],
    [["predict", "m", "x.jpg", "--epochs", "3"], "Option --epochs does not apply to predict"],
    [["info", "--csv"], "Option --csv does not apply to info"],
    [["train", "a", "b"], "train takes one data folder, got 2"],
    [["predict", "m"], "predict takes a model folder and at least one photo or folder"],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert(r.err.includes(message), `${args.join(" ")}: ${r.err}`);
  }
});
