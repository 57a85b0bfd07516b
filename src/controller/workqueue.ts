/**
 * The controller's work queue, with client-go's semantics: keys, not events, are queued, so a
 * burst of watch events for one drill becomes one reconcile (de-duplication); a key being
 * processed is never handed to a second worker (one in-flight per key), and if it is added again
 * meanwhile it is queued once more when the first worker is done; failures are retried with
 * per-key exponential back-off up to a cap; `addAfter` schedules on the injected Clock.
 */
import type { Clock, TimerHandle } from "./clock.ts";

export interface WorkqueueOptions {
  readonly clock: Clock;
  /** First back-off after a failure, in ms. Default 1000. */
  readonly baseDelayMs?: number;
  /** Largest back-off, in ms. Default 300_000 (5 min). */
  readonly maxDelayMs?: number;
  /** Told whenever the number of waiting keys changes (for the workqueue_depth gauge). */
  readonly onDepth?: (depth: number) => void;
}

export interface Workqueue {
  /** Queues the key now, unless it is already waiting. */
  add(key: string): void;
  /** Queues the key after `ms`; an earlier pending addAfter for the same key wins. */
  addAfter(key: string, ms: number): void;
  /** Queues the key after its back-off (which doubles with each call until `forget`). */
  addRateLimited(key: string): void;
  /** Resets the key's back-off (after a successful reconcile). */
  forget(key: string): void;
  /** Failures recorded for the key since the last forget. */
  retries(key: string): number;
  /** The next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined>;
  /** Marks the key processed; if it was added meanwhile, it is queued again. */
  done(key: string): void;
  /** Keys waiting (not counting delayed ones or those in flight). */
  len(): number;
  /** Stops intake and hands no more keys out; delayed adds are cancelled. */
  shutdown(): void;
  /** Resolves once every key in flight is done. */
  drain(): Promise<void>;
  readonly isShutdown: boolean;
}

export function createWorkqueue(options: WorkqueueOptions): Workqueue {
  const { clock } = options;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const queue: string[] = [];
  const dirty = new Set<string>();
  const processing = new Set<string>();
  const failures = new Map<string, number>();
  const delayed = new Map<string, { at: number; handle: TimerHandle }>();
  let waiters: ((key: string | undefined) => void)[] = [];
  let drainers: (() => void)[] = [];
  let shutDown = false;

  const depthChanged = (): void => options.onDepth?.(queue.length);

  const add = (key: string): void => {
    if (shutDown || dirty.has(key)) return;
    dirty.add(key);
    if (processing.has(key)) return;
    const waiter = waiters.shift();
    if (waiter !== undefined) {
      dirty.delete(key);
      processing.add(key);
      waiter(key);
      return;
    }
    queue.push(key);
    depthChanged();
  };

  const addAfter = (key: string, ms: number): void => {
    if (shutDown) return;
    if (ms <= 0) {
      add(key);
      return;
    }
    const at = clock.now().getTime() + ms;
    const existing = delayed.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      clock.clearTimeout(existing.handle);
    }
    const handle = clock.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, ms);
    delayed.set(key, { at, handle });
  };

  const settleDrain = (): void => {
    if (processing.size > 0) return;
    const pending = drainers;
    drainers = [];
    for (const resolve of pending) resolve();
  };

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      addAfter(key, Math.min(maxDelayMs, baseDelayMs * 2 ** n));
    },
    forget(key) {
      failures.delete(key);
    },
    retries: key => failures.get(key) ?? 0,
    get() {
      if (shutDown) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        dirty.delete(key);
        processing.add(key);
        depthChanged();
        return Promise.resolve(key);
      }
      return new Promise(resolve => waiters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      if (dirty.has(key) && !shutDown) {
        dirty.delete(key);
        add(key);
      }
      settleDrain();
    },
    len: () => queue.length,
    shutdown() {
      if (shutDown) return;
      shutDown = true;
      for (const { handle } of delayed.values()) clock.clearTimeout(handle);
      delayed.clear();
      queue.length = 0;
      dirty.clear();
      depthChanged();
      const pending = waiters;
      waiters = [];
      for (const resolve of pending) resolve(undefined);
    },
    drain() {
      if (processing.size === 0) return Promise.resolve();
      return new Promise(resolve => drainers.push(resolve));
    },
    get isShutdown() {
      return shutDown;
    },
  };
}
