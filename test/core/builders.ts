/**
 * Test builders for the core (and anyone else): a complete drill, a target Deployment with its
 * revision history and pods, a sandbox in any state of a run, and the Observed that bundles them.
 * Defaults match the CRD's, so a built drill is what the apiserver would serve.
 */
import type { CurrentRun, DrillStatus, RollbackDrill } from "../../src/api/types.ts";
import { API_VERSION, FINALIZER, KIND } from "../../src/api/vocabulary.ts";
import type {
  Container,
  ContainerStatusView,
  DeploymentView,
  Observed,
  ObservedSandbox,
  ObservedTarget,
  PodTemplateSpec,
  PodView,
  ReplicaSetView,
} from "../../src/core/observed.ts";
import { sandboxLabels, sandboxNameFor, sandboxTemplate } from "../../src/core/sandbox.ts";

export const T0 = new Date("2025-01-01T00:00:00Z");
export const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
export const iso = (seconds: number): string => at(seconds).toISOString().replace(".000Z", "Z");

export const DRILL_NS = "shop";
export const DRILL_UID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";
export const TARGET_UID = "d0d0d0d0-1111-2222-3333-444455556666";

/** A digest from a short seed: "sha256:" + the seed repeated to 64 hex characters. */
export function sha(seed: string): string {
  const hex = Array.from(seed, c => c.charCodeAt(0).toString(16)).join("");
  return `sha256:${hex.repeat(64).slice(0, 64)}`;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function aDrill(
  over: {
    spec?: DeepPartial<RollbackDrill["spec"]>;
    status?: DrillStatus;
    metadata?: Partial<RollbackDrill["metadata"]>;
  } = {},
): RollbackDrill {
  const spec = over.spec ?? {};
  const drill: RollbackDrill = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: "web",
      namespace: DRILL_NS,
      uid: DRILL_UID,
      generation: 1,
      finalizers: [FINALIZER],
      ...over.metadata,
    },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      toRevision: 0,
      rerunOnNewRevision: false,
      suspend: false,
      historyLimit: 10,
      ...(spec as Partial<RollbackDrill["spec"]>),
      sandbox: {
        replicas: 1,
        networkIsolation: "DenyEgress",
        volumes: "Claims",
        copyReferencedConfigMaps: true,
        copySecrets: [],
        env: [],
        ttlSecondsAfterFinished: 3600,
        keepOnFailure: true,
        ...(spec.sandbox as Partial<RollbackDrill["spec"]["sandbox"]>),
      },
      checks: {
        digestPolicy: "Verify",
        pinnedImages: "Warn",
        stableSeconds: 30,
        timeoutSeconds: 600,
        ...(spec.checks as Partial<RollbackDrill["spec"]["checks"]>),
      },
    },
  };
  if (over.status !== undefined) drill.status = over.status;
  return drill;
}

/**
 * A drill whose run 1 (started at t=0) is in `phase`, revisions resolved (2 -> 1, template hashes
 * h2 -> h1), its sandbox the run-1 name.
 */
export function inPhase(
  phase: CurrentRun["phase"],
  run: Partial<CurrentRun> = {},
  spec: Parameters<typeof aDrill>[0] = {},
): RollbackDrill {
  return aDrillInRun(
    {
      phase,
      sandboxNamespace: sandboxNameFor(aDrill(), "1"),
      fromTemplateHash: "h2",
      toTemplateHash: "h1",
      fromRevision: 2,
      toRevision: 1,
      targetUID: TARGET_UID,
      ...run,
    },
    spec,
  );
}

/** A drill with a run in progress (status.currentRun), generation already observed. */
export function aDrillInRun(
  run: Partial<CurrentRun>,
  over: Parameters<typeof aDrill>[0] = {},
): RollbackDrill {
  const status: DrillStatus = {
    observedGeneration: 1,
    runCount: 1,
    observedTargetRevision: 2,
    ...over.status,
    currentRun: {
      id: "1",
      trigger: "Created",
      phase: "Pending",
      startTime: iso(0),
      phaseStartTime: iso(0),
      ...run,
    },
  };
  return aDrill({ ...over, status });
}

export interface ContainerSpec {
  name: string;
  image: string;
  init?: boolean;
  sidecar?: boolean;
}

export function aTemplate(
  containers: readonly ContainerSpec[],
  extra: Partial<PodTemplateSpec["spec"]> = {},
  annotations?: Record<string, string>,
): PodTemplateSpec {
  const build = (c: ContainerSpec): Container => ({
    name: c.name,
    image: c.image,
    ...(c.sidecar === true ? { restartPolicy: "Always" } : {}),
  });
  const init = containers.filter(c => c.init === true).map(build);
  return {
    metadata: { labels: { app: "web" }, ...(annotations === undefined ? {} : { annotations }) },
    spec: {
      containers: containers.filter(c => c.init !== true).map(build),
      ...(init.length > 0 ? { initContainers: init } : {}),
      ...extra,
    },
  };
}

export function withHash(template: PodTemplateSpec, hash: string): PodTemplateSpec {
  return {
    ...template,
    metadata: {
      ...template.metadata,
      labels: { ...template.metadata?.labels, "pod-template-hash": hash },
    },
  };
}

/** Container statuses: running, Ready, with the given digests (name -> digest). */
export function readyStatuses(
  template: PodTemplateSpec,
  digests: Record<string, string>,
): { init: ContainerStatusView[]; main: ContainerStatusView[] } {
  const status = (c: Container, init: boolean): ContainerStatusView => ({
    name: c.name,
    image: c.image,
    ...(digests[c.name] === undefined
      ? {}
      : { imageID: `docker.io/library/x@${digests[c.name] ?? ""}` }),
    ready: !init || c.restartPolicy === "Always",
    restartCount: 0,
    state:
      init && c.restartPolicy !== "Always"
        ? { terminated: { exitCode: 0, reason: "Completed" } }
        : { running: { startedAt: iso(0) } },
  });
  return {
    init: (template.spec.initContainers ?? []).map(c => status(c, true)),
    main: template.spec.containers.map(c => status(c, false)),
  };
}

export function aPod(
  name: string,
  hash: string,
  template: PodTemplateSpec,
  digests: Record<string, string>,
  ready = true,
): PodView {
  const s = readyStatuses(template, digests);
  return {
    metadata: {
      name,
      labels: { app: "web", "pod-template-hash": hash },
      creationTimestamp: iso(0),
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      containerStatuses: s.main,
      ...(s.init.length > 0 ? { initContainerStatuses: s.init } : {}),
    },
  };
}

/** A pod whose container `name` waits with this reason (and optionally crashed before). */
export function aFailingPod(
  pod: PodView,
  container: string,
  reason: string,
  extra: Partial<ContainerStatusView> = {},
): PodView {
  const patch = (s: ContainerStatusView): ContainerStatusView =>
    s.name === container
      ? {
          ...s,
          ready: false,
          state: { waiting: { reason, message: `${reason} for ${container}` } },
          ...extra,
        }
      : s;
  return {
    ...pod,
    status: {
      ...pod.status,
      conditions: [{ type: "Ready", status: "False" }],
      containerStatuses: (pod.status?.containerStatuses ?? []).map(patch),
      ...(pod.status?.initContainerStatuses === undefined
        ? {}
        : { initContainerStatuses: pod.status.initContainerStatuses.map(patch) }),
    },
  };
}

export interface RevisionSpec {
  revision: number;
  template: PodTemplateSpec;
  hash?: string;
  /** Digests the production pods of this revision run (only the current revision has pods). */
  digests?: Record<string, string>;
}

export function aReplicaSet(
  ownerUid: string,
  rev: { revision: number; template: PodTemplateSpec; hash: string; replicas?: number },
  name = "web",
): ReplicaSetView {
  return {
    metadata: {
      name: `${name}-${rev.hash}`,
      labels: { app: "web", "pod-template-hash": rev.hash },
      annotations: { "deployment.kubernetes.io/revision": String(rev.revision) },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name, uid: ownerUid, controller: true },
      ],
    },
    spec: { replicas: rev.replicas ?? 0, template: withHash(rev.template, rev.hash) },
  };
}

export function aCompleteDeployment(
  template: PodTemplateSpec,
  over: Partial<DeploymentView["spec"]> = {},
  meta: Partial<DeploymentView["metadata"]> = {},
): DeploymentView {
  const replicas = over.replicas ?? 2;
  return {
    metadata: { name: "web", namespace: DRILL_NS, uid: TARGET_UID, generation: 3, ...meta },
    spec: { replicas, selector: { matchLabels: { app: "web" } }, template, ...over },
    status: {
      observedGeneration: meta.generation ?? 3,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    },
  };
}

/** The target Deployment at its highest revision (or `current`), with owned ReplicaSets and pods. */
export function aTarget(
  revisions: readonly RevisionSpec[],
  opts: {
    current?: number;
    spec?: Partial<DeploymentView["spec"]>;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): ObservedTarget {
  const current = opts.current ?? Math.max(...revisions.map(r => r.revision));
  const withHashes = revisions.map(r => ({ ...r, hash: r.hash ?? `h${r.revision}` }));
  const cur = withHashes.find(r => r.revision === current);
  if (cur === undefined) throw new Error("current revision not among revisions");
  const deployment = aCompleteDeployment(cur.template, opts.spec ?? {}, {
    ...(opts.labels === undefined ? {} : { labels: opts.labels }),
    annotations: { "deployment.kubernetes.io/revision": String(current), ...opts.annotations },
  });
  const replicas = deployment.spec.replicas ?? 1;
  return {
    deployment,
    replicaSets: withHashes.map(r =>
      aReplicaSet(TARGET_UID, { ...r, replicas: r.revision === current ? replicas : 0 }),
    ),
    pods: withHashes.flatMap(r =>
      r.digests === undefined
        ? []
        : Array.from({ length: replicas }, (_, i) =>
            aPod(`web-${r.hash}-${String(i)}`, r.hash, r.template, r.digests ?? {}),
          ),
    ),
  };
}

export function anObserved(over: Partial<Observed> = {}): Observed {
  return {
    sources: { configMaps: {}, secrets: {} },
    operator: { serviceAccountName: "rollback-drill-operator", namespace: "rollback-drill-system" },
    ...over,
  };
}

/** The state of a sandbox: which templates ran as ReplicaSets (in order = sandbox revisions), pods, clone. */
export interface SandboxState {
  /** Production templates deployed in the sandbox, oldest first (M, then N). */
  deployed: {
    template: PodTemplateSpec;
    pods?: (hash: string, prepared: PodTemplateSpec) => PodView[];
  }[];
  /** Index into `deployed` of the clone's current template (default: the last). */
  current?: number;
  /** Whether the clone's rollout is complete (default true). */
  complete?: boolean;
  terminating?: boolean;
}

export function aSandbox(
  drill: RollbackDrill,
  runId: string,
  state: SandboxState,
): ObservedSandbox {
  const namespace = sandboxNameFor(drill, runId);
  const prepared = state.deployed.map(d => sandboxTemplate(d.template, drill, runId));
  const currentIndex = state.current ?? prepared.length - 1;
  const currentTemplate = prepared[currentIndex];
  if (currentTemplate === undefined) throw new Error("no current template");
  const cloneUid = "c10e0000-0000-0000-0000-000000000000";
  const replicas = drill.spec.sandbox.replicas;
  const complete = state.complete ?? true;
  const deployment: DeploymentView = {
    metadata: {
      name: "web",
      namespace,
      uid: cloneUid,
      generation: 2,
      labels: sandboxLabels(drill, runId),
      annotations: { "deployment.kubernetes.io/revision": String(prepared.length) },
    },
    spec: { replicas, selector: { matchLabels: { app: "web" } }, template: currentTemplate },
    status: complete
      ? {
          observedGeneration: 2,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
        }
      : {
          observedGeneration: 2,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: 0,
          availableReplicas: 0,
        },
  };
  const replicaSets = prepared.map((template, i) =>
    aReplicaSet(cloneUid, {
      revision: i + 1,
      template,
      hash: `s${String(i + 1)}`,
      replicas: i === currentIndex ? replicas : 0,
    }),
  );
  const pods = state.deployed.flatMap(
    (d, i) => d.pods?.(`s${String(i + 1)}`, prepared[i] ?? currentTemplate) ?? [],
  );
  return {
    namespace: {
      name: namespace,
      labels: sandboxLabels(drill, runId),
      phase: state.terminating === true ? "Terminating" : "Active",
    },
    deployment,
    replicaSets,
    pods,
  };
}

/** Ready sandbox pods running these digests. */
export function readyPods(
  digests: Record<string, string>,
  count = 1,
): (hash: string, t: PodTemplateSpec) => PodView[] {
  return (hash, t) =>
    Array.from({ length: count }, (_, i) => aPod(`web-${hash}-${String(i)}`, hash, t, digests));
}

/**
 * The history most core tests share: revision 1 (M) and the current revision 2 (N), both pinned by
 * digest, N's pods running N's digest; and the sandbox name of run 1 of the default drill.
 */
export const PINNED_M = aTemplate([{ name: "app", image: `r.example.com/web@${sha("m")}` }]);
export const PINNED_N = aTemplate([{ name: "app", image: `r.example.com/web@${sha("n")}` }]);
export const PINNED_TARGET = aTarget([
  { revision: 1, template: PINNED_M },
  { revision: 2, template: PINNED_N, digests: { app: sha("n") } },
]);
export const RUN1_SANDBOX = sandboxNameFor(aDrill(), "1");
