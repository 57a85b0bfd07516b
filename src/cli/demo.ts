/**
 * `rollback-drill demo`: the first ten minutes. Starts the Kubernetes API simulator in this
 * process, installs the CRD, builds a "production" namespace with the failure modes of
 * src/scenarios side by side, drills each with the operator (on the simulator's clock, so every
 * timestamp agrees), shows the drills live as `kubectl get rollbackdrills` would, then a summary
 * with each verdict's evidence and lesson. Exit 0 when every drill reached the verdict its
 * scenario should give, 1 otherwise, 2 on a bad flag.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Registry } from "prom-client";
import { buildCrd } from "../api/crd.ts";
import { SCENARIOS, type Scenario } from "../scenarios/catalog.ts";
import { Cluster } from "../scenarios/cluster.ts";
import { applyDrills, judge, setupScenarios } from "../scenarios/outcome.ts";
import { startSim } from "../sim/index.ts";
import { followDrills } from "./demo/progress.ts";
import { createStyle } from "./demo/style.ts";
import { renderSummary, renderVerdictLine, type Result } from "./demo/summary.ts";
import { renderTable } from "./demo/table.ts";
import { parseFlags, untilSignal, type Io } from "./io.ts";
import { startOperator } from "./operator.ts";

export const DEMO_USAGE = `Usage: rollback-drill demo [--keep] [--time-scale X] [--no-color]

Start a simulated cluster in this process, set up apps whose rollbacks would work or break in
the ways real ones do, drill each of them, and show what the drills found. No cluster needed.

Flags:
  --keep           leave the simulator (and operator) running afterwards, for your own kubectl
  --time-scale X   simulated seconds per real second (default ${String(20)})
  --no-color       plain text (also when NO_COLOR is set or the output is not a terminal)
`;

/** Simulated seconds per real second: the demo ends in seconds, the RTO stays in seconds. */
export const DEFAULT_TIME_SCALE = 20;
/** The namespace standing for production. */
export const DEMO_NAMESPACE = "production";

export interface DemoFlags {
  readonly keep: boolean;
  readonly timeScale: number;
  readonly color: boolean;
}

/** Parses the demo's flags; throws an Error naming the flag on bad input. */
export function parseDemoFlags(argv: string[]): DemoFlags | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      keep: { type: "boolean", default: false },
      "time-scale": { type: "string", default: String(DEFAULT_TIME_SCALE) },
      "no-color": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const timeScale = Number(values["time-scale"]);
  if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1000)
    throw new Error(
      `--time-scale: "${values["time-scale"]}" must be a number greater than 0 and at most 1000`,
    );
  return { keep: values.keep, timeScale, color: !values["no-color"] };
}

export interface DemoOptions extends DemoFlags {
  /** Output is a terminal: with color, the table is redrawn in place and coloured. */
  readonly tty: boolean;
  /** checks.stableSeconds of each drill, simulated; default 30 (the API's default). */
  readonly stableSeconds?: number;
  /** Real milliseconds to wait for every verdict; default 120,000. */
  readonly timeoutMs?: number;
  /** With keep: resolves when the user is done (Ctrl-C). */
  readonly interrupted?: () => Promise<unknown>;
  /** The terminal's width in columns, when it is one. */
  readonly columns?: number;
  /** The scenarios; default all of them. */
  readonly scenarios?: readonly Scenario[];
}

/** Runs the demo; returns the exit code. */
export async function runDemo(options: DemoOptions, io: Io): Promise<number> {
  // A terminal with colour gets the live table; anything else gets plain appended lines.
  const live = options.color && options.tty;
  const style = createStyle(live);
  const say = (...lines: string[]): void => {
    for (const line of lines) io.out(line);
  };
  const scenarios = options.scenarios ?? SCENARIOS;
  const namespace = DEMO_NAMESPACE;
  io.out(
    style.bold(
      `Starting a simulated Kubernetes cluster (time scale ${String(options.timeScale)}: a real second is ${String(options.timeScale)} simulated seconds)`,
    ),
  );
  const sim = await startSim({ timeScale: options.timeScale });
  let operator: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    const cluster = new Cluster({ kubeconfig: sim.kubeconfig });
    await cluster.applyCrd(buildCrd());
    await cluster.ensureNamespace(namespace);
    io.out(`Setting up ${String(scenarios.length)} apps in namespace "${namespace}":`);
    const width = Math.max(...scenarios.map(s => s.name.length));
    for (const s of scenarios) io.out(`  ${s.name.padEnd(width)}  ${s.title}`);
    const prepared = await setupScenarios(cluster, scenarios, {
      namespace,
      stableSeconds: options.stableSeconds ?? 30,
    });
    operator = await startOperator({
      kubeconfig: sim.kubeconfig,
      clock: sim.clock,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
      maxConcurrentDrills: scenarios.length,
      instance: "rollback-drill-demo",
    });
    await applyDrills(cluster, prepared);
    say(`Created ${String(prepared.length)} RollbackDrills; the operator is drilling them:`, "");
    const drills = await followDrills({
      kubeConfig: cluster.kc,
      custom: cluster.custom,
      namespace,
      names: scenarios.map(s => s.name),
      io,
      style,
      live,
      timeoutMs: options.timeoutMs ?? 120_000,
      timeScale: options.timeScale,
      ...(options.columns === undefined ? {} : { columns: options.columns }),
    });
    const results: Result[] = scenarios.map(scenario => {
      const drill = drills.find(d => d.metadata.name === scenario.name);
      return { scenario, drill, problems: judge(scenario.expected, drill) };
    });
    if (!live) say("", ...renderTable(drills, style));
    say("", ...renderSummary(results, style), renderVerdictLine(results, style));
    const failed = results.some(r => r.problems.length > 0);
    if (options.keep) await keepServing(sim, io, options.interrupted);
    return failed ? 1 : 0;
  } finally {
    await operator?.stop();
    await sim.close();
  }
}

async function keepServing(
  sim: Awaited<ReturnType<typeof startSim>>,
  io: Io,
  interrupted: (() => Promise<unknown>) | undefined,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "rollback-drill-demo-"));
  const path = join(dir, "kubeconfig");
  await sim.writeKubeconfig(path);
  for (const line of [
    "",
    `The simulator (and the operator) keep running at ${sim.url}. Explore with your own kubectl:`,
    `  KUBECONFIG=${path} kubectl get rollbackdrills -A`,
    "Press Ctrl-C to stop.",
  ])
    io.out(line);
  try {
    await (interrupted ?? untilSignal)();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags("demo", DEMO_USAGE, () => parseDemoFlags(argv), io);
  if ("exitCode" in flags) return flags.exitCode;
  const noColor = (process.env["NO_COLOR"] ?? "") !== "";
  return runDemo(
    {
      ...flags,
      color: flags.color && !noColor,
      tty: process.stdout.isTTY,
      ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
    },
    io,
  );
}
