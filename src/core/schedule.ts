/**
 * Cron schedules through croner (pure: without a callback it starts no timer), in the drill's time
 * zone (UTC by default). Times cross this module as RFC 3339 strings and epoch milliseconds, since
 * the core never constructs a Date itself.
 */
import { Cron } from "croner";
import { formatTime } from "./time.ts";

export type ParsedSchedule =
  | { ok: true; next: (afterMs: number) => number | undefined }
  | { ok: false; field: "spec.schedule" | "spec.timeZone"; message: string };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parses a schedule; the error names the field at fault. */
export function parseSchedule(
  schedule: string,
  timeZone: string | undefined,
  nowMs: number,
): ParsedSchedule {
  let cron: Cron;
  try {
    cron = new Cron(schedule, { timezone: timeZone ?? "UTC", paused: true, mode: "5-part" });
  } catch (error) {
    return {
      ok: false,
      field: "spec.schedule",
      message: `cannot parse "${schedule}": ${errorText(error)}`,
    };
  }
  const next = (afterMs: number): number | undefined =>
    cron.nextRun(formatTime(afterMs))?.getTime() ?? undefined;
  try {
    if (next(nowMs) === undefined)
      return {
        ok: false,
        field: "spec.schedule",
        message: `"${schedule}" never fires (no matching date)`,
      };
  } catch (error) {
    return {
      ok: false,
      field: "spec.timeZone",
      message: `unknown time zone "${timeZone ?? ""}": ${errorText(error)}`,
    };
  }
  return { ok: true, next };
}
