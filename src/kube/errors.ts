/**
 * Typed Kubernetes API errors. This is the ONLY place in the operator that looks at HTTP status
 * codes: everything the client libraries throw (ApiException from client-node's generated APIs,
 * the Error with `statusCode` its Watch gives, a watch stream's ERROR event carrying a Status,
 * node-fetch's network errors) is turned into one of these classes by `toKubeError`, and the rest
 * of the code branches on `instanceof` or `kind`.
 */

export type KubeErrorKind =
  | "NotFound"
  | "Conflict"
  | "AlreadyExists"
  | "Expired"
  | "Invalid"
  | "Forbidden"
  | "Unauthorized"
  | "BadRequest"
  | "TooManyRequests"
  | "Unavailable"
  | "Network"
  | "Unknown";

/** The Status object the apiserver sends with an error, as far as we read it. */
export interface ApiStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly retryAfterSeconds?: number; readonly causes?: readonly unknown[] };
}

export class KubeError extends Error {
  readonly kind: KubeErrorKind = "Unknown";
  /** HTTP status code, when there was a response (0 for network errors). */
  readonly status: number;
  /** The Status reason the apiserver gave ("NotFound", "AlreadyExists", ...), if any. */
  readonly reason: string | undefined;

  constructor(message: string, status: number, reason?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
  }
}

export class NotFoundError extends KubeError {
  override readonly kind = "NotFound";
}
/** A stale resourceVersion (409 Conflict): re-read and decide again, never overwrite. */
export class ConflictError extends KubeError {
  override readonly kind = "Conflict";
}
export class AlreadyExistsError extends KubeError {
  override readonly kind = "AlreadyExists";
}
/** 410: the watch's resourceVersion was compacted away; relist. */
export class ExpiredError extends KubeError {
  override readonly kind = "Expired";
}
/** 422: the object failed validation; retrying the same write cannot help. */
export class InvalidError extends KubeError {
  override readonly kind = "Invalid";
}
export class ForbiddenError extends KubeError {
  override readonly kind = "Forbidden";
}
export class UnauthorizedError extends KubeError {
  override readonly kind = "Unauthorized";
}
export class BadRequestError extends KubeError {
  override readonly kind = "BadRequest";
}
/** 429: the apiserver asks us to slow down; `retryAfterMs` is its Retry-After, when given. */
export class TooManyRequestsError extends KubeError {
  override readonly kind = "TooManyRequests";
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    status: number,
    reason: string | undefined,
    retryAfterMs: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, status, reason, options);
    this.retryAfterMs = retryAfterMs;
  }
}
/** 500, 502, 503, 504: the apiserver (or something in front of it) is having trouble. */
export class UnavailableError extends KubeError {
  override readonly kind = "Unavailable";
}
/** No response at all: connection refused or reset, DNS, socket timeout. */
export class NetworkError extends KubeError {
  override readonly kind = "Network";
}

type Fields = Record<string, unknown>;

function isRecord(value: unknown): value is Fields {
  return typeof value === "object" && value !== null;
}

function parseBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/** The Status object carried by an error, whichever library produced it. */
function statusBodyOf(err: Fields): ApiStatus | undefined {
  const body = parseBody(err["body"]);
  if (isRecord(body) && body["kind"] === "Status") return body;
  if (err["kind"] === "Status") return err;
  return undefined;
}

function statusCodeOf(err: Fields, body: ApiStatus | undefined): number | undefined {
  // ApiException.code, Watch's Error.statusCode, a watch ERROR event's Status.code.
  for (const candidate of [err["code"], err["statusCode"], body?.code]) {
    if (typeof candidate === "number" && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

function headerOf(err: Fields, name: string): string | undefined {
  const headers = err["headers"];
  if (!isRecord(headers)) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === "string") return value;
  }
  return undefined;
}

/** Retry-After in milliseconds: the header (seconds) first, then Status details.retryAfterSeconds. */
function retryAfterMsOf(err: Fields, body: ApiStatus | undefined): number | undefined {
  const header = headerOf(err, "retry-after");
  if (header !== undefined && /^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const seconds = body?.details?.retryAfterSeconds;
  return typeof seconds === "number" && seconds >= 0 ? seconds * 1000 : undefined;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function isNetworkError(err: Fields): boolean {
  if (err["type"] === "system" || err["name"] === "FetchError") return true;
  const code = err["code"] ?? (isRecord(err["cause"]) ? err["cause"]["code"] : undefined);
  return typeof code === "string" && NETWORK_CODES.has(code);
}

function messageOf(err: Fields, body: ApiStatus | undefined, status: number | undefined): string {
  if (typeof body?.message === "string" && body.message !== "") return body.message;
  const message = err["message"];
  if (typeof message === "string" && message !== "") {
    // client-node's ApiException message embeds the whole body and headers; keep its first line.
    return message.split("\n")[0] ?? message;
  }
  return status === undefined ? "unknown error" : `HTTP ${status}`;
}

function byStatus(
  status: number,
  reason: string | undefined,
  message: string,
  options: ErrorOptions,
): KubeError {
  switch (status) {
    case 400:
      return new BadRequestError(message, status, reason, options);
    case 401:
      return new UnauthorizedError(message, status, reason, options);
    case 403:
      return new ForbiddenError(message, status, reason, options);
    case 404:
      return new NotFoundError(message, status, reason, options);
    case 409:
      return reason === "AlreadyExists"
        ? new AlreadyExistsError(message, status, reason, options)
        : new ConflictError(message, status, reason, options);
    case 410:
      return new ExpiredError(message, status, reason, options);
    case 422:
      return new InvalidError(message, status, reason, options);
    default:
      return status >= 500
        ? new UnavailableError(message, status, reason, options)
        : new KubeError(message, status, reason, options);
  }
}

/** Turns anything a client library threw into a typed KubeError. Idempotent. */
export function toKubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  if (!isRecord(err)) return new KubeError(String(err), 0, undefined, { cause: err });
  const body = statusBodyOf(err);
  const status = statusCodeOf(err, body);
  const options: ErrorOptions = { cause: err };
  if (status === undefined) {
    const message = messageOf(err, body, status);
    return isNetworkError(err)
      ? new NetworkError(message, 0, undefined, options)
      : new KubeError(message, 0, undefined, options);
  }
  const message = messageOf(err, body, status);
  if (status === 429) {
    return new TooManyRequestsError(
      message,
      status,
      body?.reason,
      retryAfterMsOf(err, body),
      options,
    );
  }
  return byStatus(status, body?.reason, message, options);
}

/** Worth retrying as is: throttling, server trouble, no response. Conflicts are not: re-read. */
export function isTransient(err: unknown): boolean {
  const e = toKubeError(err);
  return (
    e instanceof TooManyRequestsError || e instanceof UnavailableError || e instanceof NetworkError
  );
}

export function isNotFound(err: unknown): boolean {
  return toKubeError(err) instanceof NotFoundError;
}

export function isAlreadyExists(err: unknown): boolean {
  return toKubeError(err) instanceof AlreadyExistsError;
}

export function isConflict(err: unknown): boolean {
  return toKubeError(err) instanceof ConflictError;
}
