/**
 * The operator's metrics on an injected prom-client Registry (no global registry). Names follow
 * controller-runtime; labels come from bounded sets: namespace, drill and target (bounded by the
 * drills users create), verdict and reason from the API's closed vocabularies.
 *
 * Two kinds of series:
 * - Events, counted as they happen (recordRun, called once per finished run): runs by verdict and
 *   reason, run and rollback durations. These are process-lifetime counters, as Prometheus wants.
 * - State, computed at scrape time from the drills and targets in the informer caches (a collect()
 *   callback, see observeDrills): last verdict, RollbackReady, revisions available, unpinned
 *   containers in the rollback target, and the seconds since the last passed run. Computing them
 *   on scrape means a restarted operator reports them at once (they live in the drills' status),
 *   and a deleted drill's series disappear with it. Only the working replica (the leader) reports
 *   them; a standby serves none, so replicas never duplicate a drill's state.
 *
 * Staleness: `rollbackdrill_seconds_since_last_success` is computed at scrape time with the
 * operator's Clock, so the alert compares it to a threshold directly, and the simulator's scaled
 * clock drives it in the demo and tests. `rollbackdrill_last_success_timestamp_seconds` is kept
 * beside it for dashboards.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from "prom-client";
import { findCondition } from "../api/conditions.ts";
import type { RollbackDrill } from "../api/types.ts";
import type { Reason, Verdict } from "../api/vocabulary.ts";
import { VERDICTS } from "../api/vocabulary.ts";
import { isPinned, templateContainers } from "../core/digest.ts";
import type { ObservedTarget } from "../core/observed.ts";
import { equalIgnoreHash, ownedRevisions, resolveRevisions } from "../core/revisions.ts";

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600];

/** Labels of every per-drill series. */
const DRILL_LABELS = ["namespace", "drill", "target"] as const;
type DrillLabels = Record<(typeof DRILL_LABELS)[number], string>;
type RunLabels = DrillLabels & { verdict: Verdict; reason: Reason };

/** The run label sets recorded per drill, so a deleted drill's series can be removed. */
function createRecorded(): {
  add(labels: RunLabels): void;
  take(drill: { namespace: string; name: string }): RunLabels[];
} {
  const byDrill = new Map<string, Map<string, RunLabels>>();
  const keyOf = (d: { namespace: string; name: string }): string => `${d.namespace}/${d.name}`;
  return {
    add(labels) {
      const k = keyOf({ namespace: labels.namespace, name: labels.drill });
      const sets = byDrill.get(k) ?? new Map<string, RunLabels>();
      sets.set(JSON.stringify(labels), labels);
      byDrill.set(k, sets);
    },
    take(drill) {
      const sets = byDrill.get(keyOf(drill));
      byDrill.delete(keyOf(drill));
      return [...(sets?.values() ?? [])];
    },
  };
}

/** What the state gauges read at scrape time (the manager's informer caches and clock). */
export interface DrillStateSource {
  drills(): readonly RollbackDrill[];
  target(drill: RollbackDrill): ObservedTarget | undefined;
  /** Wall-clock now, in epoch milliseconds. */
  nowMs(): number;
}

/** One drill's state, as the gauges report it. */
export interface DrillState {
  labels: DrillLabels;
  lastVerdict?: Verdict;
  rollbackReady: boolean;
  lastSuccessSeconds?: number;
  /** Seconds since the last passed run, or since the drill was created when none has passed. */
  secondsSinceSuccess?: number;
  revisionsAvailable?: number;
  unpinnedContainers?: number;
}

function labelsOf(drill: RollbackDrill): DrillLabels {
  return {
    namespace: drill.metadata.namespace,
    drill: drill.metadata.name,
    target: drill.spec.targetRef.name,
  };
}

function epochSeconds(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** Revisions kubectl could roll back to: owned, not the current one, not the same template. */
function targetFacts(
  drill: RollbackDrill,
  target: ObservedTarget | undefined,
): Pick<DrillState, "revisionsAvailable" | "unpinnedContainers"> {
  if (target === undefined) return {};
  const owned = ownedRevisions(target.deployment, target.replicaSets);
  const resolved = resolveRevisions(target.deployment, target.replicaSets, drill.spec.toRevision);
  if (!resolved.ok) return { revisionsAvailable: 0 };
  const current = resolved.current;
  const available = owned.filter(
    r =>
      r.revision !== current.revision &&
      !equalIgnoreHash(r.replicaSet.spec.template, current.replicaSet.spec.template),
  ).length;
  const unpinned = templateContainers(resolved.target.replicaSet.spec.template).filter(
    c => !isPinned(c.container.image),
  ).length;
  return { revisionsAvailable: available, unpinnedContainers: unpinned };
}

/** The state of one drill at `nowMs`. Pure, so it is tested without a registry. */
export function drillState(
  drill: RollbackDrill,
  target: ObservedTarget | undefined,
  nowMs: number,
): DrillState {
  const status = drill.status ?? {};
  const lastSuccessSeconds = epochSeconds(status.lastSuccessTime);
  const since = lastSuccessSeconds ?? epochSeconds(drill.metadata.creationTimestamp);
  return {
    labels: labelsOf(drill),
    ...(status.lastRun?.verdict === undefined ? {} : { lastVerdict: status.lastRun.verdict }),
    rollbackReady: findCondition(status.conditions, "RollbackReady")?.status === "True",
    ...(lastSuccessSeconds === undefined ? {} : { lastSuccessSeconds }),
    ...(since === undefined ? {} : { secondsSinceSuccess: Math.max(0, nowMs / 1000 - since) }),
    ...targetFacts(drill, target),
  };
}

// prom-client's collect() callbacks read this; it is per registry (createMetrics), never global.
interface Observation {
  source?: DrillStateSource;
}

function statesOf(observation: Observation): DrillState[] {
  const source = observation.source;
  if (source === undefined) return [];
  const now = source.nowMs();
  return source.drills().map(d => drillState(d, source.target(d), now));
}

/** A gauge set from the drills' state on every scrape. */
function stateGauge<L extends string>(options: {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
  observation: Observation;
  fill: (gauge: Gauge<L>, state: DrillState) => void;
}): Gauge<L> {
  const { observation, fill, ...config } = options;
  return new Gauge<L>({
    ...config,
    collect() {
      this.reset();
      for (const state of statesOf(observation)) fill(this, state);
    },
  });
}

function stateGauges(registers: Registry[], observation: Observation) {
  const common = { registers, observation };
  return {
    lastVerdict: stateGauge({
      ...common,
      name: "rollbackdrill_last_verdict",
      help: "1 for the verdict of the drill's last finished run, 0 for the other verdicts; absent before the first run",
      labelNames: [...DRILL_LABELS, "verdict"] as const,
      fill: (g, s) => {
        if (s.lastVerdict === undefined) return;
        for (const verdict of VERDICTS)
          g.set({ ...s.labels, verdict }, verdict === s.lastVerdict ? 1 : 0);
      },
    }),
    rollbackReady: stateGauge({
      ...common,
      name: "rollbackdrill_rollback_ready",
      help: "1 when the target's current revision has a passed rehearsal (condition RollbackReady), else 0",
      labelNames: DRILL_LABELS,
      fill: (g, s) => {
        g.set(s.labels, s.rollbackReady ? 1 : 0);
      },
    }),
    lastSuccess: stateGauge({
      ...common,
      name: "rollbackdrill_last_success_timestamp_seconds",
      help: "When the drill last passed (unix seconds); absent if it never passed",
      labelNames: DRILL_LABELS,
      fill: (g, s) => {
        if (s.lastSuccessSeconds !== undefined) g.set(s.labels, s.lastSuccessSeconds);
      },
    }),
    secondsSinceSuccess: stateGauge({
      ...common,
      name: "rollbackdrill_seconds_since_last_success",
      help: "Seconds since the drill last passed (since it was created, if it never passed), computed at scrape time",
      labelNames: DRILL_LABELS,
      fill: (g, s) => {
        if (s.secondsSinceSuccess !== undefined) g.set(s.labels, s.secondsSinceSuccess);
      },
    }),
    revisionsAvailable: stateGauge({
      ...common,
      name: "rollbackdrill_revisions_available",
      help: "Revisions of the target `kubectl rollout undo` could roll back to (owned ReplicaSets other than the current template)",
      labelNames: DRILL_LABELS,
      fill: (g, s) => {
        if (s.revisionsAvailable !== undefined) g.set(s.labels, s.revisionsAvailable);
      },
    }),
    unpinnedContainers: stateGauge({
      ...common,
      name: "rollbackdrill_unpinned_containers",
      help: "Containers (init included) of the rollback target's template whose image is a tag, not a digest",
      labelNames: DRILL_LABELS,
      fill: (g, s) => {
        if (s.unpinnedContainers !== undefined) g.set(s.labels, s.unpinnedContainers);
      },
    }),
  };
}

/** One of the default collectors' series: present once they are registered on a registry. */
const DEFAULT_COLLECTOR_PROBE = "process_cpu_user_seconds_total";

export function createMetrics(registry: Registry) {
  const registers = [registry];
  // prom-client's default collectors (process CPU, memory, file descriptors, event-loop lag, GC,
  // heap): on this registry only, so several operators in one process (tests, the demo) each
  // serve their own; a registry that has them already (metrics built twice on it) is left alone.
  if (registry.getSingleMetric(DEFAULT_COLLECTOR_PROBE) === undefined)
    collectDefaultMetrics({ register: registry });
  const observation: Observation = {};
  return {
    recorded: createRecorded(),
    /** Points the state gauges at the drills (the manager does, once its caches exist). */
    observe(source: DrillStateSource): void {
      observation.source = source;
    },
    /** The target label of a drill, from the observed drills (recordRun uses it). */
    targetOf(drill: { namespace: string; name: string }): string {
      const found = observation.source
        ?.drills()
        .find(d => d.metadata.namespace === drill.namespace && d.metadata.name === drill.name);
      return found?.spec.targetRef.name ?? "";
    },
    runsTotal: new Counter({
      name: "rollbackdrill_runs_total",
      help: "Finished drill runs by verdict and reason",
      labelNames: [...DRILL_LABELS, "verdict", "reason"] as const,
      registers,
    }),
    runDuration: new Histogram({
      name: "rollbackdrill_run_duration_seconds",
      help: "Drill run wall time, start to verdict",
      labelNames: DRILL_LABELS,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    rollbackDuration: new Histogram({
      name: "rollbackdrill_rollback_duration_seconds",
      help: "Measured rollback time in the sandbox: undo to all pods Ready",
      labelNames: DRILL_LABELS,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    ...stateGauges(registers, observation),
    reconcileTotal: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Reconciliations by result (success, error, requeue, requeue_after)",
      labelNames: ["controller", "result"] as const,
      registers,
    }),
    reconcileErrors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Reconciliations that failed",
      labelNames: ["controller"] as const,
      registers,
    }),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Time per reconciliation",
      labelNames: ["controller"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    activeWorkers: new Gauge({
      name: "controller_runtime_active_workers",
      help: "Workers reconciling right now",
      labelNames: ["controller"] as const,
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Workers of the controller (the maximum of drills reconciled at once)",
      labelNames: ["controller"] as const,
      registers,
    }),
    workqueueDepth: new Gauge({
      name: "workqueue_depth",
      help: "Keys waiting in the work queue",
      labelNames: ["name"] as const,
      registers,
    }),
    leader: new Gauge({
      name: "rollbackdrill_leader",
      help: "1 while this replica holds the leader lease",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export const CONTROLLER_NAME = "rollbackdrill";

/** Records a finished run (once per run). The target label comes from the observed drills. */
export function recordRun(
  metrics: Metrics,
  drill: { namespace: string; name: string; target?: string },
  run: {
    verdict: Verdict;
    reason: Reason;
    durationSeconds?: number;
    rollbackSeconds?: number;
    passedAtSeconds?: number;
  },
): void {
  const base: DrillLabels = {
    namespace: drill.namespace,
    drill: drill.name,
    target: drill.target ?? metrics.targetOf(drill),
  };
  const labels: RunLabels = { ...base, verdict: run.verdict, reason: run.reason };
  metrics.recorded.add(labels);
  metrics.runsTotal.inc(labels);
  if (run.durationSeconds !== undefined) metrics.runDuration.observe(base, run.durationSeconds);
  if (run.rollbackSeconds !== undefined)
    metrics.rollbackDuration.observe(base, run.rollbackSeconds);
}

/**
 * A deleted drill: the state gauges drop it by themselves (they are computed from the drills that
 * exist); its run counters and histograms are removed here, so series stay bounded by the drills
 * that exist even when drills come and go.
 */
export function forgetDrill(metrics: Metrics, drill: { namespace: string; name: string }): void {
  for (const labels of metrics.recorded.take(drill)) {
    metrics.runsTotal.remove(labels);
    metrics.runDuration.remove(drillLabels(labels));
    metrics.rollbackDuration.remove(drillLabels(labels));
  }
}

function drillLabels(labels: RunLabels): DrillLabels {
  return { namespace: labels.namespace, drill: labels.drill, target: labels.target };
}
