/**
 * JSON value helpers the store's parts share: a fast deep copy of an API object, deep equality of
 * JSON values, and the plain-object test the strategies read nested fields with.
 */

/**
 * A deep copy of a JSON value (an API object), several times faster than structuredClone, which
 * the store's every read, list and event pays for. Anything that is not plain JSON (a Date, a
 * class instance) falls back to structuredClone.
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (key === "__proto__")
      Object.defineProperty(copy, key, {
        value: cloneJson(source[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[key] = cloneJson(source[key]);
  }
  return copy as T;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Deep equality of JSON values, treating a missing key like an undefined one. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}
