/**
 * Events as client-go's EventRecorder writes them (core/v1 Event, tools/record/event.go):
 * named `<object>.<hex nanoseconds>`, in the object's namespace ("default" for cluster-scoped
 * objects), with source and reportingController set, and repeats of the same event folded into
 * a count (the EventCorrelator's aggregation by source, object, reason, message and type).
 */
import {
  formatTimestamp,
  type Actor,
  type KubeObject,
  type SimClock,
  type Store,
} from "../types.ts";
import { EVENTS, isNotFound } from "./kube.ts";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  /** e.g. "spec.containers{app}" for a container's events. */
  fieldPath?: string;
}

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  event(target: KubeObject | EventTarget, type: EventType, reason: string, message: string): void;
}

export interface EventSource {
  /** e.g. "deployment-controller", "kubelet", "default-scheduler". */
  component: string;
  /** The node for kubelet events. */
  host?: string;
}

function targetOf(t: KubeObject | EventTarget): EventTarget {
  if ("metadata" in t) {
    const o = t;
    const out: EventTarget = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.metadata.name ?? "",
    };
    if (o.metadata.namespace !== undefined) out.namespace = o.metadata.namespace;
    if (o.metadata.uid !== undefined) out.uid = o.metadata.uid;
    if (o.metadata.resourceVersion !== undefined) out.resourceVersion = o.metadata.resourceVersion;
    return out;
  }
  return t;
}

export function createEventRecorder(
  store: Store,
  clock: SimClock,
  source: EventSource,
  actor: Actor,
): EventRecorder {
  const seen = new Map<string, { name: string; namespace: string; count: number }>();
  let seq = 0;
  return {
    event(t, type, reason, message) {
      if (!store.resources.byGVR(EVENTS)) return;
      const target = targetOf(t);
      const namespace = target.namespace ?? "default";
      const now = formatTimestamp(clock.nowMs());
      const key = [
        source.component,
        source.host ?? "",
        target.uid ?? target.name,
        target.fieldPath ?? "",
        type,
        reason,
        message,
      ].join("\u0000");
      const prior = seen.get(key);
      try {
        if (prior !== undefined) {
          prior.count++;
          store.patch(
            EVENTS,
            prior.namespace,
            prior.name,
            "merge",
            { count: prior.count, lastTimestamp: now },
            actor,
          );
          return;
        }
      } catch (err) {
        if (!isNotFound(err)) return;
      }
      const nanos = BigInt(Math.floor(clock.nowMs())) * 1_000_000n + BigInt(seq++ % 1_000_000);
      const name = `${target.name}.${nanos.toString(16)}`;
      const involvedObject: Record<string, string> = {
        kind: target.kind,
        name: target.name,
        apiVersion: target.apiVersion,
      };
      if (target.namespace !== undefined) involvedObject["namespace"] = target.namespace;
      if (target.uid !== undefined) involvedObject["uid"] = target.uid;
      if (target.resourceVersion !== undefined)
        involvedObject["resourceVersion"] = target.resourceVersion;
      if (target.fieldPath !== undefined) involvedObject["fieldPath"] = target.fieldPath;
      const sourceField: Record<string, string> = { component: source.component };
      if (source.host !== undefined) sourceField["host"] = source.host;
      try {
        store.create(
          EVENTS,
          {
            apiVersion: "v1",
            kind: "Event",
            metadata: { name, namespace },
            involvedObject,
            reason,
            message,
            source: sourceField,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            type,
            eventTime: null,
            reportingComponent: source.component,
            reportingInstance: source.host ?? "",
          },
          actor,
        );
        // The correlator's cache is bounded (an LRU in client-go); a plain reset is enough here.
        if (seen.size >= 4096) seen.clear();
        seen.set(key, { name, namespace, count: 1 });
      } catch {
        // The recorder drops events it cannot write (e.g. in a terminating namespace), as client-go does.
      }
    },
  };
}
