/**
 * `rollback-drill run`: the CD gate. It applies (server-side apply) a drill for the target, pokes
 * it with a fresh run-now value in the same write, watches the drill until the run that answers
 * that value (status.currentRun/lastRun.runNowToken) has a verdict, prints it with the evidence,
 * and exits 0 (Passed), 1 (Failed) or 2 (could not run: no cluster, no CRD, RBAC, the drill's
 * Error verdicts such as TargetNotFound, or the timeout). With --standalone it runs the operator's
 * engine in this process, watching only the drill's namespace, for pipelines that have a
 * kubeconfig but no operator installed (the CRD must be installed).
 *
 * This file owns the writes (apply, delete) and the command; the flags are in args.ts, the wait in
 * gate-wait.ts, what is printed in gate-output.ts.
 */
import { randomUUID } from "node:crypto";
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { Registry } from "prom-client";
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  RUN_NOW_ANNOTATION,
  VERSION,
} from "../api/vocabulary.ts";
import { createSystemClock, type Clock } from "../controller/clock.ts";
import { NotFoundError, toKubeError } from "../kube/errors.ts";
import { parseRunArgs, type RunOptions } from "./args.ts";
import { explain, GateError, gateKubeClient, gateKubeConfig } from "./cluster.ts";
import { exitCodeOf, formatResult } from "./gate-output.ts";
import { duration, waitForRun, type GateDeps, type WatchErrors } from "./gate-wait.ts";
import { parseFlags, type Io } from "./io.ts";
import { startOperator } from "./operator.ts";

export { parseDuration, parseRunArgs, parseTarget, type RunOptions } from "./args.ts";
export { exitCodeOf, formatResult, formatTable, type GateResult } from "./gate-output.ts";
export { findRun, type GateDeps, type RunView } from "./gate-wait.ts";

export const RUN_USAGE = `Usage: rollback-drill run --namespace NS --target KIND/NAME [flags]

Drill one workload's rollback now (a CD gate): apply a RollbackDrill for it, start a run, wait for
its verdict and print it with the evidence.

Flags:
  -n, --namespace NS       namespace of the target (required)
  --target KIND/NAME       the workload to drill (required): deployment/NAME, statefulset/NAME or
                           daemonset/NAME (deploy/, sts/, ds/ too)
  --to-revision N          revision to roll back to (default 0: the previous one)
  --name NAME              the drill's name (default gate-<name>; gate-<kind>-<name> for a
                           StatefulSet or DaemonSet)
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

export const GATE_FIELD_MANAGER = "rollback-drill-gate";

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
      targetRef: { apiVersion: "apps/v1", kind: options.targetKind, name: options.target },
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
