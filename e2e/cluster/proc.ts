/**
 * Running things for the test cluster: commands (optionally inside the node's network
 * namespace), daemons that outlive this process with their output in a log file, and waits
 * that say what they waited for.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { NETNS } from "./topology.ts";

export const NETNS_PATH = `/run/netns/${NETNS}`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Run inside the node's network namespace (nsenter --net: the mount namespace stays the host's). */
  node?: boolean;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

export const inNode = (argv: readonly string[]): string[] => [
  "nsenter",
  `--net=${NETNS_PATH}`,
  "--",
  ...argv,
];

export class CommandError extends Error {
  override name = "CommandError";
  readonly argv: readonly string[];
  readonly result: RunResult;
  constructor(argv: readonly string[], result: RunResult) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-8).join("\n");
    super(`\`${argv.join(" ")}\` exited ${String(result.code)}${tail ? `:\n${tail}` : ""}`);
    this.argv = argv;
    this.result = result;
  }
}

export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const argv = options.node === true ? inNode([command, ...args]) : [command, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0] ?? command,
      argv.slice(1),
      {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...(options.env ?? {}) },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      },
      (error, stdout, stderr) => {
        const code =
          error === null ? 0 : typeof error.code === "number" ? error.code : error.signal ? 128 : 1;
        const result = { code, stdout, stderr };
        if (code !== 0 && options.allowFail !== true) reject(new CommandError(argv, result));
        else resolve(result);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface Daemon {
  name: string;
  pid: number;
  log: string;
}

/**
 * Starts a long-running program detached from this process, its stdout and stderr appended to
 * `log`; inside the node's network namespace unless `host` is set.
 */
export function startDaemon(
  name: string,
  argv: readonly string[],
  log: string,
  options: { host?: boolean; env?: Record<string, string>; cwd?: string } = {},
): Daemon {
  const full = options.host === true ? [...argv] : inNode(argv);
  const fd = openSync(log, "a");
  try {
    const child = spawn(full[0] ?? "", full.slice(1), {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...(options.env ?? {}) },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${full.join(" ")}`);
    child.unref();
    return { name, pid: child.pid, log };
  } finally {
    closeSync(fd);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !existsSync(`/proc/${String(pid)}/stat`)
      ? false
      : !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${String(pid)}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => {
    setTimeout(resolve, ms);
  });

/** The last lines of a log file, for an error message. */
export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export class ComponentError extends Error {
  override name = "ComponentError";
  readonly component: string;
  constructor(component: string, what: string, log: string | undefined, hint: string) {
    super(
      [
        `${component}: ${what}`,
        ...(log === undefined ? [] : [`last lines of ${log}:`, indent(tail(log))]),
        `try: ${hint}`,
      ].join("\n"),
    );
    this.component = component;
  }
}

const indent = (text: string): string =>
  text
    .split("\n")
    .map(l => `  ${l}`)
    .join("\n");

/**
 * Polls `probe` until it returns true, the daemon dies, or the time is up; the error names the
 * component, its last log lines and what to try.
 */
export async function waitReady(
  daemon: Daemon | { name: string; log?: string; pid?: number },
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; hint: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "";
  for (;;) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    }
    if (daemon.pid !== undefined && !alive(daemon.pid))
      throw new ComponentError(daemon.name, `exited before ${what}`, daemon.log, options.hint);
    if (Date.now() > deadline)
      throw new ComponentError(
        daemon.name,
        `not ${what} after ${String(Math.round(options.timeoutMs / 1000))} s${last ? ` (last check: ${last})` : ""}`,
        daemon.log,
        options.hint,
      );
    await sleep(options.intervalMs ?? 250);
  }
}
