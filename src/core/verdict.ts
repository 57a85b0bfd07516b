/**
 * Reading the sandbox: whether the clone's rollout is complete, which pods belong to a template,
 * and the first failure among them (pull failures, crash loops, containers that cannot start), each
 * with a message that names the container and says what to do.
 */
import type { Reason } from "../api/vocabulary.ts";
import { allStatuses, describeContainer } from "./digest.ts";
import type {
  Container,
  ContainerStatusView,
  DeploymentView,
  ObservedSandbox,
  PodTemplateSpec,
  PodView,
  Probe,
  ReplicaSetView,
} from "./observed.ts";
import { equalIgnoreHash, templateHashOf } from "./revisions.ts";
import { parseTime } from "./time.ts";

export const PULL_FAILURES = [
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "ImageInspectError",
  "RegistryUnavailable",
  "SignatureValidationFailed",
] as const;

export const START_FAILURES = [
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "PreStartHookError",
  "PostStartHookError",
  "PreCreateHookError",
] as const;

export interface Finding {
  reason: Reason;
  message: string;
  container?: string;
}

/** `kubectl rollout status`'s success test. */
export function isRolloutComplete(deployment: DeploymentView): boolean {
  const desired = deployment.spec.replicas ?? 1;
  const status = deployment.status ?? {};
  return (
    (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0) &&
    (status.updatedReplicas ?? 0) === desired &&
    (status.replicas ?? 0) === desired &&
    (status.availableReplicas ?? 0) === desired
  );
}

/**
 * The deployment controller gave up on the rollout: Progressing is False with reason
 * ProgressDeadlineExceeded (pkg/controller/deployment/progress.go). With a ReplicaSet, only when
 * the condition speaks of it ("ReplicaSet %q has timed out progressing."), since the condition of
 * an earlier rollout stays until the controller sees progress on the next one.
 */
export function hasExceededDeadline(
  deployment: Pick<DeploymentView, "status">,
  replicaSet?: ReplicaSetView,
): boolean {
  return (
    deployment.status?.conditions?.some(
      c =>
        c.type === "Progressing" &&
        c.reason === "ProgressDeadlineExceeded" &&
        (replicaSet === undefined || (c.message ?? "").includes(`"${replicaSet.metadata.name}"`)),
    ) ?? false
  );
}

/** The deployment controller's default progressDeadlineSeconds. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** How a probe is named in a message: its handler and its timing. */
export function describeProbe(kind: string, probe: Probe | undefined): string {
  if (probe === undefined) return `no ${kind} probe`;
  const handler =
    probe.exec !== undefined
      ? `exec [${(probe.exec.command ?? []).join(" ")}]`
      : probe.httpGet !== undefined
        ? `httpGet ${(probe.httpGet.scheme ?? "HTTP").toLowerCase()}://${probe.httpGet.host ?? ""}:${String(probe.httpGet.port ?? "")}${probe.httpGet.path ?? "/"}`
        : probe.tcpSocket !== undefined
          ? `tcpSocket :${String(probe.tcpSocket.port ?? "")}`
          : probe.grpc !== undefined
            ? `grpc :${String(probe.grpc.port ?? "")}${probe.grpc.service === undefined ? "" : ` ${probe.grpc.service}`}`
            : "(no handler)";
  return (
    `${kind} probe ${handler} (initialDelaySeconds ${probe.initialDelaySeconds ?? 0}, periodSeconds ` +
    `${probe.periodSeconds ?? 10}, failureThreshold ${probe.failureThreshold ?? 3})`
  );
}

/** Seconds a probe may fail before it counts as failed: initialDelay + period x failureThreshold. */
function probeBudgetSeconds(probe: Probe | undefined): number {
  if (probe === undefined) return 0;
  return (
    (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)
  );
}

/**
 * How long a running container may stay unready before the drill calls it never Ready: the
 * clone's progressDeadlineSeconds (what the deployment controller allows the rollout), and never
 * less than its own probes allow (a startup probe's budget, then the readiness probe's).
 */
export function readinessBudgetSeconds(
  container: Container | undefined,
  deadlineSeconds: number,
): number {
  return Math.max(
    deadlineSeconds,
    probeBudgetSeconds(container?.startupProbe) + probeBudgetSeconds(container?.readinessProbe),
  );
}

export interface NotReadyContext extends Context {
  /** The clone's progressDeadlineSeconds. */
  deadlineSeconds: number;
  /** The deployment controller has marked this rollout ProgressDeadlineExceeded. */
  deadlineExceeded: boolean;
}

/**
 * Pods that run but never become Ready, found as the deployment controller finds them (its
 * progress deadline passed) and from the pods (a container running, unready, past its readiness
 * budget): PodsNotReady naming the container, its readiness probe and its last log lines. When
 * the deadline passed with no container running (pods Pending, images still pulling), the finding
 * says what each pod is waiting for.
 */
export function notReadyFinding(
  pods: readonly PodView[],
  ctx: NotReadyContext,
): Finding | undefined {
  const containers = ctx.template.spec.containers.concat(ctx.template.spec.initContainers ?? []);
  const unschedulable = unschedulableFinding(pods, ctx);
  if (unschedulable !== undefined) return unschedulable;
  for (const pod of pods) {
    if (isPodReady(pod)) continue;
    for (const s of allStatuses(pod)) {
      if (s.ready === true || s.state?.running === undefined) continue;
      const spec = containers.find(c => c.name === s.name);
      if (isCompletedInit(s, ctx.template)) continue;
      const started = parseTime(s.state.running.startedAt);
      const runningMs = started === undefined ? 0 : ctx.nowMs - started;
      const budget = readinessBudgetSeconds(spec, ctx.deadlineSeconds);
      if (!ctx.deadlineExceeded && runningMs <= budget * 1000) continue;
      // Running again after a crash, out of time: it keeps crashing, which is no readiness problem.
      const last = s.lastState?.terminated;
      if ((s.restartCount ?? 0) > 0 && last !== undefined && (last.exitCode ?? 0) !== 0)
        return crashFinding(pod, s, ctx);
      return neverReadyFinding(pod, s, spec, ctx, { runningMs, budget });
    }
  }
  if (!ctx.deadlineExceeded) return undefined;
  return {
    reason: "PodsNotReady",
    message:
      `Pods of revision ${ctx.revision} did not become Ready ${ctx.when} within the clone's progressDeadlineSeconds ` +
      `(${ctx.deadlineSeconds}s: Progressing is False, ProgressDeadlineExceeded): ${describeUnready(pods, ctx.template)}. ` +
      `Check scheduling, quotas and image pulls of revision ${ctx.revision}, or a real rollback stalls the same way.`,
  };
}

/** The scheduler's verdict on a pod it could not place: PodScheduled False, with its reason. */
function unscheduled(pod: PodView): { reason: string; message: string; since: number } | undefined {
  const c = pod.status?.conditions?.find(x => x.type === "PodScheduled" && x.status === "False");
  if (c === undefined) return undefined;
  return {
    reason: c.reason ?? "Unschedulable",
    message: c.message ?? "",
    since: parseTime(c.lastTransitionTime) ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * A pod the scheduler has not placed for longer than the clone's progress deadline: it will not
 * start without a change to the cluster (an unbound PersistentVolumeClaim, no node that fits or
 * tolerates it, a host port taken), whatever the kind's controller does, so the finding does not
 * wait for a Deployment's ProgressDeadlineExceeded (a StatefulSet or DaemonSet has none).
 */
function unschedulableFinding(pods: readonly PodView[], ctx: NotReadyContext): Finding | undefined {
  for (const pod of pods) {
    const why = unscheduled(pod);
    if (why === undefined || ctx.nowMs - why.since <= ctx.deadlineSeconds * 1000) continue;
    const claims = /PersistentVolumeClaim/i.test(why.message)
      ? " The clone's volumeClaimTemplates are fresh claims in the sandbox (spec.sandbox.volumes: Claims): on a cluster that provisions no volume for them, set spec.sandbox.volumes: EmptyDir."
      : "";
    return {
      reason: "PodsNotReady",
      message:
        `Pod ${pod.metadata.name} of revision ${ctx.revision} could not be scheduled ${ctx.when} for over ${ctx.deadlineSeconds}s (${why.reason}: ${why.message || "no message"}): ` +
        `a real rollback to revision ${ctx.revision} would stall the same way wherever the same holds.${claims}`,
    };
  }
  return undefined;
}

/**
 * What the readiness budget reads of a clone: its template, its progress deadline, and (a
 * Deployment's) whether the controller marked it exceeded. A StatefulSet clone, which has no
 * deadline, stands in with the budget its phases use (setReadinessClone).
 */
export interface ReadinessClone {
  spec: { template: PodTemplateSpec; progressDeadlineSeconds?: number };
  status?: NonNullable<DeploymentView["status"]>;
}

/**
 * Whether a running, unready container's log is worth reading for a not-Ready finding: the
 * clone's rollout passed its deadline, or the container has run unready past its readiness
 * budget. Before that, readiness may still come, and the read would cost a request per pod start.
 */
export function wantsReadinessLog(
  pod: PodView,
  status: ContainerStatusView,
  clone: ReadinessClone,
  nowMs: number,
): boolean {
  if (isPodReady(pod) || status.ready === true || status.state?.running === undefined) return false;
  if (hasExceededDeadline(clone)) return true;
  const started = parseTime(status.state.running.startedAt);
  if (started === undefined) return false;
  const spec = clone.spec.template.spec.containers
    .concat(clone.spec.template.spec.initContainers ?? [])
    .find(c => c.name === status.name);
  const deadline = clone.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  return nowMs - started > readinessBudgetSeconds(spec, deadline) * 1000;
}

function neverReadyFinding(
  pod: PodView,
  s: ContainerStatusView,
  spec: Container | undefined,
  ctx: NotReadyContext,
  { runningMs, budget }: { runningMs: number; budget: number },
): Finding {
  const who = describeContainer(s.name, ctx.template);
  const why = ctx.deadlineExceeded
    ? `the clone's rollout exceeded its progressDeadlineSeconds (${ctx.deadlineSeconds}s: Progressing is False, ProgressDeadlineExceeded)`
    : `it has run for ${Math.round(runningMs / 1000)}s without becoming Ready, past its readiness budget of ${budget}s (progressDeadlineSeconds ${ctx.deadlineSeconds}s)`;
  const probe =
    spec?.readinessProbe === undefined
      ? "it has no readiness probe"
      : `its ${describeProbe("readiness", spec.readinessProbe)} keeps failing`;
  const startup =
    spec?.startupProbe === undefined
      ? ""
      : ` (after its ${describeProbe("startup", spec.startupProbe)})`;
  const lines = s.lastLogLines ?? [];
  const logs =
    lines.length === 0
      ? "no log lines were captured"
      : `last log lines: ${lines.slice(-10).join(" | ")}`;
  return {
    reason: "PodsNotReady",
    container: s.name,
    message:
      `${who} of revision ${ctx.revision} runs but never became Ready ${ctx.when} (pod ${pod.metadata.name}): ` +
      `${why}; ${probe}${startup}; ${logs}. A real rollback to revision ${ctx.revision} would leave pods that ` +
      `never serve: fix what its readiness waits for (the probe's path or port, a dependency, configuration the ` +
      `new release changed).`,
  };
}

/**
 * The earliest time a pod-based finding could appear for these pods by time alone (a running,
 * unready container reaching its readiness budget; a refused pull's retry window closing), so the
 * run looks again then.
 */
export function nextReadinessCheckMs(
  pods: readonly PodView[],
  template: PodTemplateSpec,
  deadlineSeconds: number,
): number | undefined {
  const containers = template.spec.containers.concat(template.spec.initContainers ?? []);
  let next: number | undefined;
  for (const pod of pods) {
    for (const s of allStatuses(pod)) {
      const retryEnds = refusedPullRetryEndsMs(pod, s);
      if (retryEnds !== undefined)
        next = next === undefined ? retryEnds : Math.min(next, retryEnds);
      if (s.ready === true || s.state?.running === undefined) continue;
      const started = parseTime(s.state.running.startedAt);
      if (started === undefined) continue;
      const budget = readinessBudgetSeconds(
        containers.find(c => c.name === s.name),
        deadlineSeconds,
      );
      const at = started + budget * 1000 + 1;
      next = next === undefined ? at : Math.min(next, at);
    }
  }
  return next;
}

/** The sandbox ReplicaSet running this (sandbox) template, if the controller made it. */
export function replicaSetFor(
  sandbox: ObservedSandbox,
  template: PodTemplateSpec,
): ReplicaSetView | undefined {
  return sandbox.replicaSets.find(rs => equalIgnoreHash(rs.spec.template, template));
}

/** Live pods (not being deleted) of the ReplicaSet running this template. */
export function podsFor(sandbox: ObservedSandbox, template: PodTemplateSpec): PodView[] {
  const rs = replicaSetFor(sandbox, template);
  const hash = rs === undefined ? undefined : templateHashOf(rs);
  if (hash === undefined) return [];
  return sandbox.pods.filter(
    p =>
      p.metadata.deletionTimestamp === undefined &&
      p.metadata.labels?.["pod-template-hash"] === hash,
  );
}

export function isPodReady(pod: PodView): boolean {
  return pod.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") ?? false;
}

/** Pods Ready out of the wanted count, all of them running this template. */
export function readyCount(pods: readonly PodView[]): number {
  return pods.filter(isPodReady).length;
}

function waitingReason(status: ContainerStatusView): string | undefined {
  return status.state?.waiting?.reason;
}

function logTail(status: ContainerStatusView): string {
  const lines = status.lastLogLines ?? [];
  if (lines.length === 0) return "no log lines were captured";
  return `last log lines: ${lines.slice(-10).join(" | ")}`;
}

function exitOf(status: ContainerStatusView): string {
  const t = status.lastState?.terminated ?? status.state?.terminated;
  if (t === undefined) return "";
  return ` (exit code ${t.exitCode ?? "?"}${t.reason === undefined ? "" : `, ${t.reason}`})`;
}

export interface Context {
  template: PodTemplateSpec;
  revision: number;
  /** "after the rollback" / "before the roll forward": when the failure happened. */
  when: string;
  nowMs: number;
}

/**
 * How long after a container's first pull a registry's refusal of credentials may still be the
 * kubelet's own race, in ms. Before each pull the kubelet reads the pod's image pull secrets
 * through a watch it opens for them, and waits one second for it (pkg/kubelet/util/manager/
 * watch_based_manager.go); when the node authorizer has not yet linked the new pod to them, the
 * read fails, the kubelet pulls without them (event FailedToRetrieveImagePullSecret) and the
 * registry answers 401. The kubelet pulls again after its image back-off (10 s, kubelet.go
 * imageBackOffPeriod), with the secrets by then: a real rollback recovers, so the drill waits for
 * that retry (back-off, resync and a pull) before it calls the refusal final.
 */
export const CREDENTIAL_RETRY_MS = 30_000;

/** The registry refused the pull's credentials (or their absence): 401/403, unauthorized, denied. */
const REFUSED_CREDENTIALS = /\b40[13]\b|unauthori[sz]ed|denied|forbidden|authenticat|authoriz/i;

const refusedCredentials = (s: ContainerStatusView): boolean =>
  REFUSED_CREDENTIALS.test(s.state?.waiting?.message ?? "");

/**
 * When the kubelet first pulled this container's image: the pod's start for init containers, the
 * pod's Initialized transition for the others (their pulls begin after the init containers).
 */
function firstPullMs(pod: PodView, s: ContainerStatusView): number | undefined {
  const start = parseTime(pod.status?.startTime);
  const isInit = (pod.status?.initContainerStatuses ?? []).some(i => i.name === s.name);
  if (isInit) return start;
  const initialized = pod.status?.conditions?.find(
    c => c.type === "Initialized" && c.status === "True",
  );
  return parseTime(initialized?.lastTransitionTime) ?? start;
}

/**
 * For a pull the registry refused on credentials: when the kubelet's retry window closes
 * (CREDENTIAL_RETRY_MS after the first pull). Undefined for any other container.
 */
function refusedPullRetryEndsMs(pod: PodView, s: ContainerStatusView): number | undefined {
  if (!isPullFailure(s) || !refusedCredentials(s)) return undefined;
  const first = firstPullMs(pod, s);
  return first === undefined ? undefined : first + CREDENTIAL_RETRY_MS;
}

/** A refused pull the kubelet will still retry with what it lacked the first time: not yet a finding. */
function awaitingPullRetry(pod: PodView, s: ContainerStatusView, nowMs: number): boolean {
  const retryEnds = refusedPullRetryEndsMs(pod, s);
  return retryEnds !== undefined && nowMs < retryEnds;
}

const isPullFailure = (s: ContainerStatusView): boolean =>
  (PULL_FAILURES as readonly string[]).includes(waitingReason(s) ?? "");

function pullFinding(pod: PodView, s: ContainerStatusView, ctx: Context): Finding {
  const who = describeContainer(s.name, ctx.template);
  const image = ctx.template.spec.containers
    .concat(ctx.template.spec.initContainers ?? [])
    .find(c => c.name === s.name)?.image;
  return {
    reason: "ImagePullFailed",
    container: s.name,
    message:
      `${who} of revision ${ctx.revision} cannot pull ${image ?? s.image ?? "its image"} ${ctx.when} ` +
      `(${waitingReason(s) ?? ""}: ${s.state?.waiting?.message ?? ""}; pod ${pod.metadata.name}): ` +
      `a real rollback would fail the same way. ` +
      (refusedCredentials(s)
        ? `The registry refused the pull's credentials, also on the kubelet's retry: check that the Pods' image pull ` +
          `secrets (spec.imagePullSecrets, or their ServiceAccount's) hold credentials this registry accepts.`
        : `Extend the registry's retention to keep the images of at least the last releases you may roll back to, ` +
          `and check image pull secrets.`),
  };
}

function crashFinding(pod: PodView, s: ContainerStatusView, ctx: Context): Finding {
  const who = describeContainer(s.name, ctx.template);
  return {
    reason: "CrashLoop",
    container: s.name,
    message:
      `${who} of revision ${ctx.revision} crash-loops ${ctx.when}${exitOf(s)}, ${s.restartCount ?? 0} restarts, ` +
      `pod ${pod.metadata.name}; ${logTail(s)}. The old version cannot run against what the new one changed ` +
      `(e.g. a forward-only migration): make schema changes expand-contract so the previous release keeps working.`,
  };
}

function startFinding(pod: PodView, s: ContainerStatusView, ctx: Context): Finding {
  const who = describeContainer(s.name, ctx.template);
  const message = s.state?.waiting?.message ?? "";
  return {
    reason: "PodsNotReady",
    container: s.name,
    message:
      `${who} of revision ${ctx.revision} cannot start ${ctx.when} (${waitingReason(s) ?? ""}: ${message}; pod ` +
      `${pod.metadata.name}): restore what revision ${ctx.revision} needs (a ConfigMap or Secret it references may ` +
      `be gone), or a real rollback fails the same way.`,
  };
}

/**
 * A container that exited with an error and is not running again: the kubelet says
 * CrashLoopBackOff only from the second crash on, and a real pod that went Ready first shows the
 * first crash as a terminated state (or a restart waiting to run) while the pod is merely unready.
 */
function crashed(s: ContainerStatusView): boolean {
  if (waitingReason(s) === "CrashLoopBackOff") return true;
  if (s.ready === true || s.state?.running !== undefined) return false;
  const now = s.state?.terminated;
  if (now !== undefined) return (now.exitCode ?? 0) !== 0;
  const last = s.lastState?.terminated;
  return (s.restartCount ?? 0) > 0 && last !== undefined && (last.exitCode ?? 0) !== 0;
}

/** The first failing container of these pods, pull failures first, then crash loops, then start errors. */
export function podFailure(pods: readonly PodView[], ctx: Context): Finding | undefined {
  const checks: [
    (p: PodView, s: ContainerStatusView) => boolean,
    (p: PodView, s: ContainerStatusView, c: Context) => Finding,
  ][] = [
    [(p, s) => isPullFailure(s) && !awaitingPullRetry(p, s, ctx.nowMs), pullFinding],
    [(_, s) => crashed(s), crashFinding],
    [
      (_, s) => (START_FAILURES as readonly string[]).includes(waitingReason(s) ?? ""),
      startFinding,
    ],
  ];
  for (const [matches, build] of checks) {
    for (const pod of pods) {
      const failing = allStatuses(pod).find(s => matches(pod, s));
      if (failing !== undefined) return build(pod, failing, ctx);
    }
  }
  return undefined;
}

/** A ReplicaSet that cannot create pods (e.g. the sandbox quota): the sandbox is at fault. */
export function replicaFailure(rs: ReplicaSetView | undefined): Finding | undefined {
  const failure = rs?.status?.conditions?.find(
    c => c.type === "ReplicaFailure" && c.status === "True",
  );
  if (failure === undefined) return undefined;
  return {
    reason: "SandboxError",
    message: `The sandbox cannot create pods (${failure.reason ?? "ReplicaFailure"}: ${failure.message ?? ""}): check the sandbox's quota and admission policies.`,
  };
}

/** Why pods are not Ready, for PodsNotReady and timeouts: unready containers per pod. */
export function describeUnready(pods: readonly PodView[], template: PodTemplateSpec): string {
  if (pods.length === 0) return "no pods were created";
  const parts: string[] = [];
  for (const pod of pods) {
    if (isPodReady(pod)) continue;
    const unready = allStatuses(pod)
      .filter(s => s.ready !== true && !isCompletedInit(s, template))
      .map(s => {
        const why =
          waitingReason(s) ??
          (s.state?.running !== undefined ? "running, not ready" : "not started");
        return `${describeContainer(s.name, template)} ${why}`;
      });
    const notPlaced = unscheduled(pod);
    const state =
      notPlaced !== undefined
        ? `not scheduled (${notPlaced.reason}: ${notPlaced.message || "no message"})`
        : unready.length === 0
          ? (pod.status?.phase ?? "Pending")
          : unready.join(", ");
    parts.push(`pod ${pod.metadata.name}: ${state}`);
  }
  return parts.join("; ");
}

function isCompletedInit(s: ContainerStatusView, template: PodTemplateSpec): boolean {
  const init = template.spec.initContainers?.find(c => c.name === s.name);
  return (
    init !== undefined && init.restartPolicy !== "Always" && s.state?.terminated?.exitCode === 0
  );
}
