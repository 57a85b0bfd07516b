/**
 * One pod on one simulated node: the kubelet's pod worker (pkg/kubelet/kuberuntime/
 * kuberuntime_manager.go SyncPod, images/image_manager.go EnsureImageExists,
 * kuberuntime_container.go startContainer). Init containers run one after another, then the app
 * containers; each goes through pull (per pull policy, against the node's cache and the registry),
 * create, start, readiness, exit and restart with the kubelet's back-off, emitting the kubelet's
 * Events with their real reasons and messages.
 */
import { randomHex64 } from "../controllers/names.ts";
import type { EventRecorder, EventTarget, EventType } from "../controllers/events.ts";
import {
  databaseNameFromValue,
  formatReference,
  imageSizeOf,
  parseImageReference,
  type ImageBehaviour,
  type ImageRegistry,
} from "../images.ts";
import {
  formatTimestamp,
  type KubeObject,
  type SimClock,
  type Store,
  type TimerHandle,
} from "../types.ts";
import { formatDuration, isInBackoffSince, nextBackoff, type BackoffEntry } from "./backoff.ts";
import { pullCredentials, resolveEnv, type ContainerSpec } from "./env.ts";
import {
  generatePodStatus,
  qosClass,
  type ContainerRuntimeState,
  type PodRuntimeView,
} from "./status.ts";

/** A node's view of the world that its pod workers share. */
export interface NodeContext {
  name: string;
  store: Store;
  clock: SimClock;
  registry: ImageRegistry;
  recorder: EventRecorder;
  /** Normalised reference -> digest of the images present on the node. */
  imageCache: Map<string, string>;
  hostIP: string;
  allocatePodIP(): string;
  /** Called when the pod's status should be written (coalesced by the caller). */
  statusChanged(worker: PodWorker): void;
  /** Called once the pod's containers have stopped after a graceful delete. */
  terminated(worker: PodWorker): void;
}

interface Container extends ContainerRuntimeState {
  behaviour?: ImageBehaviour;
  crashBackoff?: BackoffEntry;
  pullBackoff?: BackoffEntry;
  lastPullFailureMs?: number;
  /** Output of the current instance (also kept by container ID below). */
  logs: string[];
  /** containerID -> output, for the current and the last terminated instance. */
  logsById: Map<string, string[]>;
  /** Bumped on every (re)start so stale timers of an old instance do nothing. */
  instance: number;
  busy: boolean;
}

const RETRY_MS = 10_000;
const DEFAULT_PULL_MS = 500;
const DEFAULT_START_MS = 100;
const EXIT_AT_START_MS = 100;
const STOP_MS = 200;

function defaultPullPolicy(image: string): string {
  const parsed = parseImageReference(image);
  if (!parsed.ok) return "IfNotPresent";
  return parsed.ref.digest === undefined && parsed.ref.tag === "latest" ? "Always" : "IfNotPresent";
}

export class PodWorker {
  pod: KubeObject;
  readonly ctx: NodeContext;
  readonly containers: Container[];
  readonly view: PodRuntimeView;
  readonly timers = new Set<TimerHandle>();
  terminating = false;
  stopped = false;
  readonly defaultWaiting: string;

  constructor(ctx: NodeContext, pod: KubeObject) {
    this.ctx = ctx;
    this.pod = pod;
    const spec = (pod["spec"] ?? {}) as {
      containers?: ContainerSpec[];
      initContainers?: ContainerSpec[];
      restartPolicy?: string;
    };
    // convertToAPIContainerStatuses: containers not yet created wait with ContainerCreating, or
    // PodInitializing in a pod with init containers.
    const defaultWaiting =
      (spec.initContainers ?? []).length > 0 ? "PodInitializing" : "ContainerCreating";
    this.defaultWaiting = defaultWaiting;
    const mk = (c: ContainerSpec, init: boolean): Container => {
      const parsed = parseImageReference(c.image ?? "");
      return {
        name: c.name,
        init,
        spec: c,
        restartCount: 0,
        ready: false,
        started: false,
        image: parsed.ok ? formatReference(parsed.ref) : (c.image ?? ""),
        waiting: { reason: defaultWaiting },
        logs: [],
        logsById: new Map(),
        instance: 0,
        busy: false,
      };
    };
    this.containers = [
      ...(spec.initContainers ?? []).map(c => mk(c, true)),
      ...(spec.containers ?? []).map(c => mk(c, false)),
    ];
    const now = formatTimestamp(ctx.clock.nowMs());
    const scheduled = (
      (
        pod["status"] as
          { conditions?: { type: string; lastTransitionTime?: string }[] } | undefined
      )?.conditions ?? []
    ).find(c => c.type === "PodScheduled");
    this.view = {
      restartPolicy: spec.restartPolicy ?? "Always",
      containers: this.containers,
      hostIP: ctx.hostIP,
      podIP: ctx.allocatePodIP(),
      startTime: now,
      scheduledAt: scheduled?.lastTransitionTime ?? now,
      sandboxReady: true,
      readySince: new Map(),
      qosClass: qosClass([...(spec.initContainers ?? []), ...(spec.containers ?? [])]),
    };
  }

  get podName(): string {
    return this.pod.metadata.name ?? "";
  }

  /** format.Pod: name_namespace(uid) */
  get podRef(): string {
    return `${this.podName}_${this.pod.metadata.namespace ?? ""}(${this.pod.metadata.uid ?? ""})`;
  }

  status(): Record<string, unknown> {
    return generatePodStatus(this.view, this.ctx.clock.nowMs());
  }

  after(ms: number, fn: () => void): void {
    const handle = this.ctx.clock.setTimeout(() => {
      this.timers.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(handle);
  }

  changed(): void {
    this.ctx.statusChanged(this);
  }

  event(c: Container | undefined, type: EventType, reason: string, message: string): void {
    const target: EventTarget = {
      apiVersion: "v1",
      kind: "Pod",
      name: this.podName,
      namespace: this.pod.metadata.namespace ?? "",
      uid: this.pod.metadata.uid ?? "",
    };
    if (c !== undefined)
      target.fieldPath = `spec.${c.init ? "initContainers" : "containers"}{${c.name}}`;
    this.ctx.recorder.event(target, type, reason, message);
  }

  /** SyncPod: starts what should run now. */
  sync(): void {
    if (this.terminating || this.stopped) return;
    for (const c of this.containers.filter(x => x.init)) {
      if (c.terminated?.exitCode === 0) continue;
      if (!c.busy && !c.running) this.startContainer(c);
      return;
    }
    for (const c of this.containers.filter(x => !x.init))
      if (!c.busy && !c.running && c.terminated === undefined) this.startContainer(c);
  }

  setWaiting(c: Container, reason: string, message?: string): void {
    c.waiting = message === undefined ? { reason } : { reason, message };
    delete c.running;
    this.changed();
  }

  retryLater(c: Container, ms: number): void {
    c.busy = true;
    this.after(ms, () => {
      c.busy = false;
      this.sync();
    });
  }

  /** EnsureImageExists */
  startContainer(c: Container): void {
    const image = c.spec.image ?? "";
    const parsed = parseImageReference(image);
    if (!parsed.ok) {
      const msg = `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": ${parsed.message}`;
      this.event(c, "Warning", "InspectFailed", msg);
      this.event(c, "Warning", "Failed", "Error: InvalidImageName");
      this.setWaiting(c, "InvalidImageName", msg);
      this.retryLater(c, RETRY_MS);
      return;
    }
    const ref = formatReference(parsed.ref);
    const policy = c.spec.imagePullPolicy ?? defaultPullPolicy(image);
    const cached = this.ctx.imageCache.get(ref);
    if (policy === "Never" || (policy === "IfNotPresent" && cached !== undefined)) {
      if (cached === undefined) {
        const msg = `Container image "${image}" is not present with pull policy of Never`;
        this.event(c, "Warning", "ErrImageNeverPull", msg);
        this.event(c, "Warning", "Failed", "Error: ErrImageNeverPull");
        this.setWaiting(c, "ErrImageNeverPull", msg);
        this.retryLater(c, RETRY_MS);
        return;
      }
      this.event(c, "Normal", "Pulled", `Container image "${image}" already present on machine`);
      this.createContainer(c, parsed.ref.repository, cached);
      return;
    }
    const now = this.ctx.clock.nowMs();
    if (
      c.lastPullFailureMs !== undefined &&
      isInBackoffSince(c.pullBackoff, c.lastPullFailureMs, now)
    ) {
      this.pullBackOff(c, image);
      return;
    }
    this.pull(c, image, ref);
  }

  /** ImagePullBackOff until the pull back-off since the last failure has passed. */
  pullBackOff(c: Container, image: string): void {
    const msg = `Back-off pulling image "${image}"`;
    this.event(c, "Normal", "BackOff", msg);
    this.event(c, "Warning", "Failed", "Error: ImagePullBackOff");
    this.setWaiting(c, "ImagePullBackOff", msg);
    const until = (c.lastPullFailureMs ?? 0) + (c.pullBackoff?.ms ?? 0);
    this.retryLater(c, Math.max(0, until - this.ctx.clock.nowMs()));
  }

  pull(c: Container, image: string, ref: string): void {
    const { hosts, missing } = pullCredentials(this.ctx.store, this.pod);
    if (missing.length > 0)
      this.event(
        undefined,
        "Warning",
        "FailedToRetrieveImagePullSecret",
        `Unable to retrieve some image pull secrets (${missing.join(", ")}); attempting to pull the image may not succeed.`,
      );
    this.event(c, "Normal", "Pulling", `Pulling image "${image}"`);
    const started = this.ctx.clock.nowMs();
    const probe = this.ctx.registry.resolve(ref, { credentials: hosts });
    const pullMs = probe.ok ? (probe.behaviour.pullMs ?? DEFAULT_PULL_MS) : DEFAULT_PULL_MS;
    c.busy = true;
    this.after(pullMs, () => {
      c.busy = false;
      const result = this.ctx.registry.resolve(ref, { credentials: hosts });
      if (!result.ok) {
        this.event(c, "Warning", "Failed", `Failed to pull image "${image}": ${result.message}`);
        this.event(c, "Warning", "Failed", "Error: ErrImagePull");
        const at = this.ctx.clock.nowMs();
        c.pullBackoff = nextBackoff(c.pullBackoff, at);
        c.lastPullFailureMs = at;
        this.setWaiting(c, "ErrImagePull", result.message);
        // The next sync (a second later) finds the image in back-off; decided now, so a stalled
        // host (a scaled clock jumps) cannot skip ImagePullBackOff.
        c.busy = true;
        this.after(1_000, () => {
          c.busy = false;
          this.pullBackOff(c, image);
        });
        return;
      }
      this.ctx.imageCache.set(ref, result.digest);
      this.ctx.imageCache.set(`${result.repository}@${result.digest}`, result.digest);
      const took = formatGoDuration(this.ctx.clock.nowMs() - started);
      this.event(
        c,
        "Normal",
        "Pulled",
        `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${imageSizeOf(result.digest)} bytes.`,
      );
      this.createContainer(c, result.repository, result.digest);
    });
  }

  /** generateContainerConfig + CreateContainer + StartContainer */
  createContainer(c: Container, repository: string, digest: string): void {
    const env = resolveEnv(this.ctx.store, this.pod, c.spec, this.view.podIP);
    if (!env.ok) {
      this.event(c, "Warning", "Failed", `Error: ${env.message}`);
      this.setWaiting(c, "CreateContainerConfigError", env.message);
      this.retryLater(c, RETRY_MS);
      return;
    }
    c.behaviour = this.ctx.registry.behaviourOf(digest) ?? {};
    c.imageID = `${repository}@${digest}`;
    c.containerID = `containerd://${randomHex64()}`;
    c.logs = [];
    c.logsById.set(c.containerID, c.logs);
    // Keep the instance in lastState and the new one.
    const keep = new Set([c.containerID, c.lastTerminated?.containerID, c.terminated?.containerID]);
    for (const id of [...c.logsById.keys()]) if (!keep.has(id)) c.logsById.delete(id);
    this.event(c, "Normal", "Created", `Created container: ${c.name}`);
    this.setWaiting(c, this.defaultWaiting);
    c.busy = true;
    const instance = ++c.instance;
    this.after(c.behaviour.startMs ?? DEFAULT_START_MS, () => {
      if (c.instance !== instance) return;
      c.busy = false;
      this.run(c, env.env, instance);
    });
  }

  /** The process runs: logs, the database model, readiness and exit. */
  run(c: Container, env: Map<string, string>, instance: number): void {
    const b = c.behaviour ?? {};
    const startedAt = this.ctx.clock.nowMs();
    this.event(c, "Normal", "Started", `Started container ${c.name}`);
    delete c.waiting;
    delete c.terminated;
    c.running = { startedAt: formatTimestamp(startedAt) };
    c.started = true;
    c.logs.push(...(b.logLines ?? []));
    const fatal = this.startupFailure(b, env, c);
    this.changed();
    if (fatal !== undefined) {
      c.logs.push(fatal);
      this.after(EXIT_AT_START_MS, () => {
        if (c.instance === instance) this.exit(c, 1);
      });
      return;
    }
    if (!c.init) this.scheduleReadiness(c, b, instance);
    const exitAfter = b.crashAfterMs ?? (c.init ? 0 : undefined);
    if (exitAfter !== undefined) {
      this.after(exitAfter, () => {
        if (c.instance === instance) this.exit(c, b.exitCode ?? (c.init ? 0 : 1));
      });
    }
  }

  /** Missing required env, or a database schema newer than the build supports; migrations run here. */
  startupFailure(b: ImageBehaviour, env: Map<string, string>, c: Container): string | undefined {
    for (const name of b.requiredEnv ?? []) {
      if ((env.get(name) ?? "") === "")
        return `FATAL: required environment variable ${name} is not set`;
    }
    if (b.migratesTo === undefined && b.supportsUpTo === undefined) return undefined;
    const value = env.get(b.databaseEnv ?? "DATABASE_URL");
    if (value === undefined || value === "")
      return `FATAL: required environment variable ${b.databaseEnv ?? "DATABASE_URL"} is not set`;
    const db = databaseNameFromValue(value);
    const version = this.ctx.registry.databaseVersion(db);
    if (version === undefined) return `FATAL: database "${db}" does not exist`;
    if (b.supportsUpTo !== undefined && version > b.supportsUpTo)
      return `FATAL: database schema version ${version} is newer than this build supports (max ${b.supportsUpTo})`;
    if (b.migratesTo !== undefined && b.migratesTo > version) {
      this.ctx.registry.setDatabaseVersion(db, b.migratesTo);
      c.logs.push(`migrated database "${db}" from schema version ${version} to ${b.migratesTo}`);
    }
    return undefined;
  }

  scheduleReadiness(c: Container, b: ImageBehaviour, instance: number): void {
    const probe = c.spec.readinessProbe;
    if (probe === undefined) {
      // Without a readiness probe a running container is ready at once (prober_manager.go).
      c.ready = true;
      this.changed();
      return;
    }
    if (b.neverReady === true) return;
    const initialMs = (probe.initialDelaySeconds ?? 0) * 1000;
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const appMs = b.readyAfterMs ?? 0;
    // The first probe runs after initialDelaySeconds, then every periodSeconds.
    const at =
      appMs <= initialMs
        ? initialMs
        : initialMs + Math.ceil((appMs - initialMs) / periodMs) * periodMs;
    this.after(at, () => {
      if (c.instance !== instance || c.running === undefined) return;
      c.ready = true;
      this.changed();
    });
  }

  exit(c: Container, exitCode: number): void {
    const now = this.ctx.clock.nowMs();
    c.terminated = {
      exitCode,
      reason: exitCode === 0 ? "Completed" : "Error",
      startedAt: c.running?.startedAt ?? formatTimestamp(now),
      finishedAt: formatTimestamp(now),
      containerID: c.containerID ?? "",
    };
    delete c.running;
    delete c.waiting;
    c.ready = false;
    c.started = false;
    this.changed();
    if (this.terminating) return;
    const policy = this.view.restartPolicy;
    const restart =
      policy === "Always" ||
      (policy === "OnFailure" && exitCode !== 0) ||
      (c.init && exitCode !== 0 && policy !== "Never");
    if (c.init && exitCode === 0) {
      this.sync();
      return;
    }
    if (!restart) return;
    c.busy = true;
    // The pod worker notices the exit on its next sync, right after it; the back-off is judged as
    // of the exit, so a host that stalls (a scaled clock jumps) cannot skip CrashLoopBackOff.
    const inBackoff = isInBackoffSince(c.crashBackoff, now, now);
    this.after(1, () => {
      c.busy = false;
      this.restart(c, now, inBackoff);
    });
  }

  /** doBackOff + restart: CrashLoopBackOff while in back-off, then a new instance. */
  restart(c: Container, finishedMs: number, inBackoff?: boolean): void {
    const now = this.ctx.clock.nowMs();
    if (inBackoff ?? isInBackoffSince(c.crashBackoff, finishedMs, now)) {
      const ms = c.crashBackoff?.ms ?? 0;
      this.event(
        c,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.name} in pod ${this.podRef}`,
      );
      if (c.terminated !== undefined) c.lastTerminated = c.terminated;
      delete c.terminated;
      this.setWaiting(
        c,
        "CrashLoopBackOff",
        `back-off ${formatDuration(ms)} restarting failed container=${c.name} pod=${this.podRef}`,
      );
      c.busy = true;
      this.after(Math.max(0, finishedMs + ms - now), () => {
        c.busy = false;
        this.restart(c, finishedMs, false);
      });
      return;
    }
    c.crashBackoff = nextBackoff(c.crashBackoff, finishedMs);
    if (c.terminated !== undefined) c.lastTerminated = c.terminated;
    delete c.terminated;
    c.restartCount++;
    this.startContainer(c);
  }

  /** Graceful deletion: stop the containers, then tell the kubelet to remove the pod. */
  terminate(): void {
    if (this.terminating) return;
    this.terminating = true;
    for (const t of this.timers) this.ctx.clock.clearTimeout(t);
    this.timers.clear();
    const running = this.containers.filter(c => c.running !== undefined);
    for (const c of running) this.event(c, "Normal", "Killing", `Stopping container ${c.name}`);
    this.after(running.length > 0 ? STOP_MS : 0, () => {
      for (const c of running) this.exit(c, 0);
      for (const c of this.containers) {
        c.busy = false;
        c.instance++;
      }
      this.ctx.terminated(this);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) this.ctx.clock.clearTimeout(t);
    this.timers.clear();
  }

  /**
   * The log of a container as the kubelet serves it (kubelet_pods.go validateContainerLogStatus):
   * previous = the instance in lastState.terminated; otherwise the running one, else the
   * terminated one, else the last terminated; a container that never started is an error.
   */
  logs(container: string, previous: boolean): { lines: string[] } | { error: string } {
    const c = this.containers.find(x => x.name === container);
    const podName = this.podName;
    if (c === undefined) return { error: `container ${container} is not valid for pod ${podName}` };
    const of = (id: string | undefined): string[] =>
      id === undefined ? [] : (c.logsById.get(id) ?? []);
    if (previous) {
      const id = c.lastTerminated?.containerID;
      if (id === undefined || id === "")
        return {
          error: `previous terminated container "${container}" in pod "${podName}" not found`,
        };
      return { lines: of(id) };
    }
    if (c.running !== undefined || c.terminated !== undefined) return { lines: of(c.containerID) };
    if (c.lastTerminated !== undefined) return { lines: of(c.lastTerminated.containerID) };
    const reason = c.waiting?.reason ?? this.defaultWaiting;
    const why =
      reason === "ErrImagePull"
        ? "image can't be pulled"
        : reason === "ImagePullBackOff"
          ? "trying and failing to pull image"
          : reason;
    return { error: `container "${container}" in pod "${podName}" is waiting to start: ${why}` };
  }
}

/** Go's time.Duration String for sub-minute pulls: "850ms", "1.393s". */
export function formatGoDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Number(((ms - m * 60_000) / 1000).toFixed(3))}s`;
}
