/**
 * The sandbox of one run: its deterministic name, the labels naming its drill and run, the
 * containment objects (RoleBinding for the operator, default-deny NetworkPolicy, token-less
 * service accounts, a quota with no Services), the clone Deployment and the undo patch.
 */
import type { EnvOverride, RollbackDrill } from "../api/types.ts";
import {
  LABEL_DRILL_NAME,
  LABEL_DRILL_NAMESPACE,
  LABEL_DRILL_UID,
  LABEL_MANAGED_BY,
  LABEL_RUN,
  MANAGED_BY,
} from "../api/vocabulary.ts";
import type { Action, DeploymentManifest, JsonPatchOperation, Manifest } from "./actions.ts";
import type {
  AccountSource,
  Container,
  DeploymentView,
  OperatorIdentity,
  PodTemplateSpec,
  ReplicaSetView,
} from "./observed.ts";
import { accountPullSecrets, serviceAccountOf, templateReferences } from "./refs.ts";
import { ANNOTATIONS_TO_SKIP, withoutHash } from "./revisions.ts";
import { DEFAULT_PROGRESS_DEADLINE_SECONDS } from "./verdict.ts";

/** The ClusterRole the operator binds inside each sandbox (config/rbac/sandbox_role.yaml). */
export const SANDBOX_CLUSTER_ROLE = "rollback-drill-sandbox";
export const SANDBOX_ROLE_BINDING = "rollback-drill-sandbox";
export const NETWORK_POLICY_NAME = "rollback-drill-isolation";
export const RESOURCE_QUOTA_NAME = "rollback-drill-quota";
/**
 * The sandbox's stand-in for a template's "default" ServiceAccount: the namespace's own "default"
 * is made by the ServiceAccount controller, so the operator cannot create it with the image pull
 * secrets the target's "default" gives its Pods; an account of its own it can.
 */
export const SANDBOX_DEFAULT_ACCOUNT = "rollback-drill-default";

/** The ServiceAccount a template's Pods run as in the sandbox. */
export function sandboxAccountName(account: string): string {
  return account === "default" ? SANDBOX_DEFAULT_ACCOUNT : account;
}

const MAX_LABEL = 63;

/** Lower-case DNS-1123 label characters only, no leading/trailing dash, at most `max` long. */
function toLabelPart(text: string, max: number): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
  return cleaned === "" ? "x" : cleaned;
}

/**
 * The sandbox namespace of a run: spec.sandbox.namespace when set, else
 * `rbd-<drill name, truncated>-<first 6 of the drill uid>-<run id>`, a DNS-1123 label of at most
 * 63 characters. The uid part keeps a recreated drill of the same name from meeting the old one's
 * sandbox.
 */
export function sandboxNameFor(drill: RollbackDrill, runId: string): string {
  const fixed = drill.spec.sandbox.namespace;
  if (fixed !== undefined) return fixed;
  const uid = toLabelPart(drill.metadata.uid.replace(/-/g, ""), 6);
  const run = toLabelPart(runId, 12);
  const room = MAX_LABEL - "rbd-".length - uid.length - run.length - 2;
  const name = toLabelPart(drill.metadata.name, room);
  return `rbd-${name}-${uid}-${run}`;
}

/** Labels on the sandbox namespace and every object in it. */
export function sandboxLabels(drill: RollbackDrill, runId: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_DRILL_NAMESPACE]: drill.metadata.namespace,
    [LABEL_DRILL_NAME]: toLabelPart(drill.metadata.name, MAX_LABEL),
    [LABEL_DRILL_UID]: drill.metadata.uid,
    [LABEL_RUN]: toLabelPart(runId, MAX_LABEL),
  };
}

/** The labels a namespace must carry before the drill deletes it. */
export function ownershipLabels(drill: RollbackDrill): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_DRILL_UID]: drill.metadata.uid };
}

/** Whether a namespace's labels say this drill owns it. */
export function isOwnedBy(
  labels: Record<string, string> | undefined,
  drill: RollbackDrill,
): boolean {
  return (
    labels?.[LABEL_MANAGED_BY] === MANAGED_BY && labels[LABEL_DRILL_UID] === drill.metadata.uid
  );
}

function applyEnv(container: Container, overrides: readonly EnvOverride[]): Container {
  const mine = overrides.filter(
    o => o.container === undefined || o.container === "" || o.container === container.name,
  );
  if (mine.length === 0) return container;
  const env = [...(container.env ?? [])];
  for (const o of mine) {
    const at = env.findIndex(e => e.name === o.name);
    const entry = { name: o.name, value: o.value };
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  return { ...container, env };
}

/**
 * A production template made fit for the sandbox: imagePullPolicy Always on every container (a
 * node's cache must not hide a deleted image), env overrides, no service account token, the
 * sandbox's ServiceAccount (sandboxAccountName), labels naming the drill and run, and no
 * pod-template-hash (the sandbox's controller sets its own).
 */
export function sandboxTemplate(
  template: PodTemplateSpec,
  drill: RollbackDrill,
  runId: string,
): PodTemplateSpec {
  const base = withoutHash(template);
  const env = drill.spec.sandbox.env;
  const prepare = (c: Container): Container => applyEnv({ ...c, imagePullPolicy: "Always" }, env);
  const spec = { ...base.spec };
  spec.containers = base.spec.containers.map(prepare);
  if (base.spec.initContainers !== undefined)
    spec.initContainers = base.spec.initContainers.map(prepare);
  spec.automountServiceAccountToken = false;
  // Both fields, as the apiserver stores a template (serviceAccount is the deprecated alias it keeps
  // equal): the clone as read back then equals what was sent, revision for revision.
  spec.serviceAccountName = sandboxAccountName(serviceAccountOf(base));
  spec.serviceAccount = spec.serviceAccountName;
  return {
    ...base,
    metadata: {
      ...(base.metadata ?? {}),
      labels: { ...(base.metadata?.labels ?? {}), ...runPodLabels(drill, runId) },
    },
    spec,
  };
}

function runPodLabels(drill: RollbackDrill, runId: string): Record<string, string> {
  return { [LABEL_DRILL_UID]: drill.metadata.uid, [LABEL_RUN]: toLabelPart(runId, MAX_LABEL) };
}

/**
 * The clone's progressDeadlineSeconds: the target's own (default 600), shortened to a third of
 * what the run's timeout leaves after the stable window (the sandbox makes three rollouts: M, N,
 * the undo), at least 10 s. The deployment controller then reports a rollout that cannot finish
 * (ProgressDeadlineExceeded) while the run still has time to say which container and why.
 */
export function sandboxProgressDeadlineSeconds(
  drill: RollbackDrill,
  target: { spec: { progressDeadlineSeconds?: number } },
): number {
  const { timeoutSeconds, stableSeconds } = drill.spec.checks;
  const budget = Math.max(10, Math.floor((timeoutSeconds - stableSeconds) / 3));
  return Math.min(target.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS, budget);
}

/** The clone: the target's name and selector, revision M's template, spec.sandbox.replicas. */
export function cloneManifest(
  drill: RollbackDrill,
  runId: string,
  namespace: string,
  target: DeploymentView,
  template: PodTemplateSpec,
): DeploymentManifest {
  const spec = target.spec;
  const selector = spec.selector;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: target.metadata.name, namespace, labels: sandboxLabels(drill, runId) },
    spec: {
      replicas: drill.spec.sandbox.replicas,
      selector,
      template: sandboxTemplate(template, drill, runId),
      revisionHistoryLimit: 10,
      ...(spec.strategy === undefined ? {} : { strategy: spec.strategy }),
      ...(spec.minReadySeconds === undefined ? {} : { minReadySeconds: spec.minReadySeconds }),
      progressDeadlineSeconds: sandboxProgressDeadlineSeconds(drill, target),
    },
  };
}

/**
 * The body `kubectl rollout undo` PATCHes (json-patch): the ReplicaSet's template without its
 * pod-template-hash label, and the annotations rebuilt from the Deployment's values for the
 * skipped keys plus every other ReplicaSet annotation.
 */
export function undoPatch(
  deployment: DeploymentView,
  replicaSet: ReplicaSetView,
): JsonPatchOperation[] {
  const annotations: Record<string, string> = {};
  const own = deployment.metadata.annotations ?? {};
  for (const key of ANNOTATIONS_TO_SKIP) {
    const value = own[key];
    if (value !== undefined) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(replicaSet.metadata.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.includes(key)) annotations[key] = value;
  const template = withoutHash(replicaSet.spec.template);
  return [
    { op: "replace", path: "/spec/template", value: template },
    { op: "replace", path: "/metadata/annotations", value: annotations },
  ];
}

export interface SandboxPlan {
  drill: RollbackDrill;
  runId: string;
  namespace: string;
  /** Templates of revisions M and N (production), for service accounts and references. */
  templates: readonly PodTemplateSpec[];
  operator: OperatorIdentity;
  /** The quota's pods; default spec.sandbox.replicas * 3 + 2 (a Deployment clone's surge). */
  podQuota?: number;
}

/** What the target's namespace holds for the sandbox: objects present to copy, and the accounts. */
export interface SandboxSources {
  configMaps: ReadonlySet<string>;
  secrets: ReadonlySet<string>;
  accounts?: Readonly<Record<string, AccountSource>>;
}

function meta(plan: SandboxPlan, name: string): Manifest["metadata"] {
  return { name, namespace: plan.namespace, labels: sandboxLabels(plan.drill, plan.runId) };
}

function networkPolicy(plan: SandboxPlan): Manifest | undefined {
  const mode = plan.drill.spec.sandbox.networkIsolation;
  if (mode === "None") return undefined;
  const dns = [
    {
      to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
      ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
    },
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(plan, NETWORK_POLICY_NAME),
    spec: {
      podSelector: {},
      policyTypes: mode === "DenyAll" ? ["Ingress", "Egress"] : ["Egress"],
      ...(mode === "DenyAll" ? { ingress: [] } : {}),
      egress: dns,
    },
  };
}

/**
 * Everything the sandbox needs before the clone, in order: the namespace, the RoleBinding that
 * gives the operator its rights inside it (first, the rest needs it), isolation, quota, service
 * accounts without token automount (with the image pull secrets the target's accounts give their
 * Pods), then the copies of referenced ConfigMaps and of Secrets (image pull secrets and those
 * spec.sandbox.copySecrets lists) that exist.
 */
export function sandboxSetupActions(plan: SandboxPlan, present: SandboxSources): Action[] {
  const { drill, namespace } = plan;
  const labels = sandboxLabels(drill, plan.runId);
  const actions: Action[] = [{ type: "CreateNamespace", name: namespace, labels }];
  actions.push({
    type: "CreateObject",
    manifest: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(plan, SANDBOX_ROLE_BINDING),
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: SANDBOX_CLUSTER_ROLE,
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: plan.operator.serviceAccountName,
          namespace: plan.operator.namespace,
        },
      ],
    },
  });
  const policy = networkPolicy(plan);
  if (policy !== undefined) actions.push({ type: "CreateObject", manifest: policy });
  actions.push({
    type: "CreateObject",
    manifest: {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: meta(plan, RESOURCE_QUOTA_NAME),
      spec: {
        hard: {
          pods: String(plan.podQuota ?? drill.spec.sandbox.replicas * 3 + 2),
          services: "0",
          "services.loadbalancers": "0",
          "services.nodeports": "0",
        },
      },
    },
  });
  actions.push(...accountActions(plan, present));
  actions.push(...copyActions(plan, present));
  return actions;
}

/**
 * One ServiceAccount per account the templates run as (sandboxAccountName), without token
 * automount, listing the pull secrets admission gives the target's Pods that are copied.
 */
function accountActions(plan: SandboxPlan, present: SandboxSources): Action[] {
  const pulls = new Map<string, Set<string>>();
  for (const template of plan.templates) {
    const name = sandboxAccountName(serviceAccountOf(template));
    const secrets = pulls.get(name) ?? new Set<string>();
    for (const secret of accountPullSecrets(template, present.accounts))
      if (present.secrets.has(secret)) secrets.add(secret);
    pulls.set(name, secrets);
  }
  return [...pulls.keys()].sort().map((name): Action => {
    const secrets = [...(pulls.get(name) ?? [])].sort();
    return {
      type: "CreateObject",
      manifest: {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: meta(plan, name),
        automountServiceAccountToken: false,
        ...(secrets.length === 0 ? {} : { imagePullSecrets: secrets.map(n => ({ name: n })) }),
      },
    };
  });
}

function copyActions(plan: SandboxPlan, present: SandboxSources): Action[] {
  const source = plan.drill.metadata.namespace;
  const labels = sandboxLabels(plan.drill, plan.runId);
  const refs = plan.templates.flatMap(t => templateReferences(t, present.accounts));
  const configMaps = plan.drill.spec.sandbox.copyReferencedConfigMaps
    ? [...new Set(refs.filter(r => r.kind === "ConfigMap").map(r => r.name))].filter(n =>
        present.configMaps.has(n),
      )
    : [];
  const wanted = new Set([
    ...refs.filter(r => r.pull).map(r => r.name),
    ...plan.drill.spec.sandbox.copySecrets,
  ]);
  const secrets = [...wanted].filter(n => present.secrets.has(n));
  const key = (name: string): { namespace: string; name: string } => ({ namespace: source, name });
  const to = (name: string): { namespace: string; name: string } => ({
    namespace: plan.namespace,
    name,
  });
  return [
    ...configMaps
      .sort()
      .map((name): Action => ({ type: "CopyConfigMap", from: key(name), to: to(name), labels })),
    ...secrets
      .sort()
      .map((name): Action => ({ type: "CopySecret", from: key(name), to: to(name), labels })),
  ];
}
