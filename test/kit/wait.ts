/**
 * The kit's one wait: event-driven, on the simulator's store (or its audit log, or anything with a
 * `subscribe`), never a fixed-interval poll. It is `waitUntil` of src/scenarios/wait.ts, the wait
 * the scenarios use on a Kubernetes watch, fed the store's change events: one implementation.
 *
 * Wait only on state the source reports a change of: an operator's caches, its metrics or a
 * child process's output change without a store event, and a wait on them would time out.
 */
import { TimeoutError, waitUntil, type Until } from "../../src/scenarios/wait.ts";

export { TimeoutError, waitUntil, type Until };

/** Something that reports changes: a store, an audit log. */
export interface Changes {
  subscribe(listener: () => void): () => void;
}

/** A source of changes, or what holds a store (a Sim, the world tests' harness). */
export type ChangeSource = Changes | { readonly store: Changes };

export interface WaitOptions {
  /** Real milliseconds before giving up; default 30,000. */
  readonly timeoutMs?: number;
  /** The state to name in the timeout's message, when the probe throws nothing that says it. */
  readonly lastSeen?: () => unknown;
}

function changesOf(source: ChangeSource): Changes {
  return "store" in source ? source.store : source;
}

/**
 * Resolves with `probe()`'s first value that is not undefined, checked now and after every change
 * the source reports. A throw means not yet, its message the last state seen; after the timeout
 * (a number is the timeout in ms) it rejects with a TimeoutError naming `what` and that state.
 */
export function waitFor<T>(
  source: ChangeSource,
  what: string,
  probe: () => T | undefined,
  options: number | WaitOptions = {},
): Promise<T> {
  const { timeoutMs, lastSeen } = typeof options === "number" ? { timeoutMs: options } : options;
  const changes = changesOf(source);
  return waitUntil({
    what,
    probe,
    subscribe: changed => changes.subscribe(changed),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(lastSeen === undefined ? {} : { lastSeen }),
  });
}

/**
 * Waits until `assertion` passes (returns without throwing), checked now and after every change;
 * on timeout the rejection carries the last failed assertion's message.
 */
export async function waitForPass(
  source: ChangeSource,
  what: string,
  assertion: () => void,
  options: number | WaitOptions = {},
): Promise<void> {
  await waitFor(
    source,
    what,
    () => {
      assertion();
      return true;
    },
    options,
  );
}
