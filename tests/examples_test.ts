/**
 * The cluster examples (examples/kubernetes, examples/slurm): the manifests
 * parse as YAML with what an Indexed Job needs, the sbatch script is valid
 * bash with its `#SBATCH --array` line, every rocks command line in them is
 * one the CLI accepts, and each runs here as the engine would run it (its
 * variables set as the engine sets them, the shared volume a temporary
 * folder): the shard it embeds, the merge, and `train` after with no trunk
 * pass.
 * @module
 */
import { parse } from "npm:yaml@2.9.1";
import { parseArgs } from "node:util";
import { assert, assertEquals } from "./_assert.ts";
import { COMMANDS } from "../cli/registry.ts";
import { GLOBAL_OPTIONS } from "../cli/options.ts";
import { ROOT, tempDir, writeTextureDataset } from "./_helpers.ts";

const K8S = `${ROOT}/examples/kubernetes`;
const SLURM = `${ROOT}/examples/slurm/embed.sbatch`;

// deno-lint-ignore no-explicit-any
type Yaml = any;

/** Checks a rocks command line against the registry: a known command, its own options, its count of positionals. */
function checkRocksArgs(args: string[]): void {
  const command = COMMANDS.find((c) => c.name === args[0]);
  assert(command, `rocks ${args[0]} is a command`);
  const options = Object.fromEntries(
    [...GLOBAL_OPTIONS, ...command.options].map((o) => [o.name, { type: o.type }]),
  );
  const { positionals } = parseArgs({ args: args.slice(1), options, allowPositionals: true, strict: true });
  const { min, max } = command.positionals;
  assert(positionals.length >= min && positionals.length <= max, `rocks ${args.join(" ")}: positionals`);
}

/** A script that runs this checkout's CLI, standing in for the compiled `rocks`. */
async function rocksStub(dir: string): Promise<string> {
  const stub = `${dir}/rocks`;
  await Deno.writeTextFile(
    stub,
    `#!/bin/sh\nexec "${Deno.execPath()}" run --allow-read --allow-write --allow-env "${ROOT}/cli.ts" "$@"\n`,
  );
  await Deno.chmod(stub, 0o755);
  return stub;
}

const sh = async (args: string[], env: Record<string, string>) => {
  const out = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    env: { ...Deno.env.toObject(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
};

Deno.test("the Kubernetes manifests are Indexed Job and Job YAML whose rocks commands run as the pods would", async () => {
  const embed: Yaml = parse(await Deno.readTextFile(`${K8S}/embed-job.yaml`));
  const merge: Yaml = parse(await Deno.readTextFile(`${K8S}/merge-job.yaml`));
  for (const job of [embed, merge]) {
    assertEquals([job.apiVersion, job.kind], ["batch/v1", "Job"]);
    const pod = job.spec.template.spec;
    assert(["Never", "OnFailure"].includes(pod.restartPolicy), pod.restartPolicy);
    const [c] = pod.containers;
    assert(/^[\w.-]+(\/[\w.-]+)+:[\w.-]+$/.test(c.image), c.image);
    // Every mount names a volume of the pod, a claim that can be shared.
    for (const m of c.volumeMounts) {
      const v = pod.volumes.find((v: Yaml) => v.name === m.name);
      assert(v?.persistentVolumeClaim?.claimName, `volume ${m.name}`);
    }
  }
  // The embed Job: Indexed, ROCKS_SHARDS equal to completions, one cache folder per index.
  const spec = embed.spec;
  assertEquals(spec.completionMode, "Indexed");
  const [c] = spec.template.spec.containers;
  const env = Object.fromEntries(c.env.map((e: Yaml) => [e.name, e]));
  assertEquals(Number(env.ROCKS_SHARDS.value), spec.completions);
  assert(spec.parallelism <= spec.completions);
  assertEquals(env.CPUS.valueFrom.resourceFieldRef.resource, "limits.cpu");
  assertEquals(c.args[0], "embed");
  assert(c.args.includes("/data/caches/shard-$(JOB_COMPLETION_INDEX)"), c.args.join(" "));
  assert(!c.args.includes("--shard"), "the shard comes from the Job's environment");
  checkRocksArgs(c.args);
  const [mc] = merge.spec.template.spec.containers;
  assertEquals(mc.command, ["/bin/sh", "-c"]);
  for (const line of mc.args[0].split("&&")) {
    const words = line.trim().split(/\s+/);
    assertEquals(words[0], "rocks");
    checkRocksArgs(words.slice(1));
  }

  // Run them here: /data is a temporary folder, pod i gets the variables the Job controller and the
  // manifest give it, $(VAR) expanded as Kubernetes expands it, and the merge runs in sh as the Job's does.
  await using dir = await tempDir("rocks-k8s-");
  await writeTextureDataset(`${dir.path}/photos`, 4);
  const stub = await rocksStub(dir.path);
  const onVolume = (a: string) => a.replace(/^\/data\//, `${dir.path}/`);
  const recipe = ["--preset", "course", "--augment", "none", "--view-size", "64"]; // quick here
  let photos = 0;
  for (let i = 0; i < spec.completions; i++) {
    const vars: Record<string, string> = {
      JOB_COMPLETION_INDEX: String(i),
      ROCKS_SHARDS: env.ROCKS_SHARDS.value,
      CPUS: "1",
    };
    const args = c.args.map((a: string) => onVolume(a.replace(/\$\((\w+)\)/g, (_, v) => vars[v]!)));
    const r = await sh([stub, ...args, ...recipe, "--json"], vars);
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assertEquals([out.shard.index, out.shard.count, out.cache], [i, 4, `${dir.path}/caches/shard-${i}`]);
    assertEquals(out.shard.source, `Kubernetes Indexed Job: JOB_COMPLETION_INDEX=${i}, ROCKS_SHARDS=4`);
    photos += out.inShard;
  }
  assertEquals(photos, 8);
  const script = mc.args[0].replaceAll("/data/", `${dir.path}/`).replaceAll("rocks ", `${stub} `);
  const merged = await sh(["/bin/sh", "-c", script], {});
  assertEquals(merged.code, 0, merged.stderr);
  assert(merged.stdout.includes(`${dir.path}/cache: 8 records in 1 pack`), merged.stdout);
  const train = await sh([
    stub,
    "train",
    `${dir.path}/photos`,
    ...recipe,
    "--epochs",
    "1",
    "--cache",
    `${dir.path}/cache`,
    "--out",
    `${dir.path}/m`,
    "--workers",
    "1",
    "--json",
  ], {});
  assertEquals(train.code, 0, train.stderr);
  assertEquals(JSON.parse(train.stdout).trunkRuns, 0);
});

Deno.test("the Slurm script is valid bash with an --array line, and runs shard i of the array", async () => {
  const text = await Deno.readTextFile(SLURM);
  assert(text.startsWith("#!/bin/bash\n"));
  const check = await sh(["bash", "-n", SLURM], {});
  assertEquals(check.code, 0, check.stderr);
  const array = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(text);
  assert(array, "#SBATCH --array=0-N");
  const count = Number(array[2]) - Number(array[1]) + 1;
  // Every #SBATCH line comes before the first command, where sbatch reads them.
  const firstCommand = text.split("\n").findIndex((l) => l.trim() && !l.startsWith("#"));
  assert(
    text.split("\n").slice(firstCommand).every((l) => !l.startsWith("#SBATCH")),
    "#SBATCH after a command",
  );
  // Run task 1 as Slurm would (--array sets the id, min, max and count), the binary a stand-in.
  await using dir = await tempDir("rocks-slurm-");
  await writeTextureDataset(`${dir.path}/photos`, 4);
  const stub = await rocksStub(dir.path);
  const vars = {
    ROCKS: stub,
    SLURM_ARRAY_TASK_ID: "1",
    SLURM_ARRAY_TASK_MIN: array[1]!,
    SLURM_ARRAY_TASK_MAX: array[2]!,
    SLURM_ARRAY_TASK_COUNT: String(count),
    SLURM_CPUS_PER_TASK: "1",
  };
  const r = await sh(
    ["bash", SLURM, `${dir.path}/photos`, `${dir.path}/work`, "--view-size", "64", "--json"],
    vars,
  );
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assertEquals([out.shard.index, out.shard.count, out.cache], [1, count, `${dir.path}/work/caches/shard-1`]);
  assert(out.shard.source.startsWith("Slurm job array: SLURM_ARRAY_TASK_ID=1"), out.shard.source);
  assertEquals([out.recipe.preset, out.recipe.viewSize, out.workers], ["rocks", 64, 1]);
  // The merge line of the header is a command rocks accepts.
  const mergeLine = /--wrap "(rocks cache merge [^"]+)"/.exec(text);
  assert(mergeLine, "the merge step");
  checkRocksArgs(mergeLine[1]!.split(/\s+/).slice(1));
});
