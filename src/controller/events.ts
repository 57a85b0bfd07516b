/**
 * Kubernetes Events on the drill (core/v1), as `kubectl describe rollbackdrill` shows them:
 * involvedObject names the drill, reason from the core's closed list, message saying what
 * happened, reportingComponent the operator. Events are best effort: losing one must not fail a
 * reconcile, so execute() logs a failed one and carries on.
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import type { RollbackDrill } from "../api/types.ts";
import { API_VERSION, KIND } from "../api/vocabulary.ts";
import type { EventReason, EventType } from "../core/actions.ts";
import type { KubeClient } from "../kube/client.ts";

export const REPORTING_CONTROLLER = "rollbackdrill.io/operator";

export interface DrillEvent {
  readonly eventType: EventType;
  readonly reason: EventReason;
  readonly message: string;
}

/**
 * The Event object for a drill; `instance` is the reporting pod's name, `sequence` tells apart
 * events made in the same millisecond.
 */
export function buildEvent(
  drill: RollbackDrill,
  event: DrillEvent,
  options: { now: Date; instance: string; sequence: number },
): CoreV1Event & { metadata: { namespace: string } } {
  const { now, instance, sequence } = options;
  const suffix = `${now.getTime().toString(16)}${sequence.toString(16).padStart(4, "0")}`;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${drill.metadata.name}.${suffix}`, namespace: drill.metadata.namespace },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: KIND,
      name: drill.metadata.name,
      namespace: drill.metadata.namespace,
      uid: drill.metadata.uid,
      ...(drill.metadata.resourceVersion === undefined
        ? {}
        : { resourceVersion: drill.metadata.resourceVersion }),
    },
    reason: event.reason,
    message: event.message.slice(0, 1024),
    type: event.eventType,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: REPORTING_CONTROLLER },
    reportingComponent: REPORTING_CONTROLLER,
    reportingInstance: instance,
  };
}

export interface EventRecorder {
  emit(drill: RollbackDrill, event: DrillEvent): Promise<void>;
}

export function createEventRecorder(deps: {
  kube: KubeClient;
  now: () => Date;
  instance: string;
}): EventRecorder {
  let sequence = 0;
  return {
    async emit(drill, event) {
      sequence = (sequence + 1) % 0x10000;
      await deps.kube.createEvent(
        buildEvent(drill, event, { now: deps.now(), instance: deps.instance, sequence }),
      );
    },
  };
}
