/**
 * gather: reads what decide() needs, mostly from the informers' caches (list+watch), so a drill
 * costs no GETs while it waits. Only three things are read directly, and only when the run needs
 * them: the ConfigMaps and Secrets to copy (the operator may not watch those), in the phases that
 * look at them; and a crashed sandbox container's last log lines, once per crash (cached by pod,
 * container and restart count).
 */
import type { RollbackDrill } from "../api/types.ts";
import type { RunPhase } from "../api/vocabulary.ts";
import type {
  AccountSource,
  ContainerStatusView,
  ControllerRevisionView,
  DeploymentView,
  Observed,
  ObservedSandbox,
  ObservedSetTarget,
  ObservedTarget,
  OperatorIdentity,
  PodTemplateSpec,
  PodView,
  ReplicaSetView,
  SetView,
  SourceState,
} from "../core/observed.ts";
import type { SetKind } from "../core/actions.ts";
import { sandboxNamespaceToObserve } from "../core/observed.ts";
import { revisionTemplate, setReadinessClone } from "../core/statefulset.ts";
import { wantsReadinessLog, type ReadinessClone } from "../core/verdict.ts";
import { accountsToLookUp, objectsToLookUp } from "../core/refs.ts";
import type { KubeClient, ObjectKey } from "../kube/client.ts";
import { BadRequestError, ForbiddenError, NotFoundError, toKubeError } from "../kube/errors.ts";

/** The informer caches gather reads: plain JSON objects (timestamps as strings). */
export interface ClusterCache {
  deployment(namespace: string, name: string): DeploymentView | undefined;
  deployments(namespace: string): readonly DeploymentView[];
  replicaSets(namespace: string): readonly ReplicaSetView[];
  /** A StatefulSet or DaemonSet, by kind. */
  set(kind: SetKind, namespace: string, name: string): SetView | undefined;
  sets(kind: SetKind, namespace: string): readonly SetView[];
  controllerRevisions(namespace: string): readonly ControllerRevisionView[];
  pods(namespace: string): readonly PodView[];
  namespace(name: string): NamespaceView | undefined;
}

export interface NamespaceView {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

export interface GatherDeps {
  readonly cache: ClusterCache;
  readonly kube: KubeClient;
  readonly operator: OperatorIdentity;
  readonly logs: LogCache;
  /** The operator's clock, for how long a sandbox container has been unready; default real time. */
  readonly clock?: { now(): Date };
}

/** Phases in which decide() reads Observed.sources. */
const SOURCE_PHASES: readonly RunPhase[] = ["Pending", "Resolving", "Preflight", "CreatingSandbox"];
/** Phases in which a sandbox crash may become the verdict, so its logs are worth a request. */
const LOG_PHASES: readonly RunPhase[] = [
  "DeployingPrevious",
  "DeployingCurrent",
  "RollingBack",
  "Verifying",
];
/** Lines of a crashed container's log kept for the verdict's message. */
export const LOG_TAIL_LINES = 20;

export async function gather(drill: RollbackDrill, deps: GatherDeps): Promise<Observed> {
  const phase = drill.status?.currentRun?.phase;
  const isSet = drill.spec.targetRef.kind !== "Deployment";
  const target = isSet ? undefined : gatherTarget(drill, deps.cache);
  const setTarget = isSet ? gatherSetTarget(drill, deps.cache) : undefined;
  const sandbox = await gatherSandbox(drill, deps, phase);
  const templates =
    target?.replicaSets.map(rs => rs.spec.template) ??
    setTarget?.controllerRevisions.flatMap(r => revisionTemplate(r) ?? []);
  const sources =
    phase !== undefined && SOURCE_PHASES.includes(phase) && templates !== undefined
      ? await gatherSources(drill, templates, deps.kube)
      : { configMaps: {}, secrets: {} };
  return {
    ...(target === undefined ? {} : { target }),
    ...(setTarget === undefined ? {} : { setTarget }),
    ...(sandbox === undefined ? {} : { sandbox }),
    sources,
    operator: deps.operator,
  };
}

function isControlledBy(
  meta: { ownerReferences?: { uid: string; controller?: boolean }[] },
  uid: string | undefined,
): boolean {
  return (
    uid !== undefined &&
    (meta.ownerReferences ?? []).some(o => o.uid === uid && o.controller === true)
  );
}

/** A Deployment, the ReplicaSets it controls, and their pods. */
function ownedTree(
  cache: ClusterCache,
  deployment: DeploymentView,
  namespace: string,
): { replicaSets: ReplicaSetView[]; pods: PodView[] } {
  const replicaSets = cache
    .replicaSets(namespace)
    .filter(rs => isControlledBy(rs.metadata, deployment.metadata.uid));
  const rsUids = new Set(replicaSets.map(rs => rs.metadata.uid));
  const pods = cache
    .pods(namespace)
    .filter(p =>
      (p.metadata.ownerReferences ?? []).some(o => o.controller === true && rsUids.has(o.uid)),
    );
  return { replicaSets, pods };
}

export function gatherTarget(
  drill: RollbackDrill,
  cache: ClusterCache,
): ObservedTarget | undefined {
  const namespace = drill.metadata.namespace;
  const deployment = cache.deployment(namespace, drill.spec.targetRef.name);
  if (deployment === undefined) return undefined;
  return { deployment, ...ownedTree(cache, deployment, namespace) };
}

/** The target's kind when it is a set's (StatefulSet or DaemonSet). */
function setKindOf(drill: RollbackDrill): SetKind | undefined {
  const kind = drill.spec.targetRef.kind;
  return kind === "Deployment" ? undefined : kind;
}

/** A StatefulSet or DaemonSet, the ControllerRevisions it controls, and its pods. */
function setTree(
  cache: ClusterCache,
  set: SetView,
  namespace: string,
): { controllerRevisions: ControllerRevisionView[]; pods: PodView[] } {
  const uid = set.metadata.uid;
  return {
    controllerRevisions: cache
      .controllerRevisions(namespace)
      .filter(r => isControlledBy(r.metadata, uid)),
    pods: cache.pods(namespace).filter(p => isControlledBy(p.metadata, uid)),
  };
}

export function gatherSetTarget(
  drill: RollbackDrill,
  cache: ClusterCache,
): ObservedSetTarget | undefined {
  const namespace = drill.metadata.namespace;
  const kind = setKindOf(drill);
  const set =
    kind === undefined ? undefined : cache.set(kind, namespace, drill.spec.targetRef.name);
  if (set === undefined) return undefined;
  return { set, ...setTree(cache, set, namespace) };
}

async function gatherSandbox(
  drill: RollbackDrill,
  deps: GatherDeps,
  phase: RunPhase | undefined,
): Promise<ObservedSandbox | undefined> {
  const name = sandboxNamespaceToObserve(drill);
  if (name === undefined) return undefined;
  const ns = deps.cache.namespace(name) ?? (await unwatchedNamespace(drill, name, deps, phase));
  if (ns === undefined) return undefined;
  const terminating =
    ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === "Terminating";
  const namespace = {
    name,
    ...(ns.metadata.labels === undefined ? {} : { labels: ns.metadata.labels }),
    phase: terminating ? "Terminating" : "Active",
  };
  const logged = (pods: PodView[], clone: ReadinessClone): Promise<PodView[]> | PodView[] =>
    phase !== undefined && LOG_PHASES.includes(phase)
      ? Promise.all(pods.map(p => withLogs(p, clone, deps)))
      : pods;
  const kind = setKindOf(drill);
  if (kind !== undefined) {
    const sets = deps.cache.sets(kind, name);
    const set = sets.find(d => d.metadata.name === drill.spec.targetRef.name) ?? sets[0];
    if (set === undefined) return { namespace, replicaSets: [], pods: [] };
    const tree = setTree(deps.cache, set, name);
    const pods = await logged(tree.pods, setReadinessClone(drill, set));
    return {
      namespace,
      replicaSets: [],
      set,
      controllerRevisions: tree.controllerRevisions,
      pods,
    };
  }
  const deployments = deps.cache.deployments(name);
  const deployment =
    deployments.find(d => d.metadata.name === drill.spec.targetRef.name) ?? deployments[0];
  if (deployment === undefined) return { namespace, replicaSets: [], pods: [] };
  const tree = ownedTree(deps.cache, deployment, name);
  const pods = await logged(tree.pods, deployment);
  return { namespace, deployment, replicaSets: tree.replicaSets, pods };
}

/**
 * The cache holds only namespaces labelled as sandboxes. A fixed spec.sandbox.namespace that
 * exists without those labels (someone else's namespace) must still be seen before the run
 * creates anything, or the sandbox would be built inside it: read it directly, until the run has
 * created its own.
 */
async function unwatchedNamespace(
  drill: RollbackDrill,
  name: string,
  deps: GatherDeps,
  phase: RunPhase | undefined,
): Promise<NamespaceView | undefined> {
  if (drill.spec.sandbox.namespace !== name) return undefined;
  if (phase !== undefined && !SOURCE_PHASES.includes(phase)) return undefined;
  try {
    const ns = await deps.kube.getNamespace(name);
    return {
      metadata: {
        name,
        ...(ns.metadata?.labels === undefined ? {} : { labels: ns.metadata.labels }),
        ...(ns.metadata?.deletionTimestamp === undefined
          ? {}
          : { deletionTimestamp: new Date(ns.metadata.deletionTimestamp).toISOString() }),
      },
      ...(ns.status?.phase === undefined ? {} : { status: { phase: ns.status.phase } }),
    };
  } catch (err) {
    if (toKubeError(err) instanceof NotFoundError) return undefined;
    throw toKubeError(err);
  }
}

async function sourceState(read: () => Promise<unknown>): Promise<SourceState> {
  return (await readSource(read)).state;
}

/** Reads one source object: Present with the object, or Missing / Forbidden without. */
async function readSource<T>(
  read: () => Promise<T>,
): Promise<{ state: "Present"; object: T } | { state: "Missing" | "Forbidden" }> {
  try {
    return { state: "Present", object: await read() };
  } catch (err) {
    const e = toKubeError(err);
    if (e instanceof NotFoundError) return { state: "Missing" };
    if (e instanceof ForbiddenError) return { state: "Forbidden" };
    throw e;
  }
}

/** The templates' ServiceAccounts and the pull secrets each gives its Pods. */
async function gatherAccounts(
  namespace: string,
  templates: readonly PodTemplateSpec[],
  kube: KubeClient,
): Promise<Record<string, AccountSource>> {
  const accounts: Record<string, AccountSource> = {};
  await Promise.all(
    accountsToLookUp(templates).map(async name => {
      const read = await readSource(() => kube.getServiceAccount({ namespace, name }));
      accounts[name] = {
        state: read.state,
        imagePullSecrets:
          read.state === "Present"
            ? (read.object.imagePullSecrets ?? []).flatMap(s => (s.name ? [s.name] : []))
            : [],
      };
    }),
  );
  return accounts;
}

async function gatherSources(
  drill: RollbackDrill,
  templates: readonly PodTemplateSpec[],
  kube: KubeClient,
): Promise<Observed["sources"]> {
  const namespace = drill.metadata.namespace;
  const serviceAccounts = await gatherAccounts(namespace, templates, kube);
  const wanted = objectsToLookUp(drill, templates, serviceAccounts);
  const configMaps: Record<string, SourceState> = {};
  const secrets: Record<string, SourceState> = {};
  await Promise.all([
    ...wanted.configMaps.map(async name => {
      configMaps[name] = await sourceState(() => kube.getConfigMap({ namespace, name }));
    }),
    ...wanted.secrets.map(async name => {
      secrets[name] = await sourceState(() => kube.getSecret({ namespace, name }));
    }),
  ]);
  return { configMaps, secrets, serviceAccounts };
}

/** Last log lines by pod uid, container, restart count and instance: each crash is read once. */
export interface LogCache {
  get(key: string): string[] | undefined;
  set(key: string, lines: string[]): void;
}

export function createLogCache(capacity = 512): LogCache {
  const entries = new Map<string, string[]>();
  return {
    get: key => entries.get(key),
    set(key, lines) {
      entries.delete(key);
      entries.set(key, lines);
      while (entries.size > capacity) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
  };
}

function crashedInstance(status: ContainerStatusView): { previous: boolean } | undefined {
  if (status.state?.terminated !== undefined) return { previous: false };
  if (status.lastState?.terminated !== undefined) return { previous: true };
  return undefined;
}

async function withLogs(pod: PodView, clone: ReadinessClone, deps: GatherDeps): Promise<PodView> {
  const status = pod.status;
  if (status === undefined) return pod;
  const key: ObjectKey = { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name };
  const fill = async (list: ContainerStatusView[] | undefined) =>
    list === undefined
      ? undefined
      : Promise.all(
          list.map(c =>
            wantsReadinessLog(pod, c, clone, (deps.clock?.now() ?? new Date()).getTime())
              ? unreadyWithLogs(pod, key, c, deps)
              : containerWithLogs(pod, key, c, deps),
          ),
        );
  const [containerStatuses, initContainerStatuses] = await Promise.all([
    fill(status.containerStatuses),
    fill(status.initContainerStatuses),
  ]);
  return {
    ...pod,
    status: {
      ...status,
      ...(containerStatuses === undefined ? {} : { containerStatuses }),
      ...(initContainerStatuses === undefined ? {} : { initContainerStatuses }),
    },
  };
}

/** The kubelet's body for a log it cannot read (pkg/kubelet/kuberuntime, ReadLogs). */
const UNRETRIEVABLE_LOG = /^unable to retrieve container logs for \S+$/;

/**
 * The crashed instance's last lines. The status may be older than the node: if the kubelet has
 * already restarted the container, the current instance is the new one (its log empty so far) and
 * the crash is the previous instance, so an empty current log is followed by the previous one.
 */
async function readCrashLog(
  key: ObjectKey,
  container: string,
  previous: boolean,
  deps: CrashLogDeps,
): Promise<string[]> {
  const read = async (fromPrevious: boolean): Promise<string[]> => {
    try {
      const text = await deps.kube.readPodLog(key, {
        container,
        previous: fromPrevious,
        tailLines: LOG_TAIL_LINES,
      });
      // The kubelet answers 200 with this one line when the container's log file is gone (the
      // instance was just removed or replaced): no lines, so the next observation asks again.
      if (UNRETRIEVABLE_LOG.test(text.trim())) return [];
      return text.split("\n").filter(line => line !== "");
    } catch (err) {
      // The log may be gone (pod replaced), or there is no previous instance (400): no lines.
      const error = toKubeError(err);
      if (error instanceof NotFoundError || error instanceof BadRequestError) return [];
      throw error;
    }
  };
  const lines = await read(previous);
  return lines.length > 0 || previous ? lines : read(true);
}

/**
 * A running container that never became Ready: its current log's last lines, read once it is
 * past its readiness budget (and cached once there are some), so a PodsNotReady says what it did.
 */
async function unreadyWithLogs(
  pod: PodView,
  key: ObjectKey,
  status: ContainerStatusView,
  deps: CrashLogDeps,
): Promise<ContainerStatusView> {
  const cacheKey = `${pod.metadata.uid ?? key.name}/${status.name}/${status.restartCount ?? 0}/unready`;
  let lines = deps.logs.get(cacheKey);
  if (lines === undefined) {
    const read = await readCrashLog(key, status.name, false, deps);
    if (read.length > 0) deps.logs.set(cacheKey, read);
    lines = read;
  }
  return { ...status, lastLogLines: lines };
}

/** What reading a crashed container's log needs. */
export interface CrashLogDeps {
  readonly kube: Pick<KubeClient, "readPodLog">;
  readonly logs: LogCache;
}

/** The container's status with its crashed instance's last log lines, if it crashed. */
export async function containerWithLogs(
  pod: PodView,
  key: ObjectKey,
  status: ContainerStatusView,
  deps: CrashLogDeps,
): Promise<ContainerStatusView> {
  const instance = crashedInstance(status);
  if (instance === undefined) return status;
  const cacheKey = `${pod.metadata.uid ?? key.name}/${status.name}/${status.restartCount ?? 0}/${instance.previous}`;
  let lines = deps.logs.get(cacheKey);
  if (lines === undefined) {
    lines = await readCrashLog(key, status.name, instance.previous, deps);
    // An empty answer is not remembered: the next observation asks again.
    if (lines.length > 0) deps.logs.set(cacheKey, lines);
  }
  return { ...status, lastLogLines: lines };
}
