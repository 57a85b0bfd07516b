/**
 * Time as a port. The shell reads `now()` and schedules every delay (requeues, back-offs, lease
 * renewals) through a Clock, so tests drive time by hand and the simulator can scale it. The
 * simulator's clock has the same shape, so a scenario passes it in directly.
 */

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Wall-clock time, for timestamps in status and for decide(). */
  now(): Date;
  /** Runs `fn` after `ms` milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Resolves after `ms` of the clock's time; rejects with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The real clock: Date and the host's timers. By default its timers do not keep the process alive
 * (an operator's requeues must not hold its shutdown). `keepAlive`: they do, until they fire or
 * are cleared, for a command that awaits one (a retry's back-off, the gate's --timeout): with
 * every timer unref'd and the request still to come, Node found nothing to wait for and ended the
 * process with 13 ("unsettled top-level await") instead of the command's own answer.
 */
export function createSystemClock(options: { keepAlive?: boolean } = {}): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => new Date(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const timer = setTimeout(
        () => {
          timers.delete(id);
          fn();
        },
        Math.max(0, ms),
      );
      if (options.keepAlive !== true) timer.unref();
      timers.set(id, timer);
      return { id };
    },
    clearTimeout(handle) {
      const timer = timers.get(handle.id);
      if (timer !== undefined) clearTimeout(timer);
      timers.delete(handle.id);
    },
  };
}

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to: `advance(ms)` fires due timers in order. For tests. */
export interface ManualClock extends Clock {
  /** Moves time forward, firing every timer due by then (in due order, ties in setting order). */
  advance(ms: number): void;
  /** Timers still waiting. */
  pending(): number;
}

export function createManualClock(start: Date = new Date(0)): ManualClock {
  let nowMs = start.getTime();
  let nextId = 1;
  let timers: ManualTimer[] = [];
  return {
    now: () => new Date(nowMs),
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.push({ id, due: nowMs + Math.max(0, ms), fn });
      return { id };
    },
    clearTimeout(handle) {
      timers = timers.filter(t => t.id !== handle.id);
    },
    advance(ms) {
      const until = nowMs + ms;
      for (;;) {
        const next = timers
          .filter(t => t.due <= until)
          .sort((a, b) => a.due - b.due || a.id - b.id)[0];
        if (next === undefined) break;
        timers = timers.filter(t => t.id !== next.id);
        nowMs = Math.max(nowMs, next.due);
        next.fn();
      }
      nowMs = until;
    },
    pending: () => timers.length,
  };
}
