/**
 * The one wait of the scenarios, the tests and the benchmarks: resolve when a predicate holds,
 * checked at once and after every change an event source reports (a Kubernetes watch, the
 * simulator's store, its audit log), never on a fixed interval. After the timeout it rejects with
 * a TimeoutError that names what was awaited and the last state seen.
 *
 * It knows nothing of where the changes come from: `Cluster` (cluster.ts) feeds it a watch, the
 * test kit (test/kit/wait.ts) the simulator's store.
 */

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

export interface Until<T> {
  /** What is awaited, for the timeout's message ("drill shop/web to finish its run"). */
  readonly what: string;
  /**
   * Starts listening for changes: calls `changed` after each one, and `failed` if the source
   * breaks for good (the wait then rejects with that error). Returns what stops listening.
   */
  readonly subscribe: (changed: () => void, failed: (error: Error) => void) => () => void;
  /**
   * The awaited value once the predicate holds. `undefined`, or a throw, means not yet: a
   * thrown error's message is kept as the last state seen.
   */
  readonly probe: () => T | undefined;
  /** The state seen last, for the timeout's message when the probe says nothing of it. */
  readonly lastSeen?: () => unknown;
  /** Real milliseconds before giving up; default 30,000. */
  readonly timeoutMs?: number;
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return value === undefined ? "undefined" : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Resolves with `probe()`'s first defined value, checked now and after every change. */
export function waitUntil<T>(until: Until<T>): Promise<T> {
  const timeoutMs = until.timeoutMs ?? 30_000;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let lastError: unknown;
    let unsubscribe: (() => void) | undefined;
    const isDone = (): boolean => done;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      unsubscribe?.();
      clearTimeout(timer);
      settle();
    };
    const check = (): void => {
      if (done) return;
      let value: T | undefined;
      try {
        value = until.probe();
      } catch (error) {
        lastError = error;
        return;
      }
      if (value !== undefined)
        finish(() => {
          resolve(value);
        });
    };
    const timer = setTimeout(() => {
      finish(() => {
        const seen =
          until.lastSeen === undefined
            ? lastError === undefined
              ? "nothing yet"
              : describe(lastError)
            : describe(until.lastSeen());
        reject(
          new TimeoutError(
            `timed out after ${String(timeoutMs)} ms waiting for ${until.what}; last seen: ${seen}`,
          ),
        );
      });
    }, timeoutMs);
    const stop = until.subscribe(check, error => {
      finish(() => {
        reject(error);
      });
    });
    if (isDone()) stop();
    else unsubscribe = stop;
    check();
  });
}
