/**
 * A scheduler for the simulated nodes: binds each pending pod of the default scheduler to the node
 * running the fewest non-terminal pods (ties by name), sets its PodScheduled condition and records
 * the scheduler's "Scheduled" Event (pkg/scheduler/schedule_one.go: "Successfully assigned %v/%v to %v").
 */
import { createEventRecorder } from "../controllers/events.ts";
import { isNotFound, keyOf, PODS, SCHEDULER_ACTOR } from "../controllers/kube.ts";
import {
  formatTimestamp,
  type KubeObject,
  type SimClock,
  type Store,
  type TimerHandle,
} from "../types.ts";

export interface Scheduler {
  enqueue(key: string): void;
  stop(): void;
}

function nodeNameOf(pod: KubeObject): string | undefined {
  return (pod["spec"] as { nodeName?: string } | undefined)?.nodeName;
}

/**
 * The node a required node affinity on `metadata.name` pins the pod to, as the DaemonSet
 * controller sets it (ReplaceDaemonSetPodNodeNameNodeAffinity); the NodeAffinity plugin then
 * leaves the scheduler that node only.
 */
export function pinnedNode(pod: KubeObject): string | undefined {
  interface Term {
    matchFields?: { key?: string; operator?: string; values?: string[] }[];
  }
  const spec = pod["spec"] as
    | {
        affinity?: {
          nodeAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Term[] };
          };
        };
      }
    | undefined;
  const terms =
    spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1)
        return f.values[0];
    }
  }
  return undefined;
}

function isTerminal(pod: KubeObject): boolean {
  const phase = (pod["status"] as { phase?: string } | undefined)?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/**
 * Non-terminal pods bound to each node, kept up to date from the store's events, so a batch
 * counts without listing (and copying) every pod in the cluster.
 */
interface NodeLoad {
  counts(): Map<string, number>;
  stop(): void;
}

function followNodeLoad(store: Store, nodeNames: string[]): NodeLoad {
  const nodeOf = new Map<string, string>();
  const load = new Map(nodeNames.map(n => [n, 0]));
  const track = (key: string, pod: KubeObject | undefined): void => {
    const before = nodeOf.get(key);
    const n = pod === undefined || isTerminal(pod) ? undefined : nodeNameOf(pod);
    const after = n !== undefined && load.has(n) ? n : undefined;
    if (before === after) return;
    if (before !== undefined) load.set(before, (load.get(before) ?? 0) - 1);
    if (after === undefined) nodeOf.delete(key);
    else {
      nodeOf.set(key, after);
      load.set(after, (load.get(after) ?? 0) + 1);
    }
  };
  const unsubscribe = store.subscribe(e => {
    if (e.gvr.group !== "" || e.gvr.resource !== "pods") return;
    track(keyOf(e.object), e.type === "DELETED" ? undefined : e.object);
  });
  for (const p of store.list(PODS).items) track(keyOf(p), p);
  return { counts: () => new Map(load), stop: unsubscribe };
}

export function createScheduler(store: Store, clock: SimClock, nodeNames: string[]): Scheduler {
  const unscheduled = new Set<string>();
  let scheduleTimer: TimerHandle | undefined;
  let nodeLoad: NodeLoad | undefined;
  const schedulerEvents = createEventRecorder(
    store,
    clock,
    { component: "default-scheduler" },
    SCHEDULER_ACTOR,
  );
  /** The scheduler: least pods first, ties by name; binding sets spec.nodeName and PodScheduled. */
  const schedule = (): void => {
    scheduleTimer = undefined;
    const keys = [...unscheduled];
    unscheduled.clear();
    // Pods per node, taken once per batch and kept up to date as the batch binds.
    nodeLoad ??= followNodeLoad(store, nodeNames);
    const counts = nodeLoad.counts();
    for (const key of keys) {
      const [ns = "", name = ""] = key.split("/");
      const pod = store.get(PODS, ns, name);
      if (pod === undefined || pod.metadata.deletionTimestamp !== undefined || nodeNameOf(pod))
        continue;
      const pinned = pinnedNode(pod);
      const node = [...counts.entries()]
        .filter(([n]) => pinned === undefined || n === pinned)
        .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
      if (node === undefined) continue;
      counts.set(node, (counts.get(node) ?? 0) + 1);
      const now = formatTimestamp(clock.nowMs());
      try {
        store.patch(PODS, ns, name, "merge", { spec: { nodeName: node } }, SCHEDULER_ACTOR);
        store.patch(
          PODS,
          ns,
          name,
          "merge",
          {
            status: {
              conditions: [
                {
                  type: "PodScheduled",
                  status: "True",
                  lastProbeTime: null,
                  lastTransitionTime: now,
                },
              ],
            },
          },
          SCHEDULER_ACTOR,
          { subresource: "status" },
        );
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      schedulerEvents.event(
        pod,
        "Normal",
        "Scheduled",
        `Successfully assigned ${ns}/${name} to ${node}`,
      );
    }
  };

  return {
    enqueue(key) {
      unscheduled.add(key);
      scheduleTimer ??= clock.setTimeout(schedule, 0);
    },
    stop() {
      if (scheduleTimer !== undefined) clock.clearTimeout(scheduleTimer);
      nodeLoad?.stop();
      nodeLoad = undefined;
    },
  };
}
