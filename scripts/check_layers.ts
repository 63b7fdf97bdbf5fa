/**
 * Keeps the shape of the house (ARCHITECTURE.md): reads the module graph
 * with `deno info --json` from every entry point and fails when
 *
 * 1. a module in `lib/` imports (code or types) from a stage above its own:
 *    the stages, bottom to top, are {@linkcode STAGES};
 * 2. a module in `lib/` imports `mod.ts`, a stage's `mod.ts` or the CLI
 *    (entry points are for users; inside the library, import the file);
 * 3. the CLI (`cli.ts`, `cli/`) imports from `lib/` anything but the public
 *    entry points (`lib/<stage>/mod.ts`) and the bottom stage (`lib/util/`);
 * 4. modules import each other in a cycle (anywhere in the project).
 *
 * Run it with `deno task layers`; `.ci/run` runs it as a check.
 * @module
 */

/** The stages of `lib/`, bottom first: a module may import from its own stage and the ones before it. */
export const STAGES = [
  "util",
  "image",
  "data",
  "trunk",
  "embed",
  "model",
  "score",
  "train",
  "report",
  "serve",
  "info",
];

/** One import found in the graph. */
export interface Edge {
  /** The importing module, relative to the repository root. */
  from: string;
  /** The imported module, relative to the repository root. */
  to: string;
}

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** Local modules and their local imports, from `deno info --json` of each entry point. */
async function graph(entries: string[]): Promise<Map<string, Set<string>>> {
  const edges = new Map<string, Set<string>>();
  const local = (specifier: string | undefined) =>
    specifier?.startsWith(`file://${ROOT}/`)
      ? decodeURIComponent(specifier.slice(`file://${ROOT}/`.length))
      : undefined;
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (!from || !from.endsWith(".ts")) continue;
      const to = edges.get(from) ?? new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const target of [local(d.code?.specifier), local(d.type?.specifier)]) {
          if (target?.endsWith(".ts")) to.add(target);
        }
      }
      edges.set(from, to);
    }
  }
  return edges;
}

/** The stage of a `lib/` module, or undefined outside `lib/`. */
function stageOf(path: string): string | undefined {
  const m = /^lib\/([a-z_]+)\//.exec(path);
  return m ? m[1] : undefined;
}

/**
 * Every rule this module's doc lists, checked on a graph.
 * @param edges Module → the modules it imports.
 * @returns One sentence per broken rule (empty when the shape holds).
 */
export function layerProblems(edges: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const [from, targets] of edges) {
    const stage = stageOf(from);
    for (const to of targets) {
      const target = stageOf(to);
      if (stage !== undefined) {
        if (!STAGES.includes(stage)) problems.push(`${from} is in lib/${stage}/, which is not a stage`);
        if (
          to === "mod.ts" || to === "cli.ts" || to.startsWith("cli/") || (target && to.endsWith("/mod.ts"))
        ) {
          problems.push(`${from} imports the entry point ${to}: import the module itself`);
        } else if (target && STAGES.indexOf(target) > STAGES.indexOf(stage)) {
          problems.push(`${from} (stage ${stage}) imports ${to} from stage ${target}, above it`);
        }
      } else if ((from === "cli.ts" || from.startsWith("cli/")) && target) {
        if (!to.endsWith("/mod.ts") && target !== "util") {
          problems.push(`${from} imports ${to}: the CLI uses mod.ts, lib/<stage>/mod.ts and lib/util/ only`);
        }
      }
    }
  }
  for (const cycle of cycles(edges)) problems.push(`import cycle: ${[...cycle, cycle[0]].join(" → ")}`);
  return problems;
}

/** The import cycles of a graph: each strongly connected component of more than one module (or a self-import). */
export function cycles(edges: Map<string, Set<string>>): string[][] {
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)?.has(v)) found.push(component.reverse());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

if (import.meta.main) {
  const libFiles: string[] = [];
  for (const stage of Deno.readDirSync(`${ROOT}/lib`)) {
    if (!stage.isDirectory) {
      libFiles.push(`lib/${stage.name}`);
      continue;
    }
    for (const f of Deno.readDirSync(`${ROOT}/lib/${stage.name}`)) {
      if (f.name.endsWith(".ts")) libFiles.push(`lib/${stage.name}/${f.name}`);
    }
  }
  // Entry points first; then any lib module they do not reach (a worker script, a module nothing uses yet).
  const edges = await graph(["mod.ts", "cli.ts", ...libFiles.filter((f) => f.endsWith("/mod.ts"))]);
  const unreached = libFiles.filter((f) => !edges.has(f));
  for (const [k, v] of await graph(unreached)) edges.set(k, v);
  const problems = [
    ...libFiles.filter((f) => !/^lib\/[a-z_]+\/[a-z0-9_]+\.ts$/.test(f)).map((f) =>
      `${f} is not in a stage folder (lib/<stage>/<name>.ts)`
    ),
    ...layerProblems(edges),
  ];
  const count = [...edges.values()].reduce((n, s) => n + s.size, 0);
  if (problems.length) {
    console.error(problems.join("\n"));
    console.error(
      `${problems.length} layering problem${problems.length === 1 ? "" : "s"} in ${edges.size} modules`,
    );
    Deno.exit(1);
  }
  console.log(`layers: ${edges.size} modules, ${count} imports, stages ${STAGES.join(" < ")}, no cycle: ok`);
}
