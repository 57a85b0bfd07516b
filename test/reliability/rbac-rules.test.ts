/**
 * Issue 7 (e), the strong form: no rule of the operator's roles is spare. For every rule of the
 * operator's ClusterRole and of the sandbox ClusterRole, and for every verb of a rule with several,
 * the roles WITHOUT that verb are applied to a fresh simulator (RBAC is global, so one simulator
 * per removal), the operator runs as its service account over a passing drill whose target
 * references a ConfigMap, a Secret and a service account, a CrashLoop drill that needs pod
 * logs, and an OnDelete StatefulSet drill that deletes pods, and something the product promises must go wrong: a verdict wrong or missing within a
 * bounded time, a promised Event missing, a sandbox left behind, the finalizer missing, or the
 * crashed container's log line missing from the verdict's message. The same run with the roles
 * whole (the control) shows none of these, so each failure is the removed verb's doing.
 */
import { describe, expect, it } from "vitest";
import { FINALIZER } from "../../src/api/vocabulary.ts";
import type { Sim } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  ADMIN,
  applyObjects,
  BATCH_SCENARIOS,
  createDrill,
  eventsFor,
  getDrill,
  NAMESPACES,
  outcomes,
  rbacObjects,
  sandboxNamespaces,
  SA,
  setUpBatch,
  setUpReferencingTarget,
  startOperatorOn,
  SYSTEM_NS,
  waitFor,
  waitSettled,
  type OperatorHandle,
  type PlannedDrill,
  type Rule,
} from "./harness.ts";

const ROLES = ["rollback-drill-operator", "rollback-drill-sandbox"] as const;
/** The catalogue's forward-only migration: Failed/CrashLoop, its message quotes the old pod's log. */
const CRASHLOOP_SCENARIO = 3;
/** A StatefulSet with updateStrategy OnDelete: rolled forward by deleting its pods. */
const ONDELETE_SCENARIO = BATCH_SCENARIOS.findIndex(s => s.name === "ondelete-cache");
/** Real milliseconds a run may take before "no verdict" counts as the failure. */
const SETTLE_MS = 20_000;
/** Real milliseconds for the sandboxes to go once both runs are over. */
const CLEANUP_MS = 5_000;

interface Removal {
  role: string;
  index: number;
  verb: string;
  /** e.g. `rollback-drill-operator[5] delete namespaces`. */
  label: string;
}

function removals(objects: readonly KubeObject[]): Removal[] {
  const out: Removal[] = [];
  for (const role of ROLES) {
    const rules = (objects.find(o => o.kind === "ClusterRole" && o.metadata.name === role)?.[
      "rules"
    ] ?? []) as Rule[];
    rules.forEach((rule, index) => {
      for (const verb of rule.verbs)
        out.push({
          role,
          index,
          verb,
          label: `${role}[${String(index)}] ${verb} ${rule.resources.join(",")}`,
        });
    });
  }
  return out;
}

/** config/rbac with one verb taken out of one rule (the rule goes when it was its only verb). */
function without(objects: readonly KubeObject[], removal: Removal | undefined): KubeObject[] {
  if (removal === undefined) return [...objects];
  return objects.map(o => {
    if (o.kind !== "ClusterRole" || o.metadata.name !== removal.role) return o;
    const rules = (o["rules"] as Rule[])
      .map((rule, index) =>
        index === removal.index
          ? { ...rule, verbs: rule.verbs.filter(v => v !== removal.verb) }
          : rule,
      )
      .filter(rule => rule.verbs.length > 0);
    return { ...o, rules };
  });
}

/** The Events a finished run promises (issue 4), by the drill's expected verdict. */
function promisedEvents(verdict: string): string[] {
  return [
    "DrillStarted",
    "SandboxCreated",
    "RollbackApplied",
    verdict === "Passed" ? "DrillPassed" : "DrillFailed",
    "SandboxDeleted",
  ];
}

/** What went wrong for these drills: empty when everything the product promises happened. */
async function observe(sim: Sim, planned: readonly PlannedDrill[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    planned.map(({ manifest }) =>
      waitSettled(sim, manifest.metadata.namespace, manifest.metadata.name, SETTLE_MS).catch(() => {
        failures.push(`${manifest.metadata.name}: no verdict within ${String(SETTLE_MS)} ms`);
      }),
    ),
  );
  for (const result of outcomes(sim, planned, new Map()))
    if (!result.correct)
      failures.push(`${result.drill}: expected ${result.expected}, got ${result.actual}`);
  const left = await waitFor(
    sim,
    "no sandbox left",
    () => (sandboxNamespaces(sim).length === 0 ? [] : undefined),
    CLEANUP_MS,
  ).catch(() => sandboxNamespaces(sim));
  if (left.length > 0) failures.push(`sandbox left behind: ${left.join(", ")}`);
  // Events are written after the status that ends the run: wait for them, within a bound.
  const missingEvents = (): string[] =>
    planned.flatMap(({ scenario, manifest }) => {
      const drill = getDrill(sim, manifest.metadata.namespace, manifest.metadata.name);
      if (drill === undefined) return [];
      const missing = promisedEvents(scenario.expected.verdict).filter(
        reason => eventsFor(sim, drill, reason) === 0,
      );
      return missing.length === 0
        ? []
        : [`${manifest.metadata.name}: no Event ${missing.join(", ")}`];
    });
  failures.push(
    ...(await waitFor(
      sim,
      "every promised Event",
      () => (missingEvents().length === 0 ? [] : undefined),
      CLEANUP_MS,
    ).catch(missingEvents)),
  );
  for (const { scenario, manifest } of planned) {
    const drill = getDrill(sim, manifest.metadata.namespace, manifest.metadata.name);
    if (drill === undefined) continue;
    const name = manifest.metadata.name;
    if (!(drill.metadata.finalizers ?? []).includes(FINALIZER))
      failures.push(`${name}: no finalizer`);
    const message = drill.status?.lastRun?.message ?? "";
    for (const line of scenario.expected.messageIncludes ?? [])
      if (!message.includes(line)) failures.push(`${name}: message lacks "${line}"`);
  }
  return failures;
}

/**
 * controller_runtime_reconcile_errors_total: a conflict the operator cannot resolve by re-reading
 * the drill shows here (and in the alert on it), though the next reconcile recovers.
 */
async function reconcileErrors(operator: OperatorHandle): Promise<number> {
  const metric = await operator.registry
    .getSingleMetric("controller_runtime_reconcile_errors_total")
    ?.get();
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
}

/** One fresh simulator with config/rbac less `removal`, the two drills run as the account. */
async function runCase(
  objects: readonly KubeObject[],
  removal: Removal | undefined,
): Promise<string[]> {
  const sim = await startSimWithDrills({ timeScale: 1000 });
  let operator: OperatorHandle | undefined;
  try {
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NS } },
      ADMIN,
    );
    applyObjects(sim, without(objects, removal));
    const kubeconfig = await sim.kubeconfigFor(SYSTEM_NS, SA);
    const crash = await setUpBatch(sim, { count: 1, prefix: "rules", first: CRASHLOOP_SCENARIO });
    const onDelete = await setUpBatch(sim, {
      count: 1,
      prefix: "rules-od",
      first: ONDELETE_SCENARIO,
    });
    const planned = [await setUpReferencingTarget(sim), ...crash, ...onDelete];
    // One conflict on a status write, so the re-read after a conflict (`get`) is needed too.
    sim.faults.add({ verb: "update", resource: "rollbackdrills", code: 409, count: 1 });
    try {
      operator = await startOperatorOn(sim, {
        id: "operator",
        kubeconfig,
        startTimeoutMs: SETTLE_MS,
      });
    } catch (err) {
      return [`the operator did not start: ${(err as Error).message}`];
    }
    for (const { manifest } of planned) createDrill(sim, manifest);
    const failures = await observe(sim, planned);
    const errors = await reconcileErrors(operator);
    if (errors > 0) failures.push(`${String(errors)} reconcile errors`);
    return failures;
  } finally {
    await operator?.kill();
    await sim.close();
  }
}

/** One line, at most 200 characters: the refusal messages quote whole RBAC rule lists. */
function brief(failure: string): string {
  const line = failure.replaceAll("\n", " ");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

describe("config/rbac has no spare verb", () => {
  it("the roles whole run both drills as promised; without any one verb, something fails", async () => {
    const objects = await rbacObjects();
    const cases = removals(objects);
    expect(cases.length).toBeGreaterThan(0);
    const [control, ...results] = await Promise.all([
      runCase(objects, undefined),
      ...cases.map(removal => runCase(objects, removal)),
    ]);
    expect(control, "config/rbac as it is").toEqual([]);
    const report = cases.map((removal, i) => ({
      removed: removal.label,
      failures: results[i] ?? [],
    }));
    const summary = report.map(
      r => `- ${r.removed}: ${r.failures.map(brief).join("; ") || "NOTHING"}`,
    );
    const spare = report.filter(r => r.failures.length === 0).map(r => r.removed);
    expect(spare, `spare verbs (removing them changed nothing):\n${summary.join("\n")}`).toEqual(
      [],
    );
    console.log(`Removed verb -> what failed:\n${summary.join("\n")}`);
  }, 90_000);
});
