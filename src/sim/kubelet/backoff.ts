/**
 * client-go's flowcontrol.Backoff as the kubelet uses it for crashing containers and failed image
 * pulls: 10 s initial, doubling to a 300 s cap, and reset when the previous back-off was updated
 * more than twice the cap (10 minutes) before the new event (pkg/kubelet/kubelet.go:
 * backOffPeriod, MaxContainerBackOff; client-go/util/flowcontrol/backoff.go: Next, hasExpired).
 */
export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;

export interface BackoffEntry {
  ms: number;
  lastUpdate: number;
}

/** Backoff.Next: the entry after an event at `eventMs`. */
export function nextBackoff(prior: BackoffEntry | undefined, eventMs: number): BackoffEntry {
  if (prior === undefined || eventMs - prior.lastUpdate > MAX_BACKOFF_MS * 2)
    return { ms: INITIAL_BACKOFF_MS, lastUpdate: eventMs };
  return { ms: Math.min(prior.ms * 2, MAX_BACKOFF_MS), lastUpdate: eventMs };
}

/** Backoff.IsInBackOffSince: an entry exists and less than its duration has passed since `eventMs`. */
export function isInBackoffSince(
  entry: BackoffEntry | undefined,
  eventMs: number,
  nowMs: number,
): boolean {
  return entry !== undefined && nowMs - eventMs < entry.ms;
}

/** Go's time.Duration String for whole seconds: "10s", "1m20s", "5m0s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (h > 0) return `${h}h${m % 60}m${s % 60}s`;
  return `${m}m${s % 60}s`;
}
