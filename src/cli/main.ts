#!/usr/bin/env node
/**
 * rollback-drill's command line: the composition root. Each subcommand builds what it needs
 * (logger, metrics registry, clients, clock) and passes it down; nothing below reads argv or env.
 */
import { parseArgs } from "node:util";
import type { Io } from "./io.ts";

export const USAGE = `rollback-drill: rehearse Kubernetes rollbacks before an incident needs them.

Usage: rollback-drill <command> [flags]

Commands:
  operator   Run the controller: watch RollbackDrills and rehearse their targets' rollbacks.
  run        CD gate: drill one Deployment now and exit 0 (Passed), 1 (Failed) or 2 (could not run).
  plan       Show what a drill would do for a target, writing nothing.
  demo       Start a simulated cluster with broken rollbacks side by side and drill them all.
  sim        Serve the Kubernetes API simulator (for kubectl and the e2e suite).
  help       Show this help.

Run 'rollback-drill <command> --help' for a command's flags.
`;

export type { Io } from "./io.ts";

type Command = (argv: string[], io: Io) => Promise<number>;

/**
 * The subcommands, each in its own module under src/cli/, imported when run: `operator` then never
 * loads the simulator or the demo (their modules cost the operator's process memory for nothing).
 */
const commands: Readonly<Record<string, (() => Promise<Command>) | undefined>> = Object.freeze({
  operator: async () => (await import("./operator.ts")).operatorCommand,
  run: async () => (await import("./run.ts")).runCommand,
  plan: async () => (await import("./plan.ts")).planCommand,
  demo: async () => (await import("./demo.ts")).demoCommand,
  sim: async () => (await import("./sim.ts")).simCommand,
});

export async function main(argv: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
  });
  const name = positionals[0];
  if (name === undefined || name === "help" || argv[0] === "--help" || argv[0] === "-h") {
    io.out(USAGE);
    return 0;
  }
  const load = commands[name];
  if (load === undefined) {
    io.err(`rollback-drill: unknown command "${name}" (see 'rollback-drill --help')`);
    return 2;
  }
  const command = await load();
  return command(argv.slice(argv.indexOf(name) + 1), io);
}

/**
 * How long the process may outlive its command's answer before it is ended: a CD gate that has
 * printed its verdict must not hang the pipeline on a handle something forgot to close.
 */
export const EXIT_GRACE_MS = 2000;

/** The message of an error that escaped a command, as one line (no stack trace). */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ").trim();
}

const isEntryPoint =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isEntryPoint) {
  const io: Io = {
    out: line => process.stdout.write(`${line}\n`),
    err: line => process.stderr.write(`${line}\n`),
  };
  const argv = process.argv.slice(2);
  let code: number;
  try {
    code = await main(argv, io);
  } catch (error) {
    // Commands answer their own errors; whatever escapes still gets one line and exit 2.
    io.err(`rollback-drill${argv[0] === undefined ? "" : ` ${argv[0]}`}: ${oneLine(error)}`);
    code = 2;
  }
  process.exitCode = code;
  setTimeout(() => {
    const handles = process.getActiveResourcesInfo().filter(r => r !== "Timeout");
    io.err(
      `rollback-drill: still running ${String(EXIT_GRACE_MS)} ms after the answer (${handles.join(", ") || "timers"}); exiting ${String(code)}`,
    );
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
}
