/**
 * PATCH bodies and field ownership: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic
 * merge patch for built-ins (k8s.io/apimachinery/pkg/util/strategicpatch), server-side apply, and
 * the managedFields bookkeeping (k8s.io/apimachinery/pkg/util/managedfields) in the FieldsV1 shape.
 */
import fastJsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { parse as parseYaml } from "yaml";
import { ApiError, badRequest } from "./errors.ts";
import type { Json, KubeObject, ManagedFieldsEntry } from "./types.ts";

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export const UNSUPPORTED_PATCH_MESSAGE =
  "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/** What a patch needs to know about its target. */
export interface PatchTarget {
  group: string;
  kind: string;
  resource: string;
  /** Custom resources accept no strategic merge patch. */
  custom: boolean;
}

/** The 422 the apiserver answers when a JSON patch cannot apply (handlers/patch.go: applyJSPatch). */
function jsonPatchFailed(): ApiError {
  return new ApiError(
    422,
    "Invalid",
    "the server rejected our request due to an error in our request",
    {},
  );
}

function applyJsonPatch(base: KubeObject, body: unknown): KubeObject {
  if (!Array.isArray(body)) {
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  }
  try {
    const result = fastJsonPatch.applyPatch(clone(base), body as Operation[], true, true);
    return result.newDocument;
  } catch {
    throw jsonPatchFailed();
  }
}

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Applies a json, merge or strategic patch body to a copy of `base`. */
export function applyPatchBody(
  type: "json" | "merge" | "strategic",
  base: KubeObject,
  body: unknown,
  target: PatchTarget,
): KubeObject {
  if (type === "json") return applyJsonPatch(base, body);
  if (!isObj(body))
    throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
  if (type === "merge") return mergePatch(base, body) as KubeObject;
  if (target.custom) throw new ApiError(415, "UnsupportedMediaType", UNSUPPORTED_PATCH_MESSAGE);
  return strategicMerge(base, body, []) as KubeObject;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

const NAME_KEYED = new Set([
  "containers",
  "initContainers",
  "ephemeralContainers",
  "volumes",
  "env",
  "imagePullSecrets",
  "resourceClaims",
  "schedulingGates",
]);

/**
 * The patch merge key of a list field, from the `patchMergeKey` struct tags of k8s.io/api
 * (core/v1/types.go, apps/v1/types.go, meta/v1/types.go); undefined for atomic lists.
 */
export function mergeKeyFor(path: readonly string[], field: string): string | undefined {
  if (NAME_KEYED.has(field)) return "name";
  if (field === "ports") {
    const inContainer = path.some(
      p => p === "containers" || p === "initContainers" || p === "ephemeralContainers",
    );
    return inContainer ? "containerPort" : "port";
  }
  if (field === "volumeMounts") return "mountPath";
  if (field === "volumeDevices") return "devicePath";
  if (field === "ownerReferences") return "uid";
  if (field === "conditions") return "type";
  if (field === "hostAliases") return "ip";
  if (field === "topologySpreadConstraints") return "topologyKey";
  if (field === "addresses" && path.includes("status")) return "type";
  return undefined;
}

/** Primitive lists merged as sets (patchStrategy "merge" without a key). */
function isMergedPrimitiveList(path: readonly string[], field: string): boolean {
  return field === "finalizers" && path.length === 1 && path[0] === "metadata";
}

function keyMatches(item: unknown, key: string, value: unknown): boolean {
  return isObj(item) && item[key] === value;
}

function mergeKeyedList(
  original: unknown[],
  patch: unknown[],
  key: string,
  path: string[],
): unknown[] {
  if (patch.some(p => isObj(p) && p["$patch"] === "replace")) {
    return patch.filter(p => !(isObj(p) && p["$patch"] === "replace")).map(p => strip(p));
  }
  let result = original.map(clone);
  for (const item of patch) {
    if (!isObj(item)) continue;
    const value = item[key];
    if (item["$patch"] === "delete") {
      result = result.filter(r => !keyMatches(r, key, value));
      continue;
    }
    const index = result.findIndex(r => keyMatches(r, key, value));
    if (index >= 0) result[index] = strategicMerge(result[index], item, path);
    else result.push(strip(item));
  }
  return result;
}

/** Removes directive keys from a value added wholesale. */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("$")) continue;
    if (v === null) continue;
    out[k] = strip(v);
  }
  return out;
}

function orderBy(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const indexOf = (item: unknown): number =>
    order.findIndex(o =>
      key === undefined ? o === item : isObj(o) && keyMatches(item, key, o[key]),
    );
  const listed = list.filter(i => indexOf(i) >= 0).sort((a, b) => indexOf(a) - indexOf(b));
  const rest = list.filter(i => indexOf(i) < 0);
  return [...listed, ...rest];
}

function mergeListField(out: Obj, field: string, value: unknown[], path: string[]): void {
  const original = Array.isArray(out[field]) ? (out[field] as unknown[]) : [];
  const key = mergeKeyFor(path, field);
  if (key !== undefined) out[field] = mergeKeyedList(original, value, key, [...path, field]);
  else if (isMergedPrimitiveList(path, field)) out[field] = [...new Set([...original, ...value])];
  else out[field] = strip(value);
}

function applyDirectives(out: Obj, patch: Obj, path: string[]): void {
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$deleteFromPrimitiveList/") && Array.isArray(v)) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const list = out[field];
      if (Array.isArray(list)) out[field] = list.filter(x => !v.includes(x));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/") && Array.isArray(v)) {
      const field = k.slice("$setElementOrder/".length);
      const list = out[field];
      if (Array.isArray(list)) out[field] = orderBy(list, v, mergeKeyFor(path, field));
    }
  }
  const retain = patch["$retainKeys"];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) Reflect.deleteProperty(out, k);
  }
}

/** Strategic merge of `patch` into `original`; `path` is the field names down to here. */
export function strategicMerge(original: unknown, patch: unknown, path: string[]): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch["$patch"] === "replace") return strip(patch);
  if (patch["$patch"] === "delete") return undefined;
  const out: Obj = isObj(original) ? { ...original } : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith("$")) continue;
    if (value === null) {
      Reflect.deleteProperty(out, field);
    } else if (Array.isArray(value)) {
      mergeListField(out, field, value, path);
    } else if (isObj(value)) {
      const merged = strategicMerge(out[field], value, [...path, field]);
      if (merged === undefined) Reflect.deleteProperty(out, field);
      else out[field] = merged;
    } else {
      out[field] = value;
    }
  }
  applyDirectives(out, patch, path);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field sets (FieldsV1): keys "f:<field>", "k:<json key>", "v:<json value>", "." for the item itself.

export type FieldSet = Record<string, Json>;

const SYSTEM_METADATA = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "generateName",
]);

function itemKey(item: unknown, key: string): string {
  const value = isObj(item) ? item[key] : undefined;
  return `k:${JSON.stringify({ [key]: value })}`;
}

function fieldsOfValue(value: unknown, path: string[]): FieldSet {
  if (!isObj(value)) return {};
  const set: FieldSet = {};
  for (const [field, child] of Object.entries(value)) {
    if (child === undefined) continue;
    if (path.length === 0 && (field === "apiVersion" || field === "kind")) continue;
    if (path.length === 1 && path[0] === "metadata" && SYSTEM_METADATA.has(field)) continue;
    set[`f:${field}`] = fieldsOfChild(child, [...path, field], field);
  }
  return set;
}

function fieldsOfChild(child: unknown, path: string[], field: string): FieldSet {
  if (Array.isArray(child)) {
    const key = mergeKeyFor(path.slice(0, -1), field);
    if (key !== undefined) {
      const items: FieldSet = {};
      for (const item of child)
        items[itemKey(item, key)] = { ".": {}, ...fieldsOfValue(item, path) };
      return items;
    }
    if (isMergedPrimitiveList(path.slice(0, -1), field)) {
      const items: FieldSet = {};
      for (const item of child) items[`v:${JSON.stringify(item)}`] = {};
      return items;
    }
    return {};
  }
  if (isObj(child) && Object.keys(child).length > 0) return fieldsOfValue(child, path);
  return {};
}

/** The field set of an object (what a manager owns after writing it all). */
export function fieldsOf(object: unknown): FieldSet {
  const set = fieldsOfValue(object, []);
  const meta = set["f:metadata"];
  if (isObj(meta) && Object.keys(meta).length === 0) Reflect.deleteProperty(set, "f:metadata");
  return set;
}

/** Leaf paths of a field set, as token lists. */
function leaves(set: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [token, child] of Object.entries(set)) {
    if (token === ".") continue;
    const sub = isObj(child) ? leaves(child, [...prefix, token]) : [];
    if (sub.length === 0) out.push([...prefix, token]);
    else out.push(...sub);
  }
  return out;
}

function hasPath(set: FieldSet, path: string[]): boolean {
  let node: unknown = set;
  for (const token of path) {
    if (!isObj(node) || !(token in node)) return false;
    node = node[token];
  }
  return true;
}

function addPath(set: FieldSet, path: string[]): void {
  let node: Obj = set;
  for (const token of path) {
    if (!isObj(node[token])) node[token] = {};
    node = node[token] as Obj;
  }
}

function removePath(set: FieldSet, path: string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const child = set[head];
  if (rest.length === 0 || !isObj(child)) {
    Reflect.deleteProperty(set, head);
    return;
  }
  removePath(child, rest);
  const remaining = Object.keys(child).filter(k => k !== ".");
  if (remaining.length === 0) Reflect.deleteProperty(set, head);
}

/** Resolves one token against a value: "f:x" -> value.x, "k:{..}" -> the list item, "v:.." -> the value. */
function step(value: unknown, token: string): unknown {
  if (token.startsWith("f:")) return isObj(value) ? value[token.slice(2)] : undefined;
  if (!Array.isArray(value)) return undefined;
  const parsed: unknown = JSON.parse(token.slice(2));
  if (token.startsWith("v:")) return value.find(v => JSON.stringify(v) === JSON.stringify(parsed));
  if (!isObj(parsed)) return undefined;
  return value.find(item => isObj(item) && Object.entries(parsed).every(([k, v]) => item[k] === v));
}

function valueAt(object: unknown, path: string[]): unknown {
  let node = object;
  for (const token of path) node = step(node, token);
  return node;
}

function deleteAt(object: unknown, path: string[]): void {
  const parent = valueAt(object, path.slice(0, -1));
  const last = path[path.length - 1] ?? "";
  if (last.startsWith("f:") && isObj(parent)) Reflect.deleteProperty(parent, last.slice(2));
  else if (Array.isArray(parent)) {
    const item = step(parent, last);
    const index = parent.indexOf(item);
    if (index >= 0) parent.splice(index, 1);
  }
  // A map emptied by the removal goes too, as structured-merge-diff leaves no empty parents.
  const emptied = isObj(parent)
    ? Object.keys(parent).length === 0
    : Array.isArray(parent) && parent.length === 0;
  if (emptied && path.length > 1) deleteAt(object, path.slice(0, -1));
}

/** Renders a path as structured-merge-diff prints it: `.spec.containers[name="app"].image`. */
export function pathString(path: string[]): string {
  return path
    .map(token => {
      if (token.startsWith("f:")) return `.${token.slice(2)}`;
      const parsed: unknown = JSON.parse(token.slice(2));
      if (token.startsWith("v:")) return `[=${JSON.stringify(parsed)}]`;
      const entries = isObj(parsed) ? Object.entries(parsed) : [];
      return `[${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]`;
    })
    .join("");
}

function changedPaths(old: unknown, next: unknown): { changed: string[][]; removed: string[][] } {
  const nextLeaves = leaves(fieldsOf(next));
  const changed = nextLeaves.filter(
    p => JSON.stringify(valueAt(old, p)) !== JSON.stringify(valueAt(next, p)),
  );
  const removed =
    old === undefined ? [] : leaves(fieldsOf(old)).filter(p => valueAt(next, p) === undefined);
  return { changed, removed };
}

function entryKey(e: ManagedFieldsEntry): string {
  return `${e.manager}\u0000${e.operation}\u0000${e.subresource ?? ""}`;
}

/** Updates managedFields for an Update-operation write (create, PUT, non-apply PATCH). */
export function recordUpdateManager(input: {
  managedFields: ManagedFieldsEntry[];
  manager: string;
  apiVersion: string;
  time: string;
  old: KubeObject | undefined;
  next: KubeObject;
  subresource?: string;
}): ManagedFieldsEntry[] {
  const { changed, removed } = changedPaths(input.old, input.next);
  if (changed.length === 0 && removed.length === 0) return clone(input.managedFields);
  const self: ManagedFieldsEntry = {
    manager: input.manager,
    operation: "Update",
    apiVersion: input.apiVersion,
    time: input.time,
    fieldsType: "FieldsV1",
    fieldsV1: {},
  };
  if (input.subresource !== undefined) self.subresource = input.subresource;
  const key = entryKey(self);
  const entries: ManagedFieldsEntry[] = [];
  for (const entry of input.managedFields) {
    const copy = clone(entry);
    if (entryKey(copy) === key) {
      self.fieldsV1 = copy.fieldsV1;
      continue;
    }
    for (const p of [...changed, ...removed]) removePath(copy.fieldsV1, p);
    if (Object.keys(copy.fieldsV1).length > 0) entries.push(copy);
  }
  for (const p of removed) removePath(self.fieldsV1, p);
  for (const p of changed) addPath(self.fieldsV1, p);
  if (Object.keys(self.fieldsV1).length > 0) entries.push(self);
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Server-side apply

export interface ApplyInput {
  live: KubeObject | undefined;
  /** The request body: parsed JSON, or the raw YAML/JSON text. */
  applied: unknown;
  manager: string;
  force: boolean;
  time: string;
  subresource: string | undefined;
  target: {
    group: string;
    version: string;
    kind: string;
    name: string;
    namespace: string | undefined;
  };
  statusSubresource: boolean;
}

function parseApplied(body: unknown): Obj {
  let value = body;
  if (typeof body === "string" || body instanceof Uint8Array) {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    try {
      value = parseYaml(text) as unknown;
    } catch (err) {
      throw badRequest(`error decoding YAML: ${(err as Error).message}`);
    }
  }
  if (!isObj(value))
    throw badRequest("error decoding YAML: the applied configuration is not an object");
  return clone(value);
}

/** Drops the fields an apply to this endpoint may not set (GetResetFields). */
function resetFields(applied: Obj, input: ApplyInput): void {
  if (!input.statusSubresource) return;
  if (input.subresource === "status") {
    for (const k of Object.keys(applied)) {
      if (!["apiVersion", "kind", "metadata", "status"].includes(k))
        Reflect.deleteProperty(applied, k);
    }
  } else {
    Reflect.deleteProperty(applied, "status");
  }
}

function managerLabel(entry: ManagedFieldsEntry): string {
  let label = JSON.stringify(entry.manager);
  if (entry.subresource) label += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === "Update") label += ` using ${entry.apiVersion}`;
  return label;
}

interface Conflict {
  entry: ManagedFieldsEntry;
  path: string[];
}

/** The 409 of a conflicting apply (managedfields/internal/conflict.go: NewConflictError). */
function conflictError(conflicts: Conflict[]): ApiError {
  const causes = conflicts.map(c => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${managerLabel(c.entry)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1 && conflicts[0]) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${managerLabel(c.entry)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const label = managerLabel(c.entry);
      byManager.set(label, [...(byManager.get(label) ?? []), pathString(c.path)]);
    }
    const lines: string[] = [];
    for (const label of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${label}:`, ...(byManager.get(label) ?? []).map(p => `- ${p}`));
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}

/**
 * Server-side apply: merges the applied configuration into the live object, removes fields this
 * manager applied before and no longer applies (unless another manager owns them), and answers
 * 409 when another manager owns a field the configuration sets to a different value (unless force).
 */
export function serverSideApply(input: ApplyInput): KubeObject {
  const applied = parseApplied(input.applied);
  const meta = isObj(applied["metadata"]) ? applied["metadata"] : {};
  applied["metadata"] = { ...meta, name: input.target.name };
  if (input.target.namespace !== undefined)
    (applied["metadata"] as Obj)["namespace"] = input.target.namespace;
  resetFields(applied, input);
  const apiVersion =
    input.target.group === ""
      ? input.target.version
      : `${input.target.group}/${input.target.version}`;
  const appliedSet = fieldsOf(applied);
  const self: ManagedFieldsEntry = {
    manager: input.manager,
    operation: "Apply",
    apiVersion,
    time: input.time,
    fieldsType: "FieldsV1",
    fieldsV1: appliedSet,
  };
  if (input.subresource !== undefined) self.subresource = input.subresource;
  if (!input.live) {
    const created = applied as KubeObject;
    created.metadata.managedFields = [self];
    return created;
  }
  const live = clone(input.live);
  const entries = live.metadata.managedFields ?? [];
  const selfKey = entryKey(self);
  const previous = entries.find(e => entryKey(e) === selfKey);
  const others = entries.filter(e => entryKey(e) !== selfKey);
  const conflicts: Conflict[] = [];
  for (const path of leaves(appliedSet)) {
    for (const entry of others) {
      if (!hasPath(entry.fieldsV1, path)) continue;
      if (JSON.stringify(valueAt(live, path)) !== JSON.stringify(valueAt(applied, path))) {
        conflicts.push({ entry, path });
      }
    }
  }
  if (conflicts.length > 0 && !input.force) throw conflictError(conflicts);
  for (const c of conflicts) removePath(c.entry.fieldsV1, c.path);
  const merged = strategicMerge(live, applied, []) as KubeObject;
  if (previous) {
    for (const path of leaves(previous.fieldsV1)) {
      if (hasPath(appliedSet, path)) continue;
      if (others.some(e => hasPath(e.fieldsV1, path))) continue;
      deleteAt(merged, path);
    }
  }
  const kept = others.filter(e => Object.keys(e.fieldsV1).length > 0);
  merged.metadata.managedFields = [...kept, self];
  return merged;
}
