/**
 * A keyed work queue on the simulated clock, like client-go's rate-limited workqueue: a key added
 * many times is processed once; processing happens asynchronously (never inside the store's
 * subscriber); a failed key is retried with exponential back-off (5 ms doubling, client-go's
 * ItemExponentialFailureRateLimiter, capped here at 30 s so a simulated world keeps moving).
 */
import type { SimClock, TimerHandle } from "../types.ts";

export interface WorkQueue {
  add(key: string): void;
  /** Adds the key after `simMs` simulated milliseconds (the earliest pending deadline wins). */
  addAfter(key: string, simMs: number): void;
  stop(): void;
}

/** What processing a key asks for next. */
export interface SyncResult {
  requeueAfterMs?: number;
}

export type SyncHandler = (key: string) => SyncResult | undefined;

const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 30_000;

export function createWorkQueue(
  clock: SimClock,
  handler: SyncHandler,
  onError?: (key: string, err: unknown) => void,
): WorkQueue {
  const pending = new Set<string>();
  const failures = new Map<string, number>();
  const delayed = new Map<string, { at: number; handle: TimerHandle }>();
  let flushTimer: TimerHandle | undefined;
  let stopped = false;

  const schedule = (): void => {
    if (flushTimer !== undefined || stopped) return;
    flushTimer = clock.setTimeout(flush, 0);
  };

  const addAfter = (key: string, simMs: number): void => {
    if (stopped) return;
    if (simMs <= 0) {
      add(key);
      return;
    }
    const at = clock.nowMs() + simMs;
    const existing = delayed.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clock.clearTimeout(existing.handle);
    const handle = clock.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, simMs);
    delayed.set(key, { at, handle });
  };

  function add(key: string): void {
    if (stopped) return;
    pending.add(key);
    schedule();
  }

  function process(key: string): void {
    try {
      const result = handler(key);
      failures.delete(key);
      if (result?.requeueAfterMs !== undefined) addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      onError?.(key, err);
      addAfter(key, Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** n));
    }
  }

  function flush(): void {
    flushTimer = undefined;
    const keys = [...pending];
    pending.clear();
    for (const key of keys) {
      if (stopped) return;
      process(key);
    }
  }

  return {
    add,
    addAfter,
    stop() {
      stopped = true;
      if (flushTimer !== undefined) clock.clearTimeout(flushTimer);
      for (const d of delayed.values()) clock.clearTimeout(d.handle);
      delayed.clear();
      pending.clear();
    },
  };
}
