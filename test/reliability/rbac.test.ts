/**
 * Issue 7 (e): the operator runs as the service account of config/rbac, with the simulator
 * enforcing RBAC, and completes every scenario (with leader election on). Every rule of its
 * roles is needed: each one alone authorizes some request the operator made in that run (so
 * removing it denies that request), and removing the one rule no request shows, `bind` on the
 * sandbox role, makes the sandbox fail. And the account cannot write Deployments outside the
 * namespaces it created, nor read Secrets cluster-wide or in a target's namespace.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sim } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  ADMIN,
  applyObjects,
  BATCH_SCENARIOS,
  createDrill,
  getDrill,
  NAMESPACES,
  outcomes,
  rbacObjects,
  type Rule,
  SA,
  sandboxNamespaces,
  setUpReferencingTarget,
  setUpBatch,
  startOperatorOn,
  SYSTEM_NS,
  trackSandboxes,
  USER,
  waitFor,
  waitSettled,
  type OperatorHandle,
  type PlannedDrill,
} from "./harness.ts";

/** Does this rule grant the request? (RBAC's RuleAllows, without non-resource URLs.) */
function allows(
  rule: Rule,
  e: { verb: string; group: string; resource: string; subresource?: string; name?: string },
): boolean {
  const resource = e.subresource === undefined ? e.resource : `${e.resource}/${e.subresource}`;
  return (
    (rule.apiGroups.includes(e.group) || rule.apiGroups.includes("*")) &&
    (rule.resources.includes(resource) || rule.resources.includes("*")) &&
    (rule.verbs.includes(e.verb) || rule.verbs.includes("*")) &&
    (rule.resourceNames === undefined ||
      rule.resourceNames.length === 0 ||
      (e.name !== undefined && rule.resourceNames.includes(e.name)))
  );
}

interface Bound {
  role: string;
  index: number;
  rule: Rule;
  /** Namespaces where it applies: undefined for everywhere (a ClusterRoleBinding). */
  applies: (namespace: string | undefined) => boolean;
}

describe("the operator as its service account, under RBAC", () => {
  let sim: Sim;
  let objects: KubeObject[];
  let planned: PlannedDrill[];
  let extra: PlannedDrill;
  let operator: OperatorHandle;
  let kubeconfig: string;
  let startSeq: number;
  const sandboxes = new Set<string>();

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NS } },
      ADMIN,
    );
    objects = await rbacObjects();
    applyObjects(sim, objects);
    kubeconfig = await sim.kubeconfigFor(SYSTEM_NS, SA);
    // Every scenario the batch runs: each kind's clone writes (a DaemonSet's and a StatefulSet's
    // create and patch, an OnDelete set's pod deletions) are requests some rule must grant.
    planned = await setUpBatch(sim, { count: BATCH_SCENARIOS.length, prefix: "rbac" });
    extra = await setUpReferencingTarget(sim);
    const tracker = trackSandboxes(sim);
    startSeq = sim.audit.entries().at(-1)?.seq ?? 0;
    // One conflict on a status write, so the re-read after a conflict is exercised too.
    sim.faults.add({ verb: "update", resource: "rollbackdrills", code: 409, count: 1 });
    operator = await startOperatorOn(sim, {
      id: "operator",
      kubeconfig,
      leaderElection: {
        lease: { namespace: SYSTEM_NS, name: "rollback-drill-leader" },
        leaseDurationMs: 60_000,
        renewDeadlineMs: 40_000,
        retryPeriodMs: 5_000,
      },
    });
    for (const { manifest } of [...planned, extra]) createDrill(sim, manifest);
    for (const { manifest } of [...planned, extra])
      await waitSettled(sim, manifest.metadata.namespace, manifest.metadata.name);
    await waitFor(sim, "no sandbox left", () =>
      sandboxNamespaces(sim).length === 0 ? true : undefined,
    );
    tracker.stop();
    for (const names of tracker.byDrill.values()) for (const n of names) sandboxes.add(n);
  }, 60_000);
  afterAll(async () => {
    await operator.kill();
    await sim.close();
  });

  it("completes every scenario", () => {
    const results = outcomes(sim, [...planned, extra], new Map());
    expect(results.filter(r => !r.correct)).toEqual([]);
    const denied = sim.audit
      .entries({ source: "request", user: USER, code: 403 })
      .filter(e => e.seq > startSeq)
      .map(e => `${e.verb} ${e.resource} ${e.namespace ?? ""}`);
    expect(denied).toEqual([]);
  });

  it("needs every rule: each alone grants a request the operator made", () => {
    const bound: Bound[] = [];
    const roles = new Map(objects.map(o => [`${o.kind}/${o.metadata.name ?? ""}`, o]));
    const rulesOf = (kind: string, name: string): Rule[] =>
      (roles.get(`${kind}/${name}`)?.["rules"] ?? []) as Rule[];
    for (const binding of objects.filter(
      o => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding",
    )) {
      const subjects = (binding["subjects"] ?? []) as {
        kind: string;
        name: string;
        namespace?: string;
      }[];
      if (
        !subjects.some(
          s => s.kind === "ServiceAccount" && s.name === SA && s.namespace === SYSTEM_NS,
        )
      )
        continue;
      const ref = binding["roleRef"] as { kind: string; name: string };
      const namespace = binding.metadata.namespace;
      rulesOf(ref.kind, ref.name).forEach((rule, index) => {
        bound.push({
          role: ref.name,
          index,
          rule,
          applies: ns => namespace === undefined || ns === namespace,
        });
      });
    }
    // The sandbox role, bound by the operator itself in each sandbox it created.
    rulesOf("ClusterRole", "rollback-drill-sandbox").forEach((rule, index) => {
      bound.push({
        role: "rollback-drill-sandbox",
        index,
        rule,
        applies: ns => ns !== undefined && sandboxes.has(ns),
      });
    });
    const made = sim.audit
      .entries({ source: "request", user: USER })
      .filter(e => e.seq > startSeq && e.code < 400);
    const spare: string[] = [];
    for (const b of bound) {
      // `bind` is checked when the RoleBinding is created, never requested: tested below.
      const verbs = b.rule.verbs.filter(v => v !== "bind");
      if (verbs.length === 0) continue;
      for (const verb of verbs)
        for (const group of b.rule.apiGroups)
          for (const resource of b.rule.resources) {
            const [res, sub] = resource.split("/");
            const needed = made.some(
              e =>
                e.verb === verb &&
                e.group === group &&
                e.resource === res &&
                e.subresource === sub &&
                b.applies(e.namespace) &&
                allows(b.rule, e) &&
                !bound.some(
                  other => other !== b && other.applies(e.namespace) && allows(other.rule, e),
                ),
            );
            if (!needed) spare.push(`${b.role}[${b.index}] ${verb} ${group}/${resource}`);
          }
    }
    expect(spare).toEqual([]);
  });

  it("cannot write Deployments outside its sandboxes, nor read Secrets cluster-wide", async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const target = planned[0]?.manifest.metadata.namespace ?? "";
    const status = (p: Promise<unknown>): Promise<number> =>
      p.then(
        () => 200,
        (err: unknown) => (err as { code?: number }).code ?? 0,
      );
    const deployment = {
      metadata: { name: "intruder", namespace: target },
      spec: {
        selector: { matchLabels: { app: "x" } },
        template: {
          metadata: { labels: { app: "x" } },
          spec: { containers: [{ name: "x", image: "x" }] },
        },
      },
    };
    expect(
      await status(apps.createNamespacedDeployment({ namespace: target, body: deployment })),
    ).toBe(403);
    expect(
      await status(
        apps.patchNamespacedDeployment({ namespace: target, name: "pinned-web", body: [] }),
      ),
    ).toBe(403);
    expect(
      await status(apps.deleteNamespacedDeployment({ namespace: target, name: "pinned-web" })),
    ).toBe(403);
    expect(await status(core.listSecretForAllNamespaces())).toBe(403);
    expect(await status(core.listNamespacedSecret({ namespace: target }))).toBe(403);
    expect(await status(core.listNamespacedSecret({ namespace: "kube-system" }))).toBe(403);
  });
});

describe("config/rbac without `bind` on the sandbox role", () => {
  let sim: Sim;
  let operator: OperatorHandle | undefined;
  afterAll(async () => {
    await operator?.kill();
    await sim.close();
  });

  it("cannot give itself rights in a sandbox, so it creates nothing there and the run ends SandboxError at once", async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NS } },
      ADMIN,
    );
    const objects = (await rbacObjects()).map(o => {
      if (o.kind !== "ClusterRole" || o.metadata.name !== SA) return o;
      const rules = (o["rules"] as Rule[]).filter(r => !r.verbs.includes("bind"));
      return { ...o, rules };
    });
    applyObjects(sim, objects);
    const [one] = await setUpBatch(sim, { count: 1, prefix: "nobind" });
    if (one === undefined) throw new Error("no scenario");
    const kubeconfig = await sim.kubeconfigFor(SYSTEM_NS, SA);
    operator = await startOperatorOn(sim, { id: "operator", kubeconfig });
    createDrill(sim, one.manifest);
    // The RoleBinding is refused (escalation), so nothing else can be created in the sandbox.
    // Refused requests change nothing in the store, so this waits on the audit log itself.
    const refused = await waitFor(
      sim.audit,
      "the operator refused a RoleBinding",
      () => {
        const entry = sim.audit.entries({
          source: "request",
          user: USER,
          resource: "rolebindings",
          code: 403,
        })[0];
        if (entry === undefined) throw new Error("no refused RoleBinding yet");
        return entry;
      },
      20_000,
    );
    expect(refused.verb).toBe("create");
    // The refusal ends the run, in the reconcile that met it: not retried until RolloutTimeout
    // (the harness's run timeout is a simulated day; this waits a few real seconds at most).
    const { namespace, name } = one.manifest.metadata;
    const ended = await waitFor(
      sim,
      "the drill to end its run",
      () => {
        const run = getDrill(sim, namespace, name)?.status?.lastRun;
        return run?.verdict === undefined ? undefined : run;
      },
      10_000,
    );
    expect(ended).toMatchObject({ verdict: "Error", reason: "SandboxError" });
    expect(ended.message).toContain(
      `create RoleBinding rollback-drill-sandbox in the sandbox ${ended.sandboxNamespace ?? "?"} (Forbidden:`,
    );
    expect(ended.message).toContain("bind on the rollback-drill-sandbox ClusterRole");
    expect(ended.message).toContain("config/rbac and config/policy");
    const took = Date.parse(ended.completionTime ?? "") - Date.parse(ended.startTime);
    // At a time scale of 1000 each reconcile's real milliseconds are simulated seconds: an hour
    // is a few reconciles' worth, and a 24th of the run's timeout.
    expect(took).toBeLessThan(3_600_000);
    expect(
      sim.audit.entries({ source: "request", user: USER, resource: "rolebindings", code: 403 }),
    ).toHaveLength(1);
    expect(
      sim.audit.entries({ source: "request", user: USER, resource: "deployments", verb: "create" }),
    ).toEqual([]);
    // Its sandbox (the namespace alone) is cleaned up as after any failed run it does not keep.
    await waitSettled(sim, namespace, name, 10_000);
    await waitFor(sim, "no sandbox left", () =>
      sandboxNamespaces(sim).length === 0 ? true : undefined,
    );
  });
});
