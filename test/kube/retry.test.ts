import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ConflictError, UnavailableError } from "../../src/kube/errors.ts";
import { retryDelayMs, withRetry, type RetryPolicy } from "../../src/kube/retry.ts";

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

function failing(errors: Error[], value = "ok") {
  let calls = 0;
  const call = (): Promise<string> => {
    const err = errors[calls++];
    return err === undefined ? Promise.resolve(value) : Promise.reject(err);
  };
  return { call, calls: () => calls };
}

function recorder(random = 0.5) {
  const slept: number[] = [];
  return {
    slept,
    deps: {
      policy,
      random: () => random,
      sleep: (ms: number) => {
        slept.push(ms);
        return Promise.resolve();
      },
    },
  };
}

const http = (code: number, headers: Record<string, string> = {}) =>
  new ApiException(code, "x", undefined, headers);

describe("withRetry", () => {
  it("retries 500, 503, 429 and network errors with growing delays, then succeeds", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const { call, calls } = failing([http(500), http(503), reset]);
    const { slept, deps } = recorder(0);
    await expect(withRetry(call, deps)).resolves.toBe("ok");
    expect(calls()).toBe(4);
    expect(slept).toEqual([50, 100, 200]);
  });

  it("honours Retry-After when it is longer than the back-off", async () => {
    const { call } = failing([http(429, { "retry-after": "1" })]);
    const { slept, deps } = recorder();
    await withRetry(call, { ...deps, policy: { ...policy, maxDelayMs: 5000 } });
    expect(slept).toEqual([1000]);
  });

  it("is bounded: after maxAttempts the last error is thrown, typed", async () => {
    const { call, calls } = failing([http(503), http(503), http(503), http(503), http(503)]);
    const { slept, deps } = recorder();
    await expect(withRetry(call, deps)).rejects.toBeInstanceOf(UnavailableError);
    expect(calls()).toBe(4);
    expect(slept).toHaveLength(3);
  });

  it("does not retry what retrying cannot fix", async () => {
    const conflict = new ApiException(
      409,
      "x",
      { kind: "Status", reason: "Conflict", code: 409 },
      {},
    );
    const { call, calls } = failing([conflict]);
    const { slept, deps } = recorder();
    await expect(withRetry(call, deps)).rejects.toBeInstanceOf(ConflictError);
    expect(calls()).toBe(1);
    expect(slept).toEqual([]);
  });
});

describe("retryDelayMs", () => {
  it("doubles per attempt within [half, full] of the exponential step, capped", () => {
    const at = (attempt: number, random: number) =>
      retryDelayMs(attempt, new Error("x"), policy, () => random);
    expect([1, 2, 3, 4, 5, 6].map(n => at(n, 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map(n => at(n, 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
