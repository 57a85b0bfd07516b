/**
 * Bounded retries of transient API errors (429, 5xx, no response) with exponential back-off and
 * jitter; a 429's Retry-After is honoured as a floor. Everything else (NotFound, Conflict,
 * Invalid, ...) is rethrown at once, typed. Time is injected (`sleep`), so tests need no timers.
 */
import { isTransient, toKubeError, TooManyRequestsError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts in total, the first included. Default 5. */
  readonly maxAttempts: number;
  /** Delay before the first retry, in ms, before jitter. Default 200. */
  readonly baseDelayMs: number;
  /** Upper bound of one delay, in ms. Default 10_000. A Retry-After above it is capped too. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
});

export interface RetryDeps {
  /** Waits the given milliseconds (a Clock's sleep in the operator). */
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1): Math.random in production, fixed in tests. */
  readonly random: () => number;
  readonly policy?: RetryPolicy;
  /** Told before each retry, e.g. to log it. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
}

/**
 * The delay before retry number `attempt` (1-based): half of min(cap, base * 2^(attempt-1)) plus
 * a random share of the other half; a 429's Retry-After raises it (up to the cap).
 */
export function retryDelayMs(
  attempt: number,
  error: unknown,
  policy: RetryPolicy,
  random: () => number,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Half fixed, half random: spreads clients out and still grows with each attempt.
  const jittered = exponential / 2 + (exponential / 2) * random();
  const retryAfter = error instanceof TooManyRequestsError ? error.retryAfterMs : undefined;
  if (retryAfter === undefined) return Math.round(jittered);
  return Math.min(policy.maxDelayMs, Math.max(retryAfter, Math.round(jittered)));
}

/** Runs `call`, retrying transient errors; rethrows the last error typed. */
export async function withRetry<T>(call: () => Promise<T>, deps: RetryDeps): Promise<T> {
  const policy = deps.policy ?? DEFAULT_RETRY_POLICY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const error = toKubeError(err);
      if (!isTransient(error) || attempt >= policy.maxAttempts) throw error;
      const delayMs = retryDelayMs(attempt, error, policy, deps.random);
      deps.onRetry?.({ attempt, delayMs, error });
      await deps.sleep(delayMs);
    }
  }
}
