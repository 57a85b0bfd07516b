/**
 * Whole runs of a StatefulSet drill through decide(), against a small model of the StatefulSet
 * controller in the sandbox: ControllerRevisions named by template (an undo re-uses M's and
 * renumbers it), pods labelled with their revision's name, RollingUpdate replacing every pod at
 * once unless OrderedReady finds an unready pod first, OnDelete replacing none until DeletePods.
 * The kubelet says per image whether a pod goes Ready or crashes.
 */
import { describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import type { Action } from "../../src/core/actions.ts";
import { decide } from "../../src/core/decide.ts";
import type {
  ControllerRevisionView,
  Observed,
  ObservedSetTarget,
  PodTemplateSpec,
  PodView,
  StatefulSetView,
  DaemonSetView,
} from "../../src/core/observed.ts";
import { semanticEqual } from "../../src/core/revisions.ts";
import { sandboxLabels } from "../../src/core/sandbox.ts";
import { CONTROLLER_REVISION_HASH, revisionTemplate } from "../../src/core/statefulset.ts";
import { STOPPED_NODE_LABEL } from "../../src/core/daemonset.ts";
import { aDrill, aFailingPod, anObserved, aPod, aTemplate, at, iso, sha } from "./builders.ts";

const TARGET_UID = "5e7a0000-1111-2222-3333-444455556666";
const CLONE_UID = "c10e0000-1111-2222-3333-444455556666";
const M = aTemplate([{ name: "app", image: `r.example.com/db@${sha("m")}` }]);
const N = aTemplate([{ name: "app", image: `r.example.com/db@${sha("n")}` }]);

function revision(
  set: string,
  uid: string,
  number: number,
  name: string,
  template: PodTemplateSpec,
): ControllerRevisionView {
  return {
    metadata: {
      name,
      namespace: "shop",
      labels: template.metadata?.labels ?? {},
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: set, uid, controller: true },
      ],
    },
    revision: number,
    data: { spec: { template: { ...template, $patch: "replace" } } },
  };
}

function podOf(
  name: string,
  revisionName: string,
  template: PodTemplateSpec,
  ok: boolean,
  owner?: { kind: string; uid: string },
): PodView {
  const image = template.spec.containers[0]?.image ?? "";
  const digest = image.split("@")[1] ?? "";
  const pod = aPod(name, "unused", template, { app: digest });
  const ownerReferences =
    owner === undefined ? [] : [{ ...owner, name: "db", controller: true, apiVersion: "apps/v1" }];
  const labelled: PodView = {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: { app: "db", [CONTROLLER_REVISION_HASH]: revisionName },
      ...(owner === undefined ? {} : { ownerReferences }),
    },
  };
  return ok
    ? labelled
    : aFailingPod(labelled, "app", "CrashLoopBackOff", {
        restartCount: 3,
        lastState: { terminated: { exitCode: 1, reason: "Error" } },
      });
}

/** The pod as the scheduler leaves one it cannot place: Pending, no containers, PodScheduled False. */
function pending(pod: PodView, message: string, seconds: number): PodView {
  return {
    ...pod,
    status: {
      phase: "Pending",
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message,
          lastTransitionTime: iso(seconds),
        },
      ],
    },
  };
}

/** The production StatefulSet: revision 1 is M, revision 2 (current) is N, its pods on N. */
function aSetTarget(strategy?: StatefulSetView["spec"]["updateStrategy"]): ObservedSetTarget {
  const set: StatefulSetView = {
    metadata: { name: "db", namespace: "shop", uid: TARGET_UID, generation: 2 },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "db" } },
      template: N,
      serviceName: "db",
      ...(strategy === undefined ? {} : { updateStrategy: strategy }),
    },
    status: { observedGeneration: 2, replicas: 2, readyReplicas: 2, updateRevision: "db-n" },
  };
  return {
    set,
    controllerRevisions: [
      revision("db", TARGET_UID, 1, "db-m", M),
      revision("db", TARGET_UID, 2, "db-n", N),
    ],
    pods: [podOf("db-0", "db-n", N, true), podOf("db-1", "db-n", N, true)],
  };
}

/** The production DaemonSet on two nodes: revision 1 is M, revision 2 (current) is N, its pods on N. */
function aDaemonSetTarget(strategy?: DaemonSetView["spec"]["updateStrategy"]): ObservedSetTarget {
  const set: DaemonSetView = {
    metadata: { name: "db", namespace: "shop", uid: TARGET_UID, generation: 2 },
    spec: {
      selector: { matchLabels: { app: "db" } },
      template: N,
      ...(strategy === undefined ? {} : { updateStrategy: strategy }),
    },
    status: { observedGeneration: 2, desiredNumberScheduled: NODES, numberReady: NODES },
  };
  const owner = { kind: "DaemonSet", uid: TARGET_UID };
  return {
    set,
    controllerRevisions: [
      revision("db", TARGET_UID, 1, "db-m", M),
      revision("db", TARGET_UID, 2, "db-n", N),
    ],
    // A DaemonSet's pods carry the hash its ControllerRevision is named after.
    pods: [podOf("db-a", "n", N, true, owner), podOf("db-b", "n", N, true, owner)],
  };
}

/** The nodes a DaemonSet clone runs a pod on. */
const NODES = 2;

/**
 * The sandbox's StatefulSet or DaemonSet controller and kubelet, applying the operator's actions.
 * The clone is either kind's, as the drill's target kind says.
 */
class SetWorld {
  drill: RollbackDrill;
  target: ObservedSetTarget;
  healthy: (template: PodTemplateSpec) => boolean;
  namespace: string | undefined;
  clone: (StatefulSetView & { status?: Record<string, unknown> }) | undefined;
  kind: "StatefulSet" | "DaemonSet";
  /** Pods the scheduler cannot place (their PodScheduled condition says why), by template. */
  unplaceable: (template: PodTemplateSpec) => string | undefined = () => undefined;
  revisions: ControllerRevisionView[] = [];
  pods: PodView[] = [];
  actions: Action[] = [];
  seconds = 0;

  constructor(
    target: ObservedSetTarget,
    healthy: (template: PodTemplateSpec) => boolean = () => true,
    spec: Parameters<typeof aDrill>[0] = {},
    kind: "StatefulSet" | "DaemonSet" = "StatefulSet",
  ) {
    this.target = target;
    this.healthy = healthy;
    this.kind = kind;
    this.drill = aDrill({
      ...spec,
      spec: { targetRef: { apiVersion: "apps/v1", kind, name: "db" }, ...spec.spec },
    });
  }

  observed(): Observed {
    const base = anObserved({ setTarget: this.target });
    if (this.namespace === undefined) return base;
    return {
      ...base,
      sandbox: {
        namespace: {
          name: this.namespace,
          labels: sandboxLabels(this.drill, this.drill.status?.currentRun?.id ?? "1"),
          phase: "Active",
        },
        replicaSets: [],
        ...(this.clone === undefined ? {} : { set: this.clone }),
        controllerRevisions: this.revisions,
        pods: this.pods,
      },
    };
  }

  /**
   * The ControllerRevision of the clone's template, re-used (renumbered) or created, as the label
   * its pods get: a StatefulSet's the revision's name, a DaemonSet's the hash it is named after.
   */
  private updateRevision(): string {
    const clone = this.clone;
    if (clone === undefined) throw new Error("no clone");
    const label = (r: ControllerRevisionView): string =>
      this.kind === "DaemonSet" ? r.metadata.name.slice("db-".length) : r.metadata.name;
    const highest = Math.max(0, ...this.revisions.map(r => r.revision));
    const same = this.revisions.find(r => semanticEqual(revisionTemplate(r), clone.spec.template));
    if (same !== undefined) {
      same.revision = highest + 1;
      return label(same);
    }
    const name = `db-s${String(this.revisions.length + 1)}`;
    const created = revision("db", CLONE_UID, highest + 1, name, clone.spec.template);
    this.revisions.push(created);
    return label(created);
  }

  /**
   * RollingUpdate: every pod off the update revision replaced, unless a StatefulSet's OrderedReady
   * is blocked (a DaemonSet replaces an unavailable old pod at once); OnDelete replaces none.
   */
  private reconcileSet(): void {
    const clone = this.clone;
    if (clone === undefined) return;
    const update = this.updateRevision();
    const daemon = this.kind === "DaemonSet";
    clone.status = {
      ...clone.status,
      observedGeneration: clone.metadata.generation ?? 1,
      ...(daemon ? { desiredNumberScheduled: NODES } : { updateRevision: update }),
    };
    const replicas = daemon ? NODES : (clone.spec.replicas ?? 1);
    const onDelete = clone.spec.updateStrategy?.type === "OnDelete";
    const blocked = !daemon && this.pods.some(p => p.status?.conditions?.[0]?.status !== "True");
    const owner = daemon ? { kind: "DaemonSet", uid: CLONE_UID } : undefined;
    for (let i = 0; i < replicas; i++) {
      const name = `db-${String(i)}`;
      const existing = this.pods.find(p => p.metadata.name === name);
      const stale = existing?.metadata.labels?.[CONTROLLER_REVISION_HASH] !== update;
      if (existing !== undefined && (!stale || onDelete || blocked)) continue;
      this.pods = this.pods.filter(p => p.metadata.name !== name);
      const ok = this.healthy(clone.spec.template);
      const pod = podOf(name, update, clone.spec.template, ok, owner);
      const why = this.unplaceable(clone.spec.template);
      this.pods.push(why === undefined ? pod : pending(pod, why, this.seconds));
    }
    const ready = this.pods.filter(p => p.status?.conditions?.[0]?.status === "True").length;
    clone.status = daemon
      ? { ...clone.status, numberReady: ready }
      : { ...clone.status, replicas, readyReplicas: ready };
  }

  private execute(action: Action): void {
    switch (action.type) {
      case "CreateNamespace":
        this.namespace = action.name;
        return;
      case "CreateSet":
        expect(action.manifest.kind).toBe(this.kind);
        this.clone = {
          ...(structuredClone(action.manifest) as StatefulSetView),
          metadata: { ...action.manifest.metadata, uid: CLONE_UID, generation: 1 },
        };
        this.reconcileSet();
        return;
      case "ReplaceSetTemplate":
      case "UndoSet": {
        const clone = this.clone;
        if (clone === undefined) throw new Error("no clone");
        const template =
          action.type === "ReplaceSetTemplate"
            ? action.template
            : revisionTemplate({ metadata: { name: "patch" }, revision: 0, data: action.patch });
        if (template === undefined) throw new Error("undo patch without a template");
        clone.spec.template = structuredClone(template);
        clone.metadata.generation = (clone.metadata.generation ?? 1) + 1;
        this.reconcileSet();
        return;
      }
      case "DeletePods":
        this.pods = this.pods.filter(p => !action.names.includes(p.metadata.name));
        this.reconcileSet();
        return;
      case "DeleteNamespace":
        this.namespace = undefined;
        this.clone = undefined;
        this.revisions = [];
        this.pods = [];
        return;
      default:
        return;
    }
  }

  /** Runs decisions until the current run is in `phase` (or the run ends). */
  runUntil(phase: string): void {
    for (let i = 0; i < 200; i++) {
      if (this.drill.status?.currentRun?.phase === phase) return;
      this.step();
    }
    throw new Error(`run never reached ${phase}`);
  }

  private step(): void {
    const decision = decide(this.drill, this.observed(), at(this.seconds));
    this.drill = { ...this.drill, status: decision.status };
    for (const action of decision.actions) this.execute(action);
    this.actions.push(...decision.actions);
    this.seconds += 5;
  }

  runToEnd(): void {
    for (let i = 0; i < 200; i++) {
      const decision = decide(this.drill, this.observed(), at(this.seconds));
      this.drill = { ...this.drill, status: decision.status };
      for (const action of decision.actions) this.execute(action);
      this.actions.push(...decision.actions);
      const run = this.drill.status?.currentRun;
      if ((run === undefined && i > 0) || run?.phase === "SandboxKept") return;
      this.seconds += 5;
    }
    throw new Error(`run did not end: ${this.drill.status?.currentRun?.phase ?? "?"}`);
  }

  writes(type: Action["type"]): Action[] {
    return this.actions.filter(a => a.type === type);
  }
}

describe("a StatefulSet drill", () => {
  it("passes when the undo brings every pod back to revision M, with M's digest", () => {
    const w = new SetWorld(aSetTarget());
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.verdict).toBe("Passed");
    expect(last?.message).toContain("Rolled back StatefulSet db from revision 2 to 1");
    expect(last?.evidence?.[0]?.toDigest).toBe(sha("m"));
    expect(last?.evidence?.[0]?.digestCheck).toBe("Verified");
  });

  it("creates the clone at M, rolls it to N, and undoes with M's ControllerRevision data as is", () => {
    const w = new SetWorld(aSetTarget());
    w.runToEnd();
    const created = w.writes("CreateSet")[0];
    expect(created?.type === "CreateSet" && created.manifest.spec.serviceName).toBe("db");
    const undo = w.writes("UndoSet")[0];
    const template = created?.type === "CreateSet" ? created.manifest.spec.template : undefined;
    // What the model's controller stored for the clone at M: the template as a replace patch.
    expect(undo?.type === "UndoSet" && undo.patch).toEqual({
      spec: { template: { ...template, $patch: "replace" } },
    });
    // Every write but the drill's own lands in the run's sandbox.
    for (const a of w.actions)
      if ("namespace" in a && typeof a.namespace === "string") expect(a.namespace).not.toBe("shop");
  });

  it("fails PodsNotReplaced under OnDelete: the undo changes the template, no pod restarts", () => {
    const w = new SetWorld(aSetTarget({ type: "OnDelete" }));
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.verdict).toBe("Failed");
    expect(last?.reason).toBe("PodsNotReplaced");
    expect(last?.message).toContain("updateStrategy OnDelete");
    expect(last?.message).toContain("so db-0 keeps running the broken revision");
    expect(last?.message).toContain("kubectl delete pod -n shop db-0 (");
    // The roll forward deleted the pods, as a team rolls an OnDelete set forward.
    expect(w.writes("DeletePods")).not.toHaveLength(0);
  });

  it("fails RolloutStuckAtOrdinal when a broken revision N blocks OrderedReady after the undo", () => {
    const w = new SetWorld(
      aSetTarget(),
      t => t.spec.containers[0]?.image !== N.spec.containers[0]?.image,
    );
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.reason).toBe("RolloutStuckAtOrdinal");
    expect(last?.message).toContain("forced rollback");
  });

  it("fails CrashLoop when revision M crashes after the rollback", () => {
    let forwarded = false;
    const w = new SetWorld(aSetTarget(), t => {
      if (t.spec.containers[0]?.image === N.spec.containers[0]?.image) forwarded = true;
      return !(forwarded && t.spec.containers[0]?.image === M.spec.containers[0]?.image);
    });
    w.runToEnd();
    expect(w.drill.status?.lastRun?.reason).toBe("CrashLoop");
  });

  it("ends NoRevisionHistory for a set with one ControllerRevision", () => {
    const t = aSetTarget();
    const w = new SetWorld({ ...t, controllerRevisions: t.controllerRevisions.slice(1) });
    w.runToEnd();
    expect(w.drill.status?.lastRun?.reason).toBe("NoRevisionHistory");
    expect(w.drill.status?.lastRun?.message).toContain(
      'no last revision to roll back to for statefulset "db"',
    );
  });

  it("ends TargetNotFound naming the StatefulSet when it does not exist", () => {
    const drill = aDrill({
      spec: { targetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "db" } },
    });
    let status = drill.status;
    for (let i = 0; i < 5; i++) {
      const d = decide(
        { ...drill, ...(status === undefined ? {} : { status }) },
        anObserved(),
        at(i),
      );
      status = d.status;
    }
    expect(status?.lastRun?.reason).toBe("TargetNotFound");
    expect(status?.lastRun?.message).toContain('StatefulSet "db" not found');
  });

  it("fails PodsNotReady, before the run's timeout, when the clone's claims are never bound", () => {
    const w = new SetWorld(aSetTarget());
    const unbound = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.";
    w.unplaceable = () => unbound;
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.reason).toBe("PodsNotReady");
    expect(last?.message).toContain(`could not be scheduled`);
    expect(last?.message).toContain(unbound);
    expect(last?.message).toContain("set spec.sandbox.volumes: EmptyDir");
    // Found from the pods, within the readiness budget, not by the run's timeout (600s).
    expect(w.seconds).toBeLessThan(w.drill.spec.checks.timeoutSeconds);
  });

  it("warns EphemeralVolumes when claims become emptyDir volumes", () => {
    const t = aSetTarget();
    const withClaims = {
      ...t,
      set: {
        ...t.set,
        spec: { ...t.set.spec, volumeClaimTemplates: [{ metadata: { name: "data" } }] },
      },
    };
    const w = new SetWorld(withClaims, () => true, { spec: { sandbox: { volumes: "EmptyDir" } } });
    w.runToEnd();
    expect(w.drill.status?.lastRun?.verdict).toBe("Passed");
    expect(w.drill.status?.warnings?.map(x => x.reason)).toContain("EphemeralVolumes");
    const created = w.writes("CreateSet")[0];
    expect(created?.type === "CreateSet" && created.manifest.spec.template.spec.volumes).toEqual([
      { name: "data", emptyDir: {} },
    ]);
  });
});

describe("a DaemonSet drill", () => {
  const daemon = (target: ObservedSetTarget, healthy?: (t: PodTemplateSpec) => boolean): SetWorld =>
    new SetWorld(target, healthy, {}, "DaemonSet");

  it("passes when the undo brings the pod on every node back to revision M, with M's digest", () => {
    const w = daemon(aDaemonSetTarget());
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.verdict, last?.message).toBe("Passed");
    expect(last?.message).toContain("Rolled back DaemonSet db from revision 2 to 1");
    expect(last?.evidence?.[0]?.toDigest).toBe(sha("m"));
    expect(last?.evidence?.[0]?.digestCheck).toBe("Verified");
    const created = w.writes("CreateSet")[0];
    expect(created?.type === "CreateSet" && created.manifest.kind).toBe("DaemonSet");
    // The undo is the DaemonSet's, with M's ControllerRevision data.
    const undo = w.writes("UndoSet")[0];
    expect(undo?.type === "UndoSet" && undo.kind).toBe("DaemonSet");
    for (const a of w.actions)
      if ("namespace" in a && typeof a.namespace === "string") expect(a.namespace).not.toBe("shop");
  });

  it("sizes the sandbox quota for two pods per node production runs on (a surge), and two more", () => {
    const w = daemon(aDaemonSetTarget());
    w.runToEnd();
    const quota = w
      .writes("CreateObject")
      .find(a => a.type === "CreateObject" && a.manifest.kind === "ResourceQuota");
    expect(quota?.type === "CreateObject" && quota.manifest["spec"]).toMatchObject({
      hard: { pods: String(NODES * 2 + 2) },
    });
  });

  it("fails PodsNotReplaced under OnDelete, naming the pods that keep the broken revision", () => {
    const w = daemon(aDaemonSetTarget({ type: "OnDelete" }));
    w.runToEnd();
    const last = w.drill.status?.lastRun;
    expect(last?.reason).toBe("PodsNotReplaced");
    expect(last?.message).toContain('DaemonSet "db" has updateStrategy OnDelete');
    expect(last?.message).toContain("so db-0 db-1 keep running the broken revision");
    expect(w.writes("DeletePods")).not.toHaveLength(0);
  });

  it("is not held by a broken revision N: its unavailable pods are replaced at once", () => {
    const w = daemon(
      aDaemonSetTarget(),
      t => t.spec.containers[0]?.image !== N.spec.containers[0]?.image,
    );
    w.runToEnd();
    expect(w.drill.status?.lastRun?.verdict).toBe("Passed");
  });

  it("fails CrashLoop when revision M crashes after the rollback", () => {
    let forwarded = false;
    const w = daemon(aDaemonSetTarget(), t => {
      if (t.spec.containers[0]?.image === N.spec.containers[0]?.image) forwarded = true;
      return !(forwarded && t.spec.containers[0]?.image === M.spec.containers[0]?.image);
    });
    w.runToEnd();
    expect(w.drill.status?.lastRun?.reason).toBe("CrashLoop");
  });

  it("ends NoRevisionHistory naming the daemonset, as kubectl does", () => {
    const t = aDaemonSetTarget();
    const w = daemon({ ...t, controllerRevisions: t.controllerRevisions.slice(1) });
    w.runToEnd();
    expect(w.drill.status?.lastRun?.message).toContain(
      'no last revision to roll back to for daemonset "db"',
    );
  });

  it("stops an Error run's pods with a nodeSelector no node has (a DaemonSet has no replicas)", () => {
    const w = daemon(aDaemonSetTarget());
    w.runUntil("Verifying");
    w.target = {
      ...w.target,
      set: { ...w.target.set, metadata: { ...w.target.set.metadata, uid: "other" } },
    };
    w.runToEnd();
    expect(w.drill.status?.lastRun?.verdict).toBe("Error");
    const stop = w
      .writes("ReplaceSetTemplate")
      .findLast(a => a.type === "ReplaceSetTemplate" && a.kind === "DaemonSet");
    expect(stop?.type === "ReplaceSetTemplate" && stop.template.spec.nodeSelector).toEqual({
      [STOPPED_NODE_LABEL]: "true",
    });
  });
});
