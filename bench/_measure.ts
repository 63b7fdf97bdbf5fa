/**
 * Helpers of the bench: run a process while watching its peak memory, and
 * describe the machine. Not part of the toolkit.
 * @module
 */

/** What one measured process did. */
export interface Measured {
  /** Exit code (null when it was killed for running too long). */
  code: number | null;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
  /** Seconds from spawn to exit, as seen from outside (start-up included). */
  wallSeconds: number;
  /** Peak resident memory (the kernel's VmHWM, threads and workers included) in MB (10⁶ bytes); null if unseen. */
  peakRssMB: number | null;
  /** Whether it was killed for running past the time limit. */
  timedOut: boolean;
  /** CPU seconds (user + system, all threads) it had used at the last look; null if unseen. */
  cpuSeconds: number | null;
}

/** Options for {@linkcode measureProcess}. */
export interface MeasureOptions {
  /** Working folder. @default the bench's own working folder */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the process after this many seconds. @default 1800 */
  timeoutSeconds?: number;
  /** How often to read `/proc/<pid>/status`, in ms. @default 25 */
  pollMs?: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux x86 and arm). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system, every thread) a process has used so far, from
 * `/proc/<pid>/stat`; null where there is no /proc.
 *
 * Requires --allow-read.
 * @param pid A process id, or `"self"`.
 */
async function processCpuSeconds(pid: number | "self"): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / USER_HZ;
  } catch {
    return null;
  }
}

async function readHwmKiB(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // exited, or no /proc here
  }
}

/**
 * Runs a command to the end and reports its wall time and peak RSS. The peak
 * is the kernel's high-water mark (`VmHWM`), read every `pollMs` while the
 * process lives: exact up to growth in its last few milliseconds.
 *
 * Requires --allow-run and --allow-read (/proc).
 * @param cmd The program.
 * @param args Its arguments.
 * @param options Folder, environment, time limit.
 * @returns Output, wall time and peak memory.
 */
export async function measureProcess(
  cmd: string,
  args: string[],
  options: MeasureOptions = {},
): Promise<Measured> {
  const started = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKiB: number | undefined;
  let cpuSeconds: number | null = null;
  let running = true;
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, (options.timeoutSeconds ?? 1800) * 1000);
  const poll = (async () => {
    while (running) {
      const kib = await readHwmKiB(child.pid);
      if (kib !== undefined) peakKiB = Math.max(peakKiB ?? 0, kib);
      cpuSeconds = await processCpuSeconds(child.pid) ?? cpuSeconds;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 25));
    }
  })();
  const out = await child.output();
  const wallSeconds = (performance.now() - started) / 1000;
  running = false;
  clearTimeout(limit);
  await poll;
  const dec = new TextDecoder();
  return {
    code: timedOut ? null : out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    wallSeconds,
    peakRssMB: peakKiB === undefined ? null : peakKiB * 1024 / 1e6,
    timedOut,
    cpuSeconds,
  };
}

/**
 * The last line of `text` that parses as a JSON object.
 * @param text A process's stdout.
 * @returns The object, or undefined when no line is one.
 */
export function lastJson(text: string): Record<string, unknown> | undefined {
  const lines = text.trim().split("\n").reverse();
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      return JSON.parse(t) as Record<string, unknown>;
    } catch {
      // not this one
    }
  }
  // A pretty-printed object spans several lines.
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The machine a run happened on. */
export interface MachineInfo {
  /** CPU model from /proc/cpuinfo. */
  cpu: string;
  /** Logical cores visible to this process. */
  cores: number;
  /** Total memory in GiB. */
  memoryGiB: number;
  /** OS name and kernel. */
  os: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** 1-minute load average when asked. */
  loadAverage: number | null;
}

/** The 1-minute load average, or null where /proc is missing. Requires --allow-read. */
export async function loadAverage(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return null;
  }
}

/**
 * Describes this machine.
 *
 * Requires --allow-read (/proc, /etc/os-release) and --allow-sys.
 * @returns CPU, cores, memory, OS, Deno version and load.
 */
export async function machineInfo(): Promise<MachineInfo> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const cpuinfo = await read("/proc/cpuinfo");
  const osRelease = await read("/etc/os-release");
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? Deno.build.os;
  return {
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    os: `${pretty}, Linux ${Deno.osRelease()}`,
    deno: `deno ${Deno.version.deno}, v8 ${Deno.version.v8}`,
    loadAverage: await loadAverage(),
  };
}
