/**
 * The CLI's clock. The system clock's timers are unref'd (an operator's requeues must not hold
 * its shutdown), but a command that awaits one of them, a retry's back-off or the gate's
 * --timeout, must stay alive for it: with every timer unref'd and the request still to come, Node
 * found nothing to wait for and ended the process with 13 ("unsettled top-level await") instead
 * of the command's own answer. These timers keep the process alive until they fire or are cleared.
 */
import type { Clock } from "../controller/clock.ts";

export function createCliClock(): Clock {
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
