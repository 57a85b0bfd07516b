/**
 * Pod status as the kubelet generates it (pkg/kubelet/kubelet_pods.go: generateAPIPodStatus,
 * getPhase, convertToAPIContainerStatuses; pkg/kubelet/status/generate.go: the Initialized,
 * ContainersReady and Ready conditions with their reasons and messages).
 */
import { formatTimestamp } from "../types.ts";
import type { ContainerSpec } from "./env.ts";

export interface Terminated {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

export interface ContainerRuntimeState {
  name: string;
  init: boolean;
  spec: ContainerSpec;
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: Terminated;
  lastTerminated?: Terminated;
  restartCount: number;
  ready: boolean;
  started: boolean;
  /** The normalised reference containerd reports as status.image. */
  image: string;
  imageID?: string;
  containerID?: string;
}

export interface PodRuntimeView {
  restartPolicy: string;
  containers: ContainerRuntimeState[];
  hostIP: string;
  podIP: string;
  startTime: string;
  scheduledAt: string;
  sandboxReady: boolean;
  readySince: Map<string, string>;
  qosClass: string;
}

function containerStatus(c: ContainerRuntimeState): Record<string, unknown> {
  let state: Record<string, unknown> = { waiting: { reason: "ContainerCreating" } };
  if (c.running) state = { running: c.running };
  else if (c.terminated) state = { terminated: c.terminated };
  else if (c.waiting) state = { waiting: c.waiting };
  const out: Record<string, unknown> = {
    name: c.name,
    state,
    lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.imageID ?? "",
    started: c.started,
  };
  if (c.containerID !== undefined) out["containerID"] = c.containerID;
  return out;
}

/** getPhase (kubelet_pods.go). */
export function podPhase(view: PodRuntimeView): string {
  const inits = view.containers.filter(c => c.init);
  const apps = view.containers.filter(c => !c.init);
  const initFailed = inits.some(c => c.terminated !== undefined && c.terminated.exitCode !== 0);
  const initPending = inits.some(c => c.terminated?.exitCode !== 0);
  if (initFailed && view.restartPolicy === "Never") return "Failed";
  if (initPending) return "Pending";
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  let waiting = 0;
  for (const c of apps) {
    if (c.running) running++;
    else if (c.terminated) {
      stopped++;
      if (c.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (view.restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (view.restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function condition(
  type: string,
  ok: boolean,
  at: string,
  reason?: string,
  message?: string,
): Record<string, unknown> {
  const c: Record<string, unknown> = {
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: at,
  };
  if (!ok && reason !== undefined) c["reason"] = reason;
  if (!ok && message !== undefined) c["message"] = message;
  return c;
}

/** Keeps a condition's lastTransitionTime while its status holds. */
function transitionTime(view: PodRuntimeView, type: string, ok: boolean, nowIso: string): string {
  const key = `${type}=${ok}`;
  const other = `${type}=${!ok}`;
  view.readySince.delete(other);
  const since = view.readySince.get(key) ?? nowIso;
  view.readySince.set(key, since);
  return since;
}

/** The whole status object the kubelet writes. */
export function generatePodStatus(view: PodRuntimeView, nowMs: number): Record<string, unknown> {
  const now = formatTimestamp(nowMs);
  const phase = podPhase(view);
  const inits = view.containers.filter(c => c.init);
  const apps = view.containers.filter(c => !c.init);
  const incompleteInits = inits.filter(c => c.terminated?.exitCode !== 0).map(c => c.name);
  const initialized = incompleteInits.length === 0;
  const unready = apps.filter(c => !c.ready).map(c => c.name);
  const completed = phase === "Succeeded";
  const containersReady = unready.length === 0 && initialized;
  const readyReason = completed ? "PodCompleted" : "ContainersNotReady";
  const readyMessage = `containers with unready status: [${unready.join(" ")}]`;
  const conditions = [
    condition(
      "PodReadyToStartContainers",
      view.sandboxReady,
      transitionTime(view, "PodReadyToStartContainers", view.sandboxReady, now),
    ),
    condition(
      "Initialized",
      initialized || completed,
      transitionTime(view, "Initialized", initialized || completed, now),
      "ContainersNotInitialized",
      `containers with incomplete status: [${incompleteInits.join(" ")}]`,
    ),
    condition(
      "Ready",
      containersReady && !completed,
      transitionTime(view, "Ready", containersReady && !completed, now),
      readyReason,
      readyMessage,
    ),
    condition(
      "ContainersReady",
      containersReady && !completed,
      transitionTime(view, "ContainersReady", containersReady && !completed, now),
      readyReason,
      readyMessage,
    ),
    condition("PodScheduled", true, view.scheduledAt),
  ];
  const byName = (a: ContainerRuntimeState, b: ContainerRuntimeState): number =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    startTime: view.startTime,
    containerStatuses: [...apps].sort(byName).map(containerStatus),
    qosClass: view.qosClass,
  };
  if (inits.length > 0) status["initContainerStatuses"] = inits.map(containerStatus);
  return status;
}

/** qos.GetPodQOS, simplified to requests and limits of cpu and memory. */
export function qosClass(containers: ContainerSpec[]): string {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ["cpu", "memory"]) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (q !== undefined || l !== undefined) any = true;
      if (l === undefined || q !== l) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
