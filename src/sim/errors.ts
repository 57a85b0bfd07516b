/**
 * The apiserver's error answers. Everything in the simulator that fails a request throws an
 * ApiError; the HTTP layer turns it into a `Status` object with this code, reason and details.
 * Message wording follows k8s.io/apimachinery/pkg/api/errors (errors.go).
 */
export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "Forbidden"
  | "Unauthorized"
  | "MethodNotAllowed"
  | "Gone"
  | "Expired"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  | "UnsupportedMediaType"
  | "NotAcceptable"
  | "Timeout";

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The `Status` object the apiserver sends for this error. */
  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details !== undefined) status["details"] = this.details;
    return status;
  }
}

/** `<resource>.<group>` as the apiserver names a resource in messages ("deployments.apps"). */
export function qualifiedResource(group: string, resource: string): string {
  return group === "" ? resource : `${resource}.${group}`;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    404,
    "NotFound",
    `${qualifiedResource(group, resource)} "${name}" not found`,
    {
      name,
      group,
      kind: resource,
    },
  );
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    409,
    "AlreadyExists",
    `${qualifiedResource(group, resource)} "${name}" already exists`,
    { name, group, kind: resource },
  );
}

/** The optimistic-concurrency conflict (registry/generic/registry/store.go, OptimisticLockErrorMsg). */
export function conflict(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );
}

/** 422 Invalid with one cause per field error, as `errors.NewInvalid` words it. */
export function invalid(
  group: string,
  kind: string,
  name: string,
  causes: StatusCause[],
): ApiError {
  const list = causes.map(c => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? (list[0] ?? "") : `[${list.join(", ")}]`;
  const qualifiedKind = group === "" ? kind : `${kind}.${group}`;
  return new ApiError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    group,
    kind,
    causes,
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** 410 for a watch resumed from a compacted resourceVersion. */
export function expired(resourceVersion: string | number, oldest: number): ApiError {
  return new ApiError(410, "Expired", `too old resource version: ${resourceVersion} (${oldest})`);
}
