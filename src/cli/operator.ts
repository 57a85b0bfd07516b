/**
 * `rollback-drill operator`: the controller process. Flags and environment are parsed once into
 * a frozen config (a bad flag is named, exit 2); then the logger, metrics registry, Kubernetes
 * client and clock are built here and passed down, and the manager runs until SIGTERM or SIGINT.
 * startOperator() runs the same thing in-process, for tests, the demo and the e2e suite.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { pino, type Logger } from "pino";
import { Registry } from "prom-client";
import { createSystemClock, sleep, type Clock } from "../controller/clock.ts";
import type { LeaderElectionConfig } from "../controller/leader.ts";
import { createManager } from "../controller/manager.ts";
import { createMetrics } from "../controller/metrics.ts";
import { createProbeServer, parseBindAddress } from "../controller/server.ts";
import type { OperatorIdentity } from "../core/observed.ts";
import { createKubeClient, loadKubeConfig } from "../kube/client.ts";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../api/vocabulary.ts";
import { toKubeError } from "../kube/errors.ts";
import { withRetry } from "../kube/retry.ts";
import { explain, GateError, gateKubeConfig } from "./cluster.ts";
import { parseFlags, untilSignal, type Io } from "./io.ts";

export const OPERATOR_USAGE = `Usage: rollback-drill operator [flags]

Watch RollbackDrills and rehearse their targets' rollbacks in sandbox namespaces.

Flags:
  --kubeconfig PATH                 kubeconfig file (default: $KUBECONFIG, then in-cluster)
  --namespaces a,b                  watch drills only in these namespaces (default: all)
  --max-concurrent-drills N         drills reconciled at once (default 4)
  --leader-elect                    run only while holding the leader Lease
  --lease-namespace NS              namespace of the Lease (default: $POD_NAMESPACE, then rollback-drill-system)
  --metrics-bind-address ADDR       serve /metrics here (default :8080; 0 disables)
  --health-probe-bind-address ADDR  serve /healthz and /readyz here (default :8081; 0 disables)
  --log-level LEVEL                 trace, debug, info, warn or error (default info)

Environment: KUBECONFIG, POD_NAME (leader identity), POD_NAMESPACE, SERVICE_ACCOUNT_NAME.

Exit status: 0 after SIGTERM or SIGINT; 2 on a bad flag, or at start on a missing or broken
kubeconfig, an unreachable cluster or refused credentials (one line on stderr).
`;

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

export interface OperatorConfig {
  readonly kubeconfig: string | undefined;
  readonly namespaces: readonly string[] | undefined;
  readonly maxConcurrentDrills: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly metricsBindAddress: string;
  readonly healthProbeBindAddress: string;
  readonly logLevel: LogLevel;
  readonly podName: string;
  readonly operator: OperatorIdentity;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses flags and environment once; throws an Error naming the bad flag. */
export function parseOperatorConfig(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
): OperatorConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      namespaces: { type: "string" },
      "max-concurrent-drills": { type: "string", default: "4" },
      "leader-elect": { type: "boolean", default: false },
      "lease-namespace": { type: "string" },
      "metrics-bind-address": { type: "string", default: ":8080" },
      "health-probe-bind-address": { type: "string", default: ":8081" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const max = Number(values["max-concurrent-drills"]);
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw new Error(
      `--max-concurrent-drills: "${values["max-concurrent-drills"]}" must be an integer from 1 to 1000`,
    );
  const namespaces = values.namespaces
    ?.split(",")
    .map(n => n.trim())
    .filter(n => n !== "");
  for (const ns of namespaces ?? [])
    if (!DNS_LABEL.test(ns)) throw new Error(`--namespaces: "${ns}" is not a namespace name`);
  const level = values["log-level"];
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new Error(`--log-level: "${level}" must be one of ${LOG_LEVELS.join(", ")}`);
  for (const flag of ["metrics-bind-address", "health-probe-bind-address"] as const) {
    try {
      parseBindAddress(values[flag]);
    } catch (err) {
      throw new Error(`--${flag}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
  const podNamespace = env["POD_NAMESPACE"] ?? "rollback-drill-system";
  const leaseNamespace = values["lease-namespace"] ?? podNamespace;
  if (!DNS_LABEL.test(leaseNamespace))
    throw new Error(`--lease-namespace: "${leaseNamespace}" is not a namespace name`);
  return Object.freeze({
    kubeconfig: values.kubeconfig ?? env["KUBECONFIG"],
    namespaces: namespaces === undefined ? undefined : Object.freeze(namespaces),
    maxConcurrentDrills: max,
    leaderElect: values["leader-elect"],
    leaseNamespace,
    metricsBindAddress: values["metrics-bind-address"],
    healthProbeBindAddress: values["health-probe-bind-address"],
    logLevel: level as LogLevel,
    podName: env["POD_NAME"] ?? hostname(),
    operator: Object.freeze({
      serviceAccountName: env["SERVICE_ACCOUNT_NAME"] ?? "rollback-drill-operator",
      namespace: podNamespace,
    }),
  });
}

export interface StartOperatorOptions {
  /** Kubeconfig YAML or a path to one. */
  readonly kubeconfig: string;
  readonly namespaces?: readonly string[];
  /** Reconcile only this drill (the standalone gate); default every drill watched. */
  readonly onlyDrill?: { readonly namespace: string; readonly name: string };
  /** Default 4. */
  readonly maxConcurrentDrills?: number;
  /** Default: the system clock. A simulator's (scaled) clock fits. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Campaign for this Lease before working; default: no election. */
  readonly leaderElection?: LeaderElectionConfig;
  readonly operator?: OperatorIdentity;
  /** Reporting instance on Events; default the host name. */
  readonly instance?: string;
}

export interface RunningOperator {
  readonly metrics: Registry;
  isReady(): boolean;
  isLeader(): boolean;
  /** Stops intake, waits for in-flight reconciles, releases the lease, stops the watches. */
  stop(): Promise<void>;
}

/** Starts the operator in this process; resolves once its caches are synced. */
export async function startOperator(options: StartOperatorOptions): Promise<RunningOperator> {
  const clock = options.clock ?? createSystemClock();
  const log = options.logger ?? pino({ level: "info" });
  const registry = options.registry ?? new Registry();
  const kube = createKubeClient({
    kubeConfig: loadKubeConfig(options.kubeconfig),
    sleep: ms => sleep(clock, ms),
    schedule: (fn, ms) => {
      const handle = clock.setTimeout(fn, ms);
      return () => {
        clock.clearTimeout(handle);
      };
    },
    onTransientError: (what, err, delayMs) => {
      log.debug({ err, delayMs }, `Retrying ${what}`);
    },
  });
  const manager = createManager({
    kube,
    clock,
    log,
    metrics: createMetrics(registry),
    ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }),
    ...(options.onlyDrill === undefined ? {} : { onlyDrill: options.onlyDrill }),
    maxConcurrentDrills: options.maxConcurrentDrills ?? 4,
    ...(options.leaderElection === undefined ? {} : { leaderElection: options.leaderElection }),
    operator: options.operator ?? {
      serviceAccountName: "rollback-drill-operator",
      namespace: "rollback-drill-system",
    },
    instance: options.instance ?? hostname(),
  });
  await manager.start();
  return {
    metrics: registry,
    isReady: () => manager.isReady(),
    isLeader: () => manager.isLeader(),
    stop: () => manager.stop(),
  };
}

export async function operatorCommand(argv: string[], io: Io): Promise<number> {
  const config = parseFlags(
    "operator",
    OPERATOR_USAGE,
    () => parseOperatorConfig(argv, process.env),
    io,
  );
  if ("exitCode" in config) return config.exitCode;
  // A missing or broken kubeconfig, an unreachable cluster or a refused credential: one line and
  // exit 2 at start, as every command does. Once running, the informers ride out outages.
  try {
    await checkCluster(config);
  } catch (err) {
    if (!(err instanceof GateError)) throw err;
    io.err(`rollback-drill operator: ${err.message}`);
    return 2;
  }
  // The operator runs until a signal: its back-offs run on unref'd timers, so while every watch
  // waits to reconnect nothing else would hold the process (Node ended it with 13).
  const alive = setInterval(() => undefined, 1 << 30);
  try {
    return await serve(config);
  } finally {
    clearInterval(alive);
  }
}

/** Reads the drills once (a few quick retries), so a cluster that cannot answer is named at start. */
async function checkCluster(config: OperatorConfig): Promise<void> {
  const kubeConfig = gateKubeConfig(config.kubeconfig);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const clock = createSystemClock({ keepAlive: true });
  const namespace = config.namespaces?.[0];
  const what = `list rollbackdrills${namespace === undefined ? "" : ` in ${namespace}`}`;
  const params = { group: GROUP, version: VERSION, plural: PLURAL, limit: 1 };
  try {
    await withRetry(
      () =>
        namespace === undefined
          ? custom.listClusterCustomObject(params)
          : custom.listNamespacedCustomObject({ ...params, namespace }),
      {
        sleep: ms => sleep(clock, ms),
        random: Math.random,
        policy: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 2000 },
      },
    );
  } catch (err) {
    const e = toKubeError(err);
    // A CRD or a binding applied together with the operator may lag it: the informers wait.
    if (e.kind === "NotFound" || e.kind === "Forbidden") return;
    throw new GateError(explain(err, what), { cause: err });
  }
}

async function serve(config: OperatorConfig): Promise<number> {
  const log = pino({ level: config.logLevel });
  const registry = new Registry();
  const running = await startOperator({
    kubeconfig: config.kubeconfig ?? "",
    ...(config.namespaces === undefined ? {} : { namespaces: config.namespaces }),
    maxConcurrentDrills: config.maxConcurrentDrills,
    logger: log,
    registry,
    operator: config.operator,
    instance: config.podName,
    ...(config.leaderElect
      ? {
          leaderElection: {
            lease: { namespace: config.leaseNamespace, name: "rollback-drill-leader" },
            identity: config.podName,
          },
        }
      : {}),
  });
  const servers = [];
  const metricsAt = parseBindAddress(config.metricsBindAddress);
  const probesAt = parseBindAddress(config.healthProbeBindAddress);
  if (metricsAt !== undefined) {
    const server = createProbeServer({ registry, isReady: () => running.isReady() });
    log.info({ url: await server.listen(metricsAt.port, metricsAt.host) }, "Serving metrics");
    servers.push(server);
  }
  if (probesAt !== undefined) {
    const server = createProbeServer({ isReady: () => running.isReady() });
    log.info({ url: await server.listen(probesAt.port, probesAt.host) }, "Serving health probes");
    servers.push(server);
  }
  const signal = await untilSignal();
  log.info({ signal }, "Shutting down");
  await running.stop();
  await Promise.all(servers.map(s => s.close()));
  return 0;
}
