import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  ConflictError,
  ExpiredError,
  ForbiddenError,
  InvalidError,
  isTransient,
  KubeError,
  NetworkError,
  NotFoundError,
  TooManyRequestsError,
  toKubeError,
  UnavailableError,
} from "../../src/kube/errors.ts";

function status(code: number, reason: string, extra: Record<string, unknown> = {}) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `${reason} happened`,
    reason,
    code,
    ...extra,
  };
}

function retryAfterOf(err: KubeError): number | undefined | "not a 429" {
  return err instanceof TooManyRequestsError ? err.retryAfterMs : "not a 429";
}

describe("toKubeError", () => {
  it.each([
    [404, "NotFound", NotFoundError],
    [409, "Conflict", ConflictError],
    [409, "AlreadyExists", AlreadyExistsError],
    [410, "Expired", ExpiredError],
    [422, "Invalid", InvalidError],
    [403, "Forbidden", ForbiddenError],
    [500, "InternalError", UnavailableError],
    [503, "ServiceUnavailable", UnavailableError],
  ] as const)("maps client-node's ApiException %i %s", (code, reason, type) => {
    const err = toKubeError(new ApiException(code, "x", status(code, reason), {}));
    expect(err).toBeInstanceOf(type);
    expect(err.status).toBe(code);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`${reason} happened`);
    expect(err.cause).toBeInstanceOf(ApiException);
  });

  it("reads a Status body that arrived as a JSON string", () => {
    const err = toKubeError(
      new ApiException(409, "x", JSON.stringify(status(409, "AlreadyExists")), {}),
    );
    expect(err).toBeInstanceOf(AlreadyExistsError);
  });

  it("honours Retry-After from the header, then from the Status details", () => {
    const fromHeader = toKubeError(
      new ApiException(429, "x", status(429, "TooManyRequests"), { "Retry-After": "3" }),
    );
    expect(fromHeader).toBeInstanceOf(TooManyRequestsError);
    expect(retryAfterOf(fromHeader)).toBe(3000);
    const fromDetails = toKubeError(
      new ApiException(
        429,
        "x",
        status(429, "TooManyRequests", { details: { retryAfterSeconds: 2 } }),
        {},
      ),
    );
    expect(retryAfterOf(fromDetails)).toBe(2000);
    const none = toKubeError(new ApiException(429, "x", undefined, {}));
    expect(retryAfterOf(none)).toBeUndefined();
  });

  it("maps the Watch's Error with statusCode and a watch ERROR event's Status", () => {
    const watchErr = Object.assign(new Error("Gone"), { statusCode: 410 });
    expect(toKubeError(watchErr)).toBeInstanceOf(ExpiredError);
    expect(toKubeError(status(410, "Expired"))).toBeInstanceOf(ExpiredError);
  });

  it("maps connection failures to NetworkError", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      type: "system",
      code: "ECONNREFUSED",
    });
    expect(toKubeError(refused)).toBeInstanceOf(NetworkError);
    const wrapped = new Error("fetch failed", { cause: { code: "ECONNRESET" } });
    expect(toKubeError(wrapped)).toBeInstanceOf(NetworkError);
  });

  it("keeps anything else a plain KubeError, and is idempotent", () => {
    const plain = toKubeError(new Error("boom"));
    expect(plain.constructor).toBe(KubeError);
    expect(toKubeError(plain)).toBe(plain);
    expect(toKubeError("text").message).toBe("text");
  });

  it("calls throttling, server errors and network errors transient, and nothing else", () => {
    expect(isTransient(new ApiException(429, "x", undefined, {}))).toBe(true);
    expect(isTransient(new ApiException(503, "x", undefined, {}))).toBe(true);
    expect(isTransient(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransient(new ApiException(409, "x", status(409, "Conflict"), {}))).toBe(false);
    expect(isTransient(new ApiException(404, "x", undefined, {}))).toBe(false);
    expect(isTransient(new ApiException(422, "x", undefined, {}))).toBe(false);
  });
});
