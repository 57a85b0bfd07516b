/**
 * What starts a run (issue 5): creation or a spec change (generation != observedGeneration), the
 * run-now annotation (a value not acted on yet), a new revision of the target that has finished
 * rolling out (rerunOnNewRevision), and the schedule. Scanning consumes the triggers it reports
 * (the status remembers the generation, token, revision and next schedule time), so each fires
 * once; the caller starts one run, or queues one if a run is in progress.
 */
import type { DrillStatus, RollbackDrill } from "../api/types.ts";
import { RUN_NOW_ANNOTATION, type Trigger } from "../api/vocabulary.ts";
import type { ObservedTarget } from "./observed.ts";
import { revisionOf } from "./revisions.ts";
import { parseSchedule } from "./schedule.ts";
import { formatTime, parseTime } from "./time.ts";
import { isRolloutComplete } from "./verdict.ts";

/** The order in which simultaneous triggers name the one run they start. */
export const TRIGGER_PRIORITY: readonly Trigger[] = [
  "RunNow",
  "Created",
  "SpecChanged",
  "NewRevision",
  "Schedule",
];

export interface TriggerScan {
  /** Triggers that fired, by priority. */
  fired: Trigger[];
  /** The status with the fired triggers consumed. */
  status: DrillStatus;
}

/** The target's revision once its rollout is complete (undefined while rolling or missing). */
export function settledRevision(target: ObservedTarget | undefined): number | undefined {
  if (target === undefined || !isRolloutComplete(target.deployment)) return undefined;
  const revision = revisionOf(target.deployment.metadata.annotations);
  return revision === undefined || revision < 1 ? undefined : revision;
}

function scheduleScan(
  drill: RollbackDrill,
  status: DrillStatus,
  nowMs: number,
  specChanged: boolean,
): { fire: boolean; nextRunTime?: string } {
  const schedule = drill.spec.schedule;
  if (schedule === undefined) return { fire: false };
  const parsed = parseSchedule(schedule, drill.spec.timeZone, nowMs);
  if (!parsed.ok) return { fire: false };
  const due = parseTime(status.nextRunTime);
  const nextAfter = (ms: number): { nextRunTime?: string } => {
    const next = parsed.next(ms);
    return next === undefined ? {} : { nextRunTime: formatTime(next) };
  };
  if (due === undefined || specChanged) return { fire: false, ...nextAfter(nowMs) };
  if (nowMs < due) return { fire: false, nextRunTime: status.nextRunTime ?? formatTime(due) };
  if (drill.spec.suspend)
    return { fire: false, nextRunTime: status.nextRunTime ?? formatTime(due) };
  // Fire once for however many times were missed, then the next time after now (as CronJob does).
  return { fire: true, ...nextAfter(nowMs) };
}

/** Scans the triggers. While suspended only the generation and the target's revision are recorded. */
export function scanTriggers(
  drill: RollbackDrill,
  target: ObservedTarget | undefined,
  nowMs: number,
): TriggerScan {
  const before = drill.status ?? {};
  const status: DrillStatus = { ...before };
  const fired = new Set<Trigger>();
  const generation = drill.metadata.generation;
  const specChanged = before.observedGeneration !== generation;
  if (specChanged) {
    fired.add(
      before.observedGeneration === undefined && (before.runCount ?? 0) === 0
        ? "Created"
        : "SpecChanged",
    );
    status.observedGeneration = generation;
  }
  const suspended = drill.spec.suspend;
  const token = drill.metadata.annotations?.[RUN_NOW_ANNOTATION];
  if (!suspended && token !== undefined && token !== "" && token !== before.lastRunNowToken) {
    fired.add("RunNow");
    status.lastRunNowToken = token;
  }
  const revision = settledRevision(target);
  if (revision !== undefined && revision !== before.observedTargetRevision) {
    if (before.observedTargetRevision !== undefined && drill.spec.rerunOnNewRevision && !suspended)
      fired.add("NewRevision");
    status.observedTargetRevision = revision;
  }
  const schedule = scheduleScan(drill, before, nowMs, specChanged);
  if (schedule.fire) fired.add("Schedule");
  if (schedule.nextRunTime === undefined) delete status.nextRunTime;
  else status.nextRunTime = schedule.nextRunTime;
  if (suspended) fired.clear();
  return { fired: TRIGGER_PRIORITY.filter(t => fired.has(t)), status };
}
