/**
 * The operator's metrics on an injected prom-client Registry (no global registry). Names follow
 * controller-runtime; labels come from bounded sets: namespace and drill (the number of drills is
 * bounded by what users create), verdict and reason from the API's closed vocabularies.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Reason, Verdict } from "../api/vocabulary.ts";
import { VERDICTS } from "../api/vocabulary.ts";

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600];

export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    runsTotal: new Counter({
      name: "rollbackdrill_runs_total",
      help: "Finished drill runs by verdict and reason",
      labelNames: ["namespace", "drill", "verdict", "reason"] as const,
      registers,
    }),
    runDuration: new Histogram({
      name: "rollbackdrill_run_duration_seconds",
      help: "Drill run wall time, start to verdict",
      labelNames: ["namespace", "drill"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    rollbackDuration: new Histogram({
      name: "rollbackdrill_rollback_duration_seconds",
      help: "Measured rollback time in the sandbox: undo to all pods Ready",
      labelNames: ["namespace", "drill"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    lastVerdict: new Gauge({
      name: "rollbackdrill_last_verdict",
      help: "1 for the verdict of the drill's last run, 0 for the others",
      labelNames: ["namespace", "drill", "verdict"] as const,
      registers,
    }),
    lastSuccess: new Gauge({
      name: "rollbackdrill_last_success_timestamp_seconds",
      help: "When the drill last passed (unix seconds); alert on time() minus this",
      labelNames: ["namespace", "drill"] as const,
      registers,
    }),
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

/** Records a finished run. */
export function recordRun(
  metrics: Metrics,
  drill: { namespace: string; name: string },
  run: {
    verdict: Verdict;
    reason: Reason;
    durationSeconds?: number;
    rollbackSeconds?: number;
    passedAtSeconds?: number;
  },
): void {
  const base = { namespace: drill.namespace, drill: drill.name };
  metrics.runsTotal.inc({ ...base, verdict: run.verdict, reason: run.reason });
  if (run.durationSeconds !== undefined) metrics.runDuration.observe(base, run.durationSeconds);
  if (run.rollbackSeconds !== undefined)
    metrics.rollbackDuration.observe(base, run.rollbackSeconds);
  for (const verdict of VERDICTS)
    metrics.lastVerdict.set({ ...base, verdict }, verdict === run.verdict ? 1 : 0);
  if (run.passedAtSeconds !== undefined) metrics.lastSuccess.set(base, run.passedAtSeconds);
}

/** Drops a deleted drill's series, so label sets stay bounded by the drills that exist. */
export function forgetDrill(metrics: Metrics, drill: { namespace: string; name: string }): void {
  const base = { namespace: drill.namespace, drill: drill.name };
  for (const verdict of VERDICTS) metrics.lastVerdict.remove({ ...base, verdict });
  metrics.lastSuccess.remove(base);
}
