/**
 * The CLI as a separate process, the way a user runs it: its output collected, a line awaited,
 * SIGTERM and the exit code. Shared by the e2e tests that run `rollback-drill sim` and
 * `rollback-drill operator` beside the suite.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

export interface Cli {
  readonly child: ChildProcess;
  /** Everything it wrote, for a failure's message. */
  output(): string;
  /** Resolves with the first line matching `re` (rejects if the process exits first). */
  line(re: RegExp): Promise<string>;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const w of [...waiters]) {
      const found = output.split("\n").find(l => w.re.test(l));
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>(resolve => {
    child.once("exit", code => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`${args[0] ?? ""} exited ${String(code)} first:\n${output}`));
      resolve(code);
    });
  });
  return {
    child,
    output: () => output,
    line: re =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        onData(Buffer.alloc(0));
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** `rollback-drill operator` on a kubeconfig, without its metrics and probe servers, quiet. */
export const operatorArgs = (kubeconfig: string): string[] => [
  "operator",
  "--kubeconfig",
  kubeconfig,
  "--metrics-bind-address",
  "0",
  "--health-probe-bind-address",
  "0",
  "--log-level",
  "warn",
];
