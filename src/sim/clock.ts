/**
 * Simulated time: real elapsed time multiplied by a scale. The controllers and the kubelet schedule
 * every delay here in simulated milliseconds, so a scenario keeps its order of events at any scale
 * (1 for the demo, 1000 in tests).
 */
import { performance } from "node:perf_hooks";
import type { SimClock, TimerHandle } from "./types.ts";

interface Pending {
  readonly id: number;
  readonly deadline: number;
  readonly fn: () => void;
}

/**
 * A clock whose simulated epoch milliseconds are `startMs + realElapsedMs * scale`.
 * Timers due at the same simulated instant fire in the order they were set. Time seen from inside
 * a timer callback is never earlier than that timer's deadline, even when the host's timer fires
 * a little early.
 *
 * @param scale simulated milliseconds per real millisecond (> 0)
 * @param startMs simulated epoch milliseconds at creation; default: the real current time
 */
export function createClock(scale: number, startMs: number = Date.now()): SimClock {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`clock scale must be > 0, got ${scale}`);
  const realStart = performance.now();
  let floor = startMs;
  let nextId = 1;
  let disposed = false;
  // Sorted by (deadline, id): equal deadlines keep insertion order.
  const queue: Pending[] = [];
  // Timers cleared while a batch of due timers runs (they have already left the queue).
  const cancelled = new Set<number>();
  // Due timers run on setImmediate: Node clamps setTimeout to 1 ms, which at scale 1000 would
  // cost a simulated second per hop.
  let armed: { at: number; cancel: () => void } | undefined;

  const nowMs = (): number => {
    const t = startMs + (performance.now() - realStart) * scale;
    if (t > floor) floor = t;
    return floor;
  };

  const insert = (p: Pending): void => {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = queue[mid];
      if (
        m !== undefined &&
        (m.deadline < p.deadline || (m.deadline === p.deadline && m.id < p.id))
      )
        lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, p);
  };

  const arm = (): void => {
    const head = queue[0];
    if (disposed || head === undefined) {
      armed?.cancel();
      armed = undefined;
      return;
    }
    if (armed?.at === head.deadline) return;
    armed?.cancel();
    const realDelay = (head.deadline - nowMs()) / scale;
    if (realDelay < 1) {
      const immediate = setImmediate(fire);
      armed = {
        at: head.deadline,
        cancel: () => {
          clearImmediate(immediate);
        },
      };
    } else {
      const timer = setTimeout(fire, realDelay);
      armed = {
        at: head.deadline,
        cancel: () => {
          clearTimeout(timer);
        },
      };
    }
  };

  const fire = (): void => {
    armed = undefined;
    const now = nowMs();
    // Everything due now runs; timers set by these callbacks with delay 0 run in a later turn.
    const due: Pending[] = [];
    while (queue.length > 0) {
      const head = queue[0];
      if (head === undefined || head.deadline > now + 0.5) break;
      queue.shift();
      due.push(head);
    }
    if (due.length === 0) {
      // The host fired early: advance to the deadline of the head, which is due by contract.
      const head = queue.shift();
      if (head) due.push(head);
    }
    try {
      for (const p of due) {
        if (disposed) return;
        if (cancelled.delete(p.id)) continue;
        if (p.deadline > floor) floor = p.deadline;
        p.fn();
      }
    } finally {
      cancelled.clear();
      arm();
    }
  };

  return {
    scale,
    nowMs,
    now: () => new Date(nowMs()),
    setTimeout(fn: () => void, simMs: number): TimerHandle {
      const id = nextId++;
      if (disposed) return { id };
      const delay = Number.isFinite(simMs) && simMs > 0 ? simMs : 0;
      insert({ id, deadline: nowMs() + delay, fn });
      arm();
      return { id };
    },
    clearTimeout(handle: TimerHandle): void {
      const i = queue.findIndex(p => p.id === handle.id);
      if (i < 0) {
        cancelled.add(handle.id);
        return;
      }
      queue.splice(i, 1);
      if (i === 0) arm();
    },
    dispose(): void {
      disposed = true;
      queue.length = 0;
      arm();
    },
  };
}
