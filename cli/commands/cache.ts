/**
 * `rocks cache stats|verify|merge <cache-dir>...`: what embedding caches
 * hold, whether every record in them is whole, and many caches (one per
 * shard, per machine) merged into one.
 * @module
 */
import { RocksError } from "../../lib/util/errors.ts";
import { defineCommand, described, type Io, orList, usage, valued } from "../command.ts";
import { backend, json, progress, quiet } from "../options.ts";
import { screen } from "../screen.ts";

/** The subcommands, in the order the help lists them. */
export const CACHE_ACTIONS = ["stats", "verify", "merge"] as const;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A trunk checksum as the lines show it: shortened, and named when it is this build's ResNet50. */
async function trunkName(sha: string): Promise<string> {
  const { manifestSha256 } = await import("../../lib/trunk/mod.ts");
  if (sha === "unknown") return "trunk not recorded (old-layout or library records)";
  const ours = sha === (await manifestSha256());
  return `trunk ${sha.slice(0, 16)}…${ours ? " (this build's ResNet50 weights)" : ""}`;
}

/** `rocks cache`. */
export const cacheCommand = defineCommand({
  name: "cache",
  summary: "embedding caches: records and bytes, a check of every record, merge into one",
  usage: "cache stats|verify|merge <cache-dir>...",
  description: `Embedding caches (the folders --cache names; see rocks embed for filling them
on many machines):

  rocks cache stats <cache-dir>...        records, packs, files, bytes and trunks
                                          of each (read from the indexes: quick)
  rocks cache verify <cache-dir>...       reads every record and checks it (magic,
                                          length, key, CRC-32); exit 1 if any is
                                          damaged
  rocks cache merge <cache-dir>... --into DIR
                                          every record of the caches, checked,
                                          one copy of each key, into DIR (new or
                                          a cache already); damaged records are
                                          reported and left out

A plain copy of cache folders into one (cp -r a/. b/. merged/) is also a valid
cache: every writer's pack files have names of their own. Caches of the
one-file-per-record layout of rocks 0.1 are read as they are; merge packs them.`,
  options: [
    valued("into", "DIR", "merge: the cache folder to merge into (made if missing)"),
    described(json, { help: "print one JSON object: the summary, the check or the merge" }),
    described(backend, { help: "accepted as by the other commands (cache commands run no trunk)" }),
    described(quiet, { help: "no progress bar (merge)" }),
    described(progress, { help: "draw merge's progress bar on stderr even when it is not a terminal" }),
  ] as const,
  positionals: {
    min: 2,
    max: Infinity,
    refusal: () =>
      `cache takes an action (${
        orList(CACHE_ACTIONS)
      }) and at least one cache folder: see rocks cache --help`,
  },
  async run([action, ...dirs], values, io) {
    if (!(CACHE_ACTIONS as readonly string[]).includes(action!)) {
      usage(`Unknown cache action "${action}": expected ${orList(CACHE_ACTIONS.map((a) => `"${a}"`))}`);
    }
    if (action !== "merge" && values.into !== undefined) usage(`--into applies to cache merge only`);
    if (action === "merge" && values.into === undefined) usage(`cache merge needs --into DIR`);
    const lib = await import("../../lib/embed/mod.ts");
    if (action === "stats") return await stats(dirs, values.json === true, io, lib);
    if (action === "verify") return await verify(dirs, values.json === true, io, lib);
    return await merge(dirs, values.into!, values, io, lib);
  },
});

type EmbedLib = typeof import("../../lib/embed/mod.ts");

async function stats(dirs: string[], json: boolean, io: Io, lib: EmbedLib): Promise<number> {
  const all = [];
  for (const dir of dirs) all.push(await lib.cacheSummary(dir));
  if (json) {
    io.out(JSON.stringify({ caches: all }));
    return 0;
  }
  for (const s of all) {
    io.out(
      `${s.dir}: ${plural(s.records, "record")} in ${plural(s.packs, "pack")}` +
        `${s.legacyRecords ? ` and ${s.legacyRecords} old-layout record files` : ""}; ` +
        `${plural(s.files, "file")}, ${mb(s.bytes)}`,
    );
    for (const [sha, n] of Object.entries(s.trunks)) {
      io.out(`  ${await trunkName(sha)}: ${plural(n, "record")}`);
    }
    if (s.entries > s.records + s.legacyRecords) {
      io.out(
        `  ${s.entries - s.records} index entries are second copies of a key (rocks cache merge keeps one)`,
      );
    }
    if (s.legacyRecords) {
      io.out(
        `  The ${s.legacyRecords} old-layout records (one file each) are read as they are; ` +
          `rocks cache merge ${s.dir} --into NEW packs them`,
      );
    }
  }
  return 0;
}

async function verify(dirs: string[], json: boolean, io: Io, lib: EmbedLib): Promise<number> {
  let damaged = 0;
  const all = [];
  for (const dir of dirs) {
    const st = await Deno.stat(dir).catch(() => null);
    if (!st?.isDirectory) throw new RocksError("input", `Cache folder ${dir} does not exist`, dir);
    const scan = await lib.scanCache(dir);
    damaged += scan.damaged.length;
    all.push(scan);
    if (json) continue;
    io.out(
      `${dir}: ${scan.damaged.length ? "DAMAGED" : "OK"}: ${plural(scan.records, "record")} checked ` +
        `(${scan.copies} copies in ${plural(scan.packs, "pack")}${
          scan.legacy ? `, ${scan.legacy} old-layout files` : ""
        })`,
    );
    if (scan.unindexed) {
      io.out(
        `  ${scan.unindexed} whole records no index lists (a writer stopped between the two): merge recovers them`,
      );
    }
    if (scan.tornBytes) {
      io.out(`  ${scan.tornBytes} bytes of writes cut short at the end of a pack or index: ignored`);
    }
    for (const d of scan.damaged.slice(0, 20)) {
      io.out(`  damaged: ${d.file}${d.offset !== undefined ? ` at ${d.offset}` : ""}: ${d.reason}`);
    }
    if (scan.damaged.length > 20) io.out(`  … and ${scan.damaged.length - 20} more`);
  }
  if (json) io.out(JSON.stringify({ ok: damaged === 0, caches: all }));
  return damaged ? 1 : 0;
}

async function merge(
  dirs: string[],
  into: string,
  values: { json?: boolean; quiet?: boolean; progress?: boolean },
  io: Io,
  lib: EmbedLib,
): Promise<number> {
  const scr = screen(io, values);
  const started = performance.now();
  let total = 0;
  for (const dir of dirs) {
    const s = await lib.cacheSummary(dir);
    total += s.entries + s.legacyRecords;
  }
  scr.start("merging", "records");
  const report = await lib.mergeCaches(dirs, into, { onProgress: (n) => scr.update(n, total) });
  scr.finish();
  const seconds = (performance.now() - started) / 1000;
  if (values.json) {
    io.out(JSON.stringify({ ...report, seconds }));
    return 0;
  }
  io.out(
    `Merged ${plural(dirs.length, "cache")} into ${into} in ${seconds.toFixed(1)} s: ` +
      `${report.copied} records copied, ${report.duplicates} already there, ${report.damaged} damaged left out; ` +
      `${into} now holds ${plural(report.records, "record")} (${mb(report.bytes)} written)`,
  );
  for (const s of report.sources) {
    io.out(
      `  ${s.dir}: ${plural(s.copies, "record")} read, ${s.copied} copied` +
        `${s.legacy ? ` (${s.legacy} from old-layout files)` : ""}` +
        `${s.unindexed ? `, ${s.unindexed} recovered from a pack's unindexed tail` : ""}`,
    );
    for (const d of s.damaged.slice(0, 10)) {
      io.err(`  damaged: ${s.dir}/${d.file}${d.offset !== undefined ? ` at ${d.offset}` : ""}: ${d.reason}`);
    }
    if (s.damaged.length > 10) io.err(`  … and ${s.damaged.length - 10} more`);
  }
  return 0;
}
