/**
 * The simulated nodes: registration, a scheduler (least pods first, like the default scheduler's
 * spreading on equal nodes), and one kubelet per node that runs its pods (kubelet/worker.ts),
 * writes their status, stops them on graceful deletion and then removes them, and serves logs.
 */
import { badRequest, notFound } from "./errors.ts";
import { createEventRecorder } from "./controllers/events.ts";
import { isConflict, isNotFound, kubeletActor, keyOf, PODS } from "./controllers/kube.ts";
import type { ImageRegistry } from "./images.ts";
import { registerNodes } from "./kubelet/nodes.ts";
import { createScheduler } from "./kubelet/scheduler.ts";
import { PodWorker, type NodeContext } from "./kubelet/worker.ts";
import {
  type KubeObject,
  type SimClock,
  type SimComponent,
  type Store,
  type StoreEvent,
  type TimerHandle,
} from "./types.ts";

export interface LogOptions {
  previous?: boolean;
}

export interface Kubelets extends SimComponent {
  logs(namespace: string, pod: string, container?: string, options?: LogOptions): string;
  /** The images present on a node: normalised reference or repo@digest -> digest. */
  imageCache(node: string): Map<string, string> | undefined;
}

interface PodSpecView {
  nodeName?: string;
  schedulerName?: string;
  containers?: { name: string }[];
}

function specOf(pod: KubeObject): PodSpecView {
  return pod["spec"] ?? {};
}

function isTerminal(pod: KubeObject): boolean {
  const phase = (pod["status"] as { phase?: string } | undefined)?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

export function startKubelets(
  store: Store,
  clock: SimClock,
  registry: ImageRegistry,
  nodeNames: string[],
): Kubelets {
  const workers = new Map<string, PodWorker>();
  const byName = new Map<string, PodWorker>();
  const contexts = new Map<string, NodeContext>();
  const dirty = new Set<PodWorker>();
  let flushTimer: TimerHandle | undefined;
  let unsubscribe: (() => void) | undefined;
  const scheduler = createScheduler(store, clock, nodeNames);

  const writeStatus = (w: PodWorker): void => {
    if (w.stopped) return;
    const actor = kubeletActor(w.ctx.name);
    try {
      w.pod = store.patch(
        PODS,
        w.pod.metadata.namespace,
        w.podName,
        "merge",
        { status: w.status() },
        actor,
        { subresource: "status" },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const flush = (): void => {
    flushTimer = undefined;
    const list = [...dirty];
    dirty.clear();
    for (const w of list) writeStatus(w);
  };

  const makeContext = (name: string, index: number): NodeContext => {
    let nextIp = 2;
    const actor = kubeletActor(name);
    return {
      name,
      store,
      clock,
      registry,
      recorder: createEventRecorder(store, clock, { component: "kubelet", host: name }, actor),
      imageCache: new Map(),
      hostIP: `10.0.0.${index + 10}`,
      allocatePodIP: () => `10.244.${index}.${nextIp++ % 254 || 2}`,
      statusChanged(w) {
        dirty.add(w);
        flushTimer ??= clock.setTimeout(flush, 0);
      },
      terminated(w) {
        dirty.delete(w);
        writeStatus(w);
        w.stop();
        try {
          store.delete(PODS, w.pod.metadata.namespace, w.podName, actor, {
            gracePeriodSeconds: 0,
            preconditions: { uid: w.pod.metadata.uid ?? "" },
          });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
      },
    };
  };

  const onPod = (e: StoreEvent): void => {
    const pod = e.object;
    const uid = pod.metadata.uid ?? "";
    if (e.type === "DELETED") {
      const w = workers.get(uid);
      w?.stop();
      workers.delete(uid);
      if (w !== undefined && byName.get(keyOf(pod)) === w) byName.delete(keyOf(pod));
      return;
    }
    const spec = specOf(pod);
    const sched = spec.schedulerName ?? "default-scheduler";
    if (
      !spec.nodeName &&
      pod.metadata.deletionTimestamp === undefined &&
      sched === "default-scheduler"
    ) {
      scheduler.enqueue(keyOf(pod));
      return;
    }
    const ctx = spec.nodeName === undefined ? undefined : contexts.get(spec.nodeName);
    if (ctx === undefined) return;
    let w = workers.get(uid);
    if (w === undefined) {
      if (isTerminal(pod)) return;
      w = new PodWorker(ctx, pod);
      workers.set(uid, w);
      byName.set(keyOf(pod), w);
      const worker = w;
      clock.setTimeout(() => {
        worker.changed();
        worker.sync();
      }, 0);
    } else w.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined) {
      const worker = w;
      clock.setTimeout(() => {
        worker.terminate();
      }, 0);
    }
  };

  return {
    name: "kubelet",
    start() {
      registerNodes(store, clock, nodeNames);
      nodeNames.forEach((n, i) => contexts.set(n, makeContext(n, i)));
      unsubscribe = store.subscribe(e => {
        if (e.gvr.group === "" && e.gvr.resource === "pods") onPod(e);
      });
      for (const pod of store.list(PODS).items)
        onPod({ type: "ADDED", gvr: PODS, object: pod, resourceVersion: 0 });
    },
    stop() {
      unsubscribe?.();
      for (const w of workers.values()) w.stop();
      if (flushTimer !== undefined) clock.clearTimeout(flushTimer);
      scheduler.stop();
    },
    imageCache: node => contexts.get(node)?.imageCache,
    logs: (namespace, pod, container, options = {}) =>
      readLogs(store, byName.get(`${namespace}/${pod}`), { namespace, pod, container }, options),
  };
}

/** GET .../pods/NAME/log: the current or previous instance's output, or the apiserver's 400s. */
function readLogs(
  store: Store,
  w: PodWorker | undefined,
  target: { namespace: string; pod: string; container: string | undefined },
  options: LogOptions,
): string {
  const { namespace, pod, container } = target;
  const stored = store.get(PODS, namespace, pod);
  if (stored === undefined) throw notFound("", "pods", pod);
  const names = (specOf(stored).containers ?? []).map(c => c.name);
  let name = container;
  if (name === undefined || name === "") {
    if (names.length !== 1)
      throw badRequest(
        `a container name must be specified for pod ${pod}, choose one of: [${names.join(" ")}]`,
      );
    name = names[0] ?? "";
  }
  if (w === undefined) {
    if (!names.includes(name)) throw badRequest(`container ${name} is not valid for pod ${pod}`);
    throw badRequest(`container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`);
  }
  const result = w.logs(name, options.previous === true);
  if ("error" in result) throw badRequest(result.error);
  const lines = result.lines;
  return lines.map(l => `${l}\n`).join("");
}
