/**
 * The event log and watch fan-out: every committed change in resourceVersion order, the window of
 * it kept for watches to resume from (and the compaction point before which they get 410), and
 * delivery to subscribers, one event at a time even when a listener writes from inside its call.
 */
import type { StoreEvent } from "../types.ts";

export class EventLog {
  readonly #retain: number;
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  readonly #log: StoreEvent[] = [];
  readonly #pending: StoreEvent[] = [];
  #logStart = 0;
  #compacted = 0;
  #dispatching = false;

  /** Keeps the last `retain` events. */
  constructor(retain: number) {
    this.#retain = retain;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  eventsSince(since: number): StoreEvent[] | undefined {
    if (since < this.#compacted) return undefined;
    const result: StoreEvent[] = [];
    for (let k = this.#log.length - 1; k >= this.#logStart; k--) {
      const e = this.#log[k];
      if (!e || e.resourceVersion <= since) break;
      result.push(e);
    }
    return result.reverse();
  }

  compactedThrough(): number {
    return this.#compacted;
  }

  /** Drops the whole log: everything through `rv` (the current resourceVersion) is compacted. */
  compact(rv: number): void {
    this.#compacted = rv;
    this.#log.length = 0;
    this.#logStart = 0;
  }

  dispatch(event: StoreEvent): void {
    this.#log.push(event);
    if (this.#log.length - this.#logStart > this.#retain) {
      this.#compacted = this.#log[this.#logStart]?.resourceVersion ?? this.#compacted;
      this.#logStart++;
      if (this.#logStart > 4096) {
        this.#log.splice(0, this.#logStart);
        this.#logStart = 0;
      }
    }
    this.#pending.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let e = this.#pending.shift(); e !== undefined; e = this.#pending.shift()) {
        for (const l of [...this.#listeners]) {
          try {
            l(e);
          } catch (err) {
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }
}
