/**
 * `rollback-drill run`: the CD gate. It applies (server-side apply) a drill for the target, pokes
 * it with a fresh run-now value in the same write, watches the drill until the run that answers
 * that value (status.currentRun/lastRun.runNowToken) has a verdict, prints it with the evidence,
 * and exits 0 (Passed), 1 (Failed) or 2 (could not run: no cluster, no CRD, RBAC, the drill's
 * Error verdicts such as TargetNotFound, or the timeout). With --standalone it runs the operator's
 * engine in this process, watching only the drill's namespace, for pipelines that have a
 * kubeconfig but no operator installed (the CRD must be installed).
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { Registry } from "prom-client";
import { stringify } from "yaml";
import type {
  CurrentRun,
  DrillStatus,
  RollbackDrill,
  RunRecord,
  RunSummary,
} from "../api/types.ts";
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  RUN_NOW_ANNOTATION,
  VERSION,
} from "../api/vocabulary.ts";
import { createSystemClock, type Clock } from "../controller/clock.ts";
import { shortDigest } from "../core/digest.ts";
import type { KubeClient } from "../kube/client.ts";
import { NotFoundError, toKubeError } from "../kube/errors.ts";
import { explain, GateError, gateKubeClient, gateKubeConfig } from "./cluster.ts";
import { parseFlags, type Io } from "./io.ts";
import { startOperator } from "./operator.ts";
import { formatSeconds } from "../core/time.ts";

export const RUN_USAGE = `Usage: rollback-drill run --namespace NS --target deployment/NAME [flags]

Drill one Deployment's rollback now (a CD gate): apply a RollbackDrill for it, start a run, wait for
its verdict and print it with the evidence.

Flags:
  -n, --namespace NS       namespace of the target (required)
  --target deployment/NAME the Deployment to drill (required)
  --to-revision N          revision to roll back to (default 0: the previous one)
  --name NAME              the drill's name (default gate-<target>)
  --wait                   wait for the verdict (default: return once the run has started)
  --timeout D              give up waiting after D (e.g. 90s, 15m, 1h; default 20m)
  -o, --output FORMAT      table (default), json or yaml
  --kubeconfig PATH        kubeconfig file (default: $KUBECONFIG, then in-cluster)
  --standalone             run the drill engine in this process (no operator needed; implies --wait).
                           The CRD must be installed; the drill is deleted (its sandbox with it) once its
                           verdict is in. Not for a namespace an installed operator watches (both would drill it).

Exit status: 0 Passed (or started, without --wait), 1 Failed, 2 could not run (no cluster, CRD
not installed, forbidden, the drill's Error verdicts such as TargetNotFound, or timed out).
Progress goes to stderr (phase by phase with elapsed time on a terminal); the result to stdout.
`;

export const OUTPUTS = ["table", "json", "yaml"] as const;
export type Output = (typeof OUTPUTS)[number];

export const GATE_FIELD_MANAGER = "rollback-drill-gate";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface RunOptions {
  readonly namespace: string;
  readonly target: string;
  readonly name: string;
  readonly toRevision: number;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly output: Output;
  readonly kubeconfig: string | undefined;
  readonly standalone: boolean;
}

/** Go-style durations ("90s", "15m", "1h30m", "1.5h"); a bare number is seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map(p => p[0]).join("") !== text)
    throw new Error(`"${text}" is not a duration such as 90s, 15m or 1h30m`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? "s"] ?? 1000), 0);
}

/** `deployment/NAME` (also deploy/, deployments/, deployment.apps/): the Deployment's name. */
export function parseTarget(text: string): string {
  const at = text.indexOf("/");
  const kind = at < 0 ? "" : text.slice(0, at).toLowerCase();
  const name = text.slice(at + 1);
  if (!["deployment", "deployments", "deploy", "deployment.apps"].includes(kind))
    throw new Error(`"${text}" must be deployment/NAME (only Deployments can be drilled)`);
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    throw new Error(`"${name}" is not a Deployment name`);
  return name;
}

export function parseNamespace(text: string | undefined): string {
  if (text === undefined) throw new Error("--namespace is required");
  if (!DNS_LABEL.test(text) || text.length > 63) throw new Error(`"${text}" is not a namespace`);
  return text;
}

export function parseToRevision(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 2147483647)
    throw new Error(`--to-revision: "${text}" must be a revision number (0: the previous one)`);
  return n;
}

export function parseOutput(text: string): Output {
  if (!(OUTPUTS as readonly string[]).includes(text))
    throw new Error(`--output: "${text}" must be one of ${OUTPUTS.join(", ")}`);
  return text as Output;
}

/** Parses flags once; throws an Error naming the bad flag. */
export function parseRunArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
): RunOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      namespace: { type: "string", short: "n" },
      target: { type: "string" },
      "to-revision": { type: "string" },
      name: { type: "string" },
      wait: { type: "boolean", default: false },
      timeout: { type: "string", default: "20m" },
      output: { type: "string", short: "o", default: "table" },
      kubeconfig: { type: "string" },
      standalone: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const namespace = parseNamespace(values.namespace);
  if (values.target === undefined) throw new Error("--target is required (deployment/NAME)");
  const target = parseTarget(values.target);
  const name = values.name ?? `gate-${target}`;
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    throw new Error(`--name: "${name}" is not a valid RollbackDrill name`);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout);
  } catch (err) {
    throw new Error(`--timeout: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return Object.freeze({
    namespace,
    target,
    name,
    toRevision: parseToRevision(values["to-revision"]),
    wait: values.wait || values.standalone,
    timeoutMs,
    output: parseOutput(values.output),
    kubeconfig: values.kubeconfig ?? env["KUBECONFIG"],
    standalone: values.standalone,
  });
}

/** What the gate needs from its caller: injected so tests run it on the simulator's clock. */
export interface GateDeps {
  /** Default: the system clock. Timeouts, progress times and a standalone engine run on it. */
  readonly clock?: Clock;
  /** Progress phase by phase with elapsed time and colour when true; plain lines otherwise. */
  readonly isTTY?: boolean;
  /** Colour on a TTY unless set (NO_COLOR). */
  readonly noColor?: boolean;
  /** The run-now value; default a fresh unique one. */
  readonly token?: string;
}

/** The drill the gate applies: only the fields it owns (server-side apply keeps the rest). */
export function gateDrill(options: RunOptions, token: string): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { "app.kubernetes.io/created-by": GATE_FIELD_MANAGER },
      annotations: { [RUN_NOW_ANNOTATION]: token },
    },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: options.target },
      toRevision: options.toRevision,
      // Standalone: nothing may outlive this process, so a failed run's sandbox goes at once.
      ...(options.standalone ? { sandbox: { keepOnFailure: false } } : {}),
    },
  };
}

async function applyDrill(kubeConfig: KubeConfig, options: RunOptions, token: string) {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: options.namespace,
        name: options.name,
        body: gateDrill(options, token),
        fieldManager: GATE_FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
  } catch (err) {
    throw new GateError(explain(err, `apply rollbackdrill ${options.namespace}/${options.name}`), {
      cause: err,
    });
  }
}

/** Where the gate's run stands in a drill's status. */
export type RunView =
  | { state: "waiting" }
  | { state: "running"; run: CurrentRun }
  | { state: "done"; record: RunRecord | RunSummary; status: DrillStatus };

/**
 * The run answering `token` (or a newer run-now value someone set since: that run starts after
 * ours was asked for too, so it answers the gate's question as well).
 */
export function findRun(drill: RollbackDrill | undefined, token: string): RunView {
  const status = drill?.status;
  if (drill === undefined || status === undefined) return { state: "waiting" };
  const wanted = drill.metadata.annotations?.[RUN_NOW_ANNOTATION] ?? token;
  const tokens = wanted === token ? [token] : [token, wanted];
  if (status.lastRun?.runNowToken !== undefined && tokens.includes(status.lastRun.runNowToken))
    return { state: "done", record: status.lastRun, status };
  const past = status.history?.find(
    r => r.runNowToken !== undefined && tokens.includes(r.runNowToken),
  );
  if (past !== undefined) return { state: "done", record: past, status };
  const run = status.currentRun;
  if (run?.runNowToken !== undefined && tokens.includes(run.runNowToken))
    return { state: "running", run };
  return { state: "waiting" };
}

export function exitCodeOf(verdict: string | undefined): number {
  if (verdict === "Passed") return 0;
  if (verdict === "Failed") return 1;
  return 2;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A wait in the words the flag took: 90s, 20m, 1h30m. */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${String(s)}s`;
  const parts = [
    [Math.floor(s / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${String(n)}${unit}`)
    .join("");
}

/** Prints phase changes to stderr: coloured with elapsed time on a TTY, plain lines otherwise. */
function progressPrinter(io: Io, deps: GateDeps, startedMs: () => number) {
  let last = "";
  const tty = deps.isTTY === true;
  const colour = tty && deps.noColor !== true;
  const dim = (t: string): string => (colour ? `\u001b[2m${t}\u001b[22m` : t);
  const bold = (t: string): string => (colour ? `\u001b[1m${t}\u001b[22m` : t);
  return (what: string): void => {
    if (what === last) return;
    last = what;
    const elapsed = seconds(startedMs());
    io.err(tty ? `${dim(elapsed.padStart(7))}  ${bold(what)}` : `[${elapsed}] ${what}`);
  };
}

/** A watch error that ends the wait (set by the client's error hook), and who to tell. */
interface WatchErrors {
  error?: string;
  onChange?: () => void;
}

async function waitForRun(
  kube: KubeClient,
  options: RunOptions,
  token: string,
  deps: { clock: Clock; io: Io; gate: GateDeps; errors: WatchErrors },
): Promise<RunView> {
  const { clock } = deps;
  const started = clock.now().getTime();
  const progress = progressPrinter(deps.io, deps.gate, () => clock.now().getTime() - started);
  const informer = kube.informer("rollbackdrills", { namespace: options.namespace });
  return new Promise<RunView>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      informer.stop();
      fn();
    };
    const check = (): void => {
      // Events keep coming until the informer has stopped: none of them is news once settled.
      if (settled) return;
      if (deps.errors.error !== undefined) {
        const message = deps.errors.error;
        finish(() => {
          reject(new GateError(message));
        });
        return;
      }
      const view = findRun(informer.get(options.name, options.namespace), token);
      if (view.state === "running") {
        progress(`Run ${view.run.id}: ${view.run.phase}`);
        if (!options.wait)
          finish(() => {
            resolve(view);
          });
        return;
      }
      if (view.state !== "done") return;
      // Standalone: the engine stops with this process, so wait until it has cleaned up.
      if (options.standalone && view.status.currentRun?.id === view.record.id) {
        progress(`Run ${view.record.id}: ${view.record.verdict ?? "?"}, cleaning up`);
        return;
      }
      finish(() => {
        resolve(view);
      });
    };
    const timer = clock.setTimeout(() => {
      finish(() => {
        reject(
          new GateError(
            `timed out after ${duration(options.timeoutMs)} waiting for the run of rollbackdrill ${options.namespace}/${options.name}: is the operator running? (kubectl -n ${options.namespace} describe rollbackdrill ${options.name})`,
          ),
        );
      });
    }, options.timeoutMs);
    deps.errors.onChange = check;
    for (const event of ["add", "update"] as const) informer.on(event, check);
    informer.on("delete", d => {
      if (d.metadata.name === options.name)
        finish(() => {
          reject(new GateError(`rollbackdrill ${options.namespace}/${options.name} was deleted`));
        });
    });
    progress("Waiting for the operator to start the run");
    informer.start().then(check, (err: unknown) => {
      finish(() => {
        reject(new GateError(explain(err, "watch rollbackdrills"), { cause: err }));
      });
    });
  });
}

/** The result as printed: JSON/YAML carry it whole, the table says it for people. */
export interface GateResult {
  drill: { namespace: string; name: string };
  exitCode: number;
  run: RunRecord | RunSummary | CurrentRun;
  warnings: DrillStatus["warnings"];
}

export function formatTable(result: GateResult): string {
  const { run } = result;
  const lines = [
    `Drill:     ${result.drill.namespace}/${result.drill.name} (run ${run.id}, ${run.trigger})`,
  ];
  if ("phase" in run && run.verdict === undefined) lines.push(`Phase:     ${run.phase}`);
  if (run.verdict !== undefined) lines.push(`Verdict:   ${run.verdict} (${run.reason ?? "?"})`);
  if (run.fromRevision !== undefined)
    lines.push(
      `Rollback:  revision ${String(run.fromRevision)} -> ${String(run.toRevision ?? "?")}` +
        (run.rollbackSeconds === undefined
          ? ""
          : `, ${formatSeconds(run.rollbackSeconds)} to Ready`),
    );
  const message = "message" in run ? run.message : undefined;
  if (message !== undefined) lines.push(`Message:   ${message}`);
  for (const w of result.warnings ?? []) lines.push(`Warning:   ${w.reason}: ${w.message}`);
  const evidence = "evidence" in run ? (run.evidence ?? []) : [];
  if (evidence.length > 0) {
    const rows = [
      ["CONTAINER", "FROM", "TO", "FROM DIGEST", "TO DIGEST", "EXPECTED", "FINDING"],
      ...evidence.map(e => [
        `${e.name}${e.init === true ? " (init)" : ""}`,
        e.fromImage,
        e.toImage,
        shortDigest(e.fromDigest),
        shortDigest(e.toDigest),
        e.expectedDigest === undefined ? "-" : shortDigest(e.expectedDigest),
        e.verdict ?? "-",
      ]),
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? "").length))) ?? [];
    lines.push("");
    for (const row of rows)
      lines.push(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
      );
  }
  return lines.join("\n");
}

export function formatResult(result: GateResult, output: Output): string {
  switch (output) {
    case "json":
      return JSON.stringify(result, null, 2);
    case "yaml":
      return stringify(result).trimEnd();
    case "table":
      return formatTable(result);
  }
}

/** Runs the gate; returns the exit status. */
export async function runGate(options: RunOptions, io: Io, deps: GateDeps = {}): Promise<number> {
  const clock = deps.clock ?? createSystemClock({ keepAlive: true });
  const token = deps.token ?? `gate-${clock.now().toISOString()}-${randomUUID().slice(0, 8)}`;
  let stopEngine: (() => Promise<void>) | undefined;
  try {
    const kubeConfig = gateKubeConfig(options.kubeconfig);
    await applyDrill(kubeConfig, options, token);
    // The engine's own timers (requeues) stay unref'd: the gate's wait holds the process.
    if (options.standalone)
      stopEngine = await startEngine(options, deps.clock ?? createSystemClock());
    const errors: WatchErrors = {};
    const kube = gateKubeClient(kubeConfig, clock, (what, error) => {
      // A watch the cluster refuses will not start working by itself: stop waiting.
      if (
        error.kind === "Forbidden" ||
        error.kind === "Unauthorized" ||
        error.kind === "NotFound"
      ) {
        errors.error = explain(error, what);
        errors.onChange?.();
      }
    });
    const view = await waitForRun(kube, options, token, { clock, io, gate: deps, errors });
    const drill = { namespace: options.namespace, name: options.name };
    if (view.state === "waiting") throw new GateError("no run started");
    if (view.state === "running") {
      io.out(
        formatResult({ drill, exitCode: 0, run: view.run, warnings: undefined }, options.output),
      );
      return 0;
    }
    const exitCode = exitCodeOf(view.record.verdict);
    io.out(
      formatResult(
        { drill, exitCode, run: view.record, warnings: view.status.warnings },
        options.output,
      ),
    );
    return exitCode;
  } catch (err) {
    if (!(err instanceof GateError)) throw err;
    io.err(`rollback-drill run: ${err.message}`);
    return 2;
  } finally {
    if (stopEngine !== undefined) {
      await removeDrill(options, clock).catch((err: unknown) => {
        io.err(`rollback-drill run: ${err instanceof Error ? err.message : String(err)}`);
      });
      await stopEngine();
    }
  }
}

/**
 * --standalone: the drill goes with this process. With no operator installed nothing else would
 * ever release its finalizer, so it would stay behind (and hang in Terminating when deleted). It
 * is deleted here, and the in-process engine keeps running until it has removed the sandbox and
 * released the finalizer, i.e. until the drill is gone; at most the gate's timeout.
 */
async function removeDrill(options: RunOptions, clock: Clock): Promise<void> {
  const kubeConfig = gateKubeConfig(options.kubeconfig);
  const what = `rollbackdrill ${options.namespace}/${options.name}`;
  const informer = gateKubeClient(kubeConfig, clock).informer("rollbackdrills", {
    namespace: options.namespace,
  });
  let timer: ReturnType<Clock["setTimeout"]> | undefined;
  try {
    const gone = new Promise<void>((resolve, reject) => {
      informer.on("delete", d => {
        if (d.metadata.name === options.name) resolve();
      });
      timer = clock.setTimeout(() => {
        reject(
          new GateError(
            `${what} was not removed within ${duration(options.timeoutMs)}: its finalizer holds it until its sandbox is gone (kubectl -n ${options.namespace} describe rollbackdrill ${options.name})`,
          ),
        );
      }, options.timeoutMs);
    });
    await informer.start();
    if (informer.get(options.name, options.namespace) === undefined) return;
    try {
      await kubeConfig.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: options.namespace,
        name: options.name,
      });
    } catch (err) {
      if (toKubeError(err) instanceof NotFoundError) return;
      throw new GateError(explain(err, `delete ${what}`), { cause: err });
    }
    await gone;
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
    informer.stop();
  }
}

/** --standalone: the operator's engine in this process, for the drill's namespace only. */
async function startEngine(options: RunOptions, clock: Clock): Promise<() => Promise<void>> {
  const running = await startOperator({
    kubeconfig: options.kubeconfig ?? "",
    namespaces: [options.namespace],
    onlyDrill: { namespace: options.namespace, name: options.name },
    maxConcurrentDrills: 1,
    clock,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    instance: "rollback-drill-run",
  });
  return () => running.stop();
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const options = parseFlags("run", RUN_USAGE, () => parseRunArgs(argv, process.env), io);
  if ("exitCode" in options) return options.exitCode;
  return runGate(options, io, {
    isTTY: process.stderr.isTTY,
    noColor: process.env["NO_COLOR"] !== undefined && process.env["NO_COLOR"] !== "",
  });
}
