/**
 * The store: objects by group/resource/namespace/name, one global resourceVersion counter, and the
 * apiserver's write semantics (k8s.io/apiserver/pkg/registry/generic/registry/store.go plus each
 * resource's strategy): uid, creationTimestamp, generateName, generation, status subresource
 * isolation, optimistic concurrency, finalizers and deletionTimestamp, namespace lifecycle, and an
 * in-memory event log that watches read from.
 */
import { randomUUID } from "node:crypto";
import { storageKey, writeStrategy } from "./catalogue.ts";
import type { WriteStrategy } from "./catalogue.ts";
import {
  alreadyExists,
  ApiError,
  conflict,
  invalid,
  notFound,
  qualifiedResource,
} from "./errors.ts";
import { applyPatchBody, recordUpdateManager, serverSideApply } from "./patch.ts";
import { objectMatcher } from "./selectors.ts";
import { formatTimestamp } from "./types.ts";
import type {
  ObjectMeta,
  Actor,
  DeleteOptions,
  GVR,
  KubeObject,
  ListOptions,
  ResourceCatalogue,
  ResourceInfo,
  SimClock,
  Store,
  StoreEvent,
  WriteOptions,
} from "./types.ts";

/** The admission seam: defaulting and validation (src/sim/admission). Returns the admitted object. */
export type AdmitFn = (ctx: {
  gvr: GVR;
  info: ResourceInfo;
  operation: "CREATE" | "UPDATE";
  object: KubeObject;
  oldObject?: KubeObject;
  subresource?: string;
}) => KubeObject;

/** What the store tells the audit log about internal writes. */
export interface StoreAudit {
  recordWrite(entry: {
    verb: "create" | "update" | "patch" | "delete";
    gvr: GVR;
    subresource?: string;
    namespace?: string;
    name: string;
    actor: Actor;
  }): void;
}

export interface StoreOptions {
  clock: SimClock;
  catalogue: ResourceCatalogue;
  audit?: StoreAudit;
  admit?: AdmitFn;
  /** How many events the watch log keeps; default 10,000. */
  retainEvents?: number;
  /** Random source for generateName suffixes; default Math.random. */
  random?: () => number;
}

/** The store plus what the HTTP layer and watches need beyond the shared contract. */
export interface SimStore extends Store {
  /** The catalogue entry for a GVR, or 404 the way the apiserver answers an unknown resource. */
  info(gvr: GVR): ResourceInfo;
  /** Events with resourceVersion > rv, in order; undefined when rv is older than the log keeps. */
  eventsSince(rv: number): StoreEvent[] | undefined;
  /** The highest resourceVersion no longer in the event log (0 when nothing was dropped). */
  compactedThrough(): number;
  /** Drops the event log (an etcd compaction): watches resuming from before now get 410. */
  compact(): void;
}

/** Metadata the server owns: carried over from the stored object on every update. */
const SYSTEM_FIELDS = [
  "uid",
  "namespace",
  "creationTimestamp",
  "resourceVersion",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
] as const;

/** The real alphabet of generated names (k8s.io/apimachinery/pkg/util/rand). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

type PatchArgs = Parameters<Store["patch"]>;
type DeleteArgs = Parameters<Store["delete"]>;

interface Ctx {
  gvr: GVR;
  info: ResourceInfo;
  strategy: WriteStrategy;
  actor: Actor;
}

function unknownResource(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

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

function isRecord(value: unknown): value is Record<string, unknown> {
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

/** The manager name: ?fieldManager, then the actor's, then the User-Agent prefix before "/". */
export function managerName(actor: Actor, fieldManager?: string): string {
  if (fieldManager) return fieldManager;
  if (actor.manager) return actor.manager;
  const ua = actor.userAgent ?? "";
  return ua === "" ? "unknown" : (ua.split("/")[0] ?? ua);
}

function withoutManagedFields(object: KubeObject): KubeObject {
  const copy = { ...object, metadata: { ...object.metadata } };
  delete copy.metadata.managedFields;
  return copy;
}

function podQosClass(pod: KubeObject): string {
  const spec = isRecord(pod["spec"]) ? pod["spec"] : {};
  const containers = Array.isArray(spec["containers"]) ? (spec["containers"] as unknown[]) : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const res = isRecord(c) && isRecord(c["resources"]) ? c["resources"] : {};
    const req = isRecord(res["requests"]) ? res["requests"] : {};
    const lim = isRecord(res["limits"]) ? res["limits"] : {};
    if (Object.keys(req).length + Object.keys(lim).length > 0) any = true;
    for (const r of ["cpu", "memory"]) {
      if (lim[r] === undefined || (req[r] !== undefined && req[r] !== lim[r])) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** Strategy work done on create (each registry's PrepareForCreate). */
function prepareForCreate(ctx: Ctx, object: KubeObject): void {
  const key = storageKey(ctx.info);
  if (ctx.strategy.statusSubresource && key !== "/namespaces" && key !== "/pods") {
    delete object["status"];
  }
  if (key === "/namespaces") {
    // pkg/registry/core/namespace/strategy.go: PrepareForCreate
    const spec = isRecord(object["spec"]) ? object["spec"] : {};
    const finalizers = Array.isArray(spec["finalizers"]) ? (spec["finalizers"] as string[]) : [];
    if (!finalizers.includes("kubernetes")) finalizers.push("kubernetes");
    object["spec"] = { ...spec, finalizers };
    object["status"] = { phase: "Active" };
    const name = object.metadata.name ?? "";
    object.metadata.labels = { ...object.metadata.labels, "kubernetes.io/metadata.name": name };
  }
  if (key === "/pods") {
    // pkg/registry/core/pod/strategy.go: PrepareForCreate
    object["status"] = { phase: "Pending", qosClass: podQosClass(object) };
  }
}

/** Strategy work done on update of the main resource or a subresource (PrepareForUpdate). */
function prepareForUpdate(
  ctx: Ctx,
  old: KubeObject,
  incoming: KubeObject,
  subresource: string | undefined,
): KubeObject {
  if (subresource === "status") {
    if (ctx.strategy.custom) {
      const next = cloneJson(old);
      if (incoming["status"] === undefined) delete next["status"];
      else next["status"] = incoming["status"];
      next.metadata.resourceVersion = incoming.metadata.resourceVersion ?? "";
      return next;
    }
    const next = { ...incoming };
    if (old["spec"] === undefined) delete next["spec"];
    else next["spec"] = old["spec"];
    if (ctx.strategy.statusResetsLabels) {
      next.metadata = { ...next.metadata };
      if (old.metadata.labels) next.metadata.labels = old.metadata.labels;
      else delete next.metadata.labels;
    }
    return next;
  }
  if (subresource === "finalize" || subresource === "scale") {
    const next = cloneJson(old);
    const spec = isRecord(next["spec"]) ? next["spec"] : {};
    const inSpec = isRecord(incoming["spec"]) ? incoming["spec"] : {};
    const field = subresource === "finalize" ? "finalizers" : "replicas";
    next["spec"] = { ...spec, [field]: inSpec[field] };
    next.metadata.resourceVersion = incoming.metadata.resourceVersion ?? "";
    return next;
  }
  if (subresource !== undefined) throw unknownResource();
  const next = { ...incoming };
  if (ctx.strategy.statusSubresource) {
    if (old["status"] === undefined) delete next["status"];
    else next["status"] = old["status"];
  }
  return next;
}

function generationChanged(strategy: WriteStrategy, old: KubeObject, next: KubeObject): boolean {
  if (strategy.generationFields === "nonMetadata") {
    const strip = (o: KubeObject): Record<string, unknown> => {
      const rest: Record<string, unknown> = { ...o };
      delete rest["metadata"];
      if (strategy.statusSubresource) delete rest["status"];
      delete rest["apiVersion"];
      return rest;
    };
    return !jsonEqual(strip(old), strip(next));
  }
  if (!jsonEqual(old["spec"], next["spec"])) return true;
  return (
    strategy.generationFields === "spec+annotations" &&
    !jsonEqual(old.metadata.annotations ?? {}, next.metadata.annotations ?? {})
  );
}

function checkNoNewFinalizers(ctx: Ctx, old: KubeObject, next: KubeObject): void {
  if (old.metadata.deletionTimestamp === undefined) return;
  const before = new Set(old.metadata.finalizers ?? []);
  const added = [...new Set(next.metadata.finalizers ?? [])].filter(f => !before.has(f)).sort();
  if (added.length === 0) return;
  // k8s.io/apimachinery/pkg/api/validation/objectmeta.go: ValidateObjectMetaUpdate
  const list = added.map(f => JSON.stringify(f)).join(", ");
  throw invalid(ctx.info.group, ctx.info.kind, old.metadata.name ?? "", [
    {
      reason: "FieldValueForbidden",
      field: "metadata.finalizers",
      message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${list}}`,
    },
  ]);
}

function preconditionFailed(what: string, expected: string, actual: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Precondition failed: ${what} in precondition: ${expected}, ${what} in object meta: ${actual}`,
  );
}

function checkDeletePreconditions(old: KubeObject, pre: DeleteOptions["preconditions"]): void {
  if (pre?.uid && pre.uid !== old.metadata.uid) {
    throw preconditionFailed("UID", pre.uid, old.metadata.uid ?? "");
  }
  const rv = old.metadata.resourceVersion ?? "";
  if (pre?.resourceVersion && pre.resourceVersion !== rv) {
    throw preconditionFailed("ResourceVersion", pre.resourceVersion, rv);
  }
}

function shouldDeleteDuringUpdate(ctx: Ctx, object: KubeObject): boolean {
  if (object.metadata.deletionTimestamp === undefined) return false;
  if ((object.metadata.finalizers ?? []).length > 0) return false;
  if (storageKey(ctx.info) === "/namespaces") {
    // pkg/registry/core/namespace/storage/storage.go: ShouldDeleteNamespaceDuringUpdate
    const spec = isRecord(object["spec"]) ? object["spec"] : {};
    return !Array.isArray(spec["finalizers"]) || spec["finalizers"].length === 0;
  }
  return true;
}

interface UpdateRun {
  verb: "update" | "patch";
  unconditional: boolean;
  applied?: boolean;
}

interface ApplyRun {
  ns: string | undefined;
  name: string;
  body: unknown;
  opts: WriteOptions & { force?: boolean };
  current: KubeObject | undefined;
}

/** The in-memory store; see createStore. */
class MemoryStore implements SimStore {
  readonly resources: ResourceCatalogue;
  readonly #options: StoreOptions;
  readonly #clock: SimClock;
  readonly #catalogue: ResourceCatalogue;
  readonly #retain: number;
  readonly #random: () => number;
  readonly #buckets = new Map<string, Map<string, KubeObject>>();
  /** Per bucket, the keys of each namespace's objects: a namespaced list reads only its own. */
  readonly #byNamespace = new Map<Map<string, KubeObject>, Map<string, Set<string>>>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  readonly #log: StoreEvent[] = [];
  readonly #pending: StoreEvent[] = [];
  #logStart = 0;
  #compacted = 0;
  #rv = 0;
  #dispatching = false;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#catalogue = options.catalogue;
    this.resources = options.catalogue;
    this.#retain = options.retainEvents ?? 10_000;
    this.#random = options.random ?? Math.random;
  }

  currentResourceVersion(): number {
    return this.#rv;
  }

  get(gvr: GVR, namespace: string | undefined, name: string): KubeObject | undefined {
    const i = this.info(gvr);
    const found = this.bucket(i).get(objectKey(i.namespaced ? namespace : undefined, name));
    return found ? this.out(i, found) : undefined;
  }

  list(gvr: GVR, listOptions: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const i = this.info(gvr);
    const matches = objectMatcher(
      i.group,
      i.resource,
      listOptions.labelSelector,
      listOptions.fieldSelector,
    );
    const items: KubeObject[] = [];
    const b = this.bucket(i);
    // Keys are "namespace/name": filter by namespace before sorting, clone only what matches.
    const ns = i.namespaced ? listOptions.namespace : undefined;
    const keys = ns === undefined ? [...b.keys()] : [...(this.#byNamespace.get(b)?.get(ns) ?? [])];
    for (const key of keys.sort()) {
      const object = b.get(key);
      if (object && matches(object)) items.push(this.out(i, object));
    }
    return { items, resourceVersion: String(this.#rv) };
  }

  create(gvr: GVR, object: KubeObject, actor: Actor, opts: WriteOptions = {}): KubeObject {
    return this.createObject(this.ctxFor(gvr, actor), object, opts);
  }

  update(gvr: GVR, object: KubeObject, actor: Actor, opts: WriteOptions = {}): KubeObject {
    return this.updateObject(this.ctxFor(gvr, actor), object, opts, {
      verb: "update",
      unconditional: false,
    });
  }

  delete(...args: DeleteArgs): KubeObject {
    return this.deleteObject(...args);
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

  compact(): void {
    this.#compacted = this.#rv;
    this.#log.length = 0;
    this.#logStart = 0;
  }

  bucket(info: ResourceInfo): Map<string, KubeObject> {
    const key = storageKey(info);
    let b = this.#buckets.get(key);
    if (!b) {
      b = new Map();
      this.#buckets.set(key, b);
    }
    return b;
  }

  namespaceKeys(b: Map<string, KubeObject>, ns: string): Set<string> {
    let byNs = this.#byNamespace.get(b);
    if (!byNs) {
      byNs = new Map();
      this.#byNamespace.set(b, byNs);
    }
    let keys = byNs.get(ns);
    if (!keys) {
      keys = new Set();
      byNs.set(ns, keys);
    }
    return keys;
  }

  info(gvr: GVR): ResourceInfo {
    const found = this.#catalogue.byGVR(gvr);
    if (!found) throw unknownResource();
    return found;
  }

  ctxFor(gvr: GVR, actor: Actor): Ctx {
    const i = this.info(gvr);
    return { gvr, info: i, strategy: writeStrategy(i), actor };
  }

  /** Returns a copy as served at the requested version. */
  out(i: ResourceInfo, object: KubeObject): KubeObject {
    const copy = cloneJson(object);
    copy.apiVersion = i.group === "" ? i.version : `${i.group}/${i.version}`;
    copy.kind = i.kind;
    return copy;
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

  emit(ctx: Ctx, type: StoreEvent["type"], object: KubeObject, old?: KubeObject): void {
    const event: StoreEvent = {
      type,
      gvr: { group: ctx.info.group, version: ctx.info.version, resource: ctx.info.resource },
      object: cloneJson(object),
      resourceVersion: Number(object.metadata.resourceVersion),
    };
    if (old) event.oldObject = cloneJson(old);
    this.dispatch(event);
  }

  audit(
    ctx: Ctx,
    verb: "create" | "update" | "patch" | "delete",
    obj: KubeObject,
    sub?: string,
  ): void {
    if (!this.#options.audit) return;
    const entry: Parameters<StoreAudit["recordWrite"]>[0] = {
      verb,
      gvr: ctx.gvr,
      name: obj.metadata.name ?? "",
      actor: ctx.actor,
    };
    if (obj.metadata.namespace !== undefined) entry.namespace = obj.metadata.namespace;
    if (sub !== undefined) entry.subresource = sub;
    this.#options.audit.recordWrite(entry);
  }

  checkNamespace(ctx: Ctx, object: KubeObject): void {
    if (!ctx.info.namespaced) {
      delete object.metadata.namespace;
      return;
    }
    const ns = object.metadata.namespace;
    if (ns === undefined || ns === "") {
      throw new ApiError(400, "BadRequest", "the server could not find the requested resource");
    }
    const namespace = this.#buckets.get("/namespaces")?.get(objectKey(undefined, ns));
    if (!namespace) throw notFound("", "namespaces", ns);
    const status = isRecord(namespace["status"]) ? namespace["status"] : {};
    if (status["phase"] === "Terminating") {
      // plugin/pkg/admission/namespace/lifecycle/admission.go: Admit
      const message = `unable to create new content in namespace ${ns} because it is being terminated`;
      const name = object.metadata.name ?? "";
      throw new ApiError(
        403,
        "Forbidden",
        `${qualifiedResource(ctx.info.group, ctx.info.resource)} "${name}" is forbidden: ${message}`,
        {
          name,
          group: ctx.info.group,
          kind: ctx.info.resource,
          causes: [{ reason: "NamespaceTerminating", message, field: "metadata.namespace" }],
        },
      );
    }
  }

  generateName(prefix: string): string {
    let suffix = "";
    for (let i = 0; i < 5; i++)
      suffix += NAME_ALPHABET.charAt(Math.floor(this.#random() * NAME_ALPHABET.length));
    return `${prefix}${suffix}`;
  }

  admit(ctx: Ctx, object: KubeObject, old?: KubeObject, sub?: string): KubeObject {
    if (!this.#options.admit) return object;
    const a: Parameters<AdmitFn>[0] = {
      gvr: ctx.gvr,
      info: ctx.info,
      operation: old ? "UPDATE" : "CREATE",
      object,
    };
    if (old) a.oldObject = cloneJson(old);
    if (sub !== undefined) a.subresource = sub;
    return this.#options.admit(a);
  }

  createObject(ctx: Ctx, input: KubeObject, opts: WriteOptions, applied?: boolean): KubeObject {
    let object = cloneJson(input);
    object.metadata = { ...object.metadata };
    object.apiVersion =
      ctx.info.group === "" ? ctx.info.version : `${ctx.info.group}/${ctx.info.version}`;
    object.kind = ctx.info.kind;
    this.checkNamespace(ctx, object);
    if (!object.metadata.name) {
      // A custom resource's missing name is reported by admission with its other errors (and,
      // as a blocking error, the notice that CEL rules were skipped), as the real server does.
      if (!object.metadata.generateName && ctx.info.crd !== undefined) {
        object = this.admit(ctx, object);
      }
      if (!object.metadata.generateName) {
        throw invalid(ctx.info.group, ctx.info.kind, "", [
          {
            reason: "FieldValueRequired",
            field: "metadata.name",
            message: "Required value: name or generateName is required",
          },
        ]);
      }
      object.metadata.name = this.generateName(object.metadata.generateName);
    }
    const name = object.metadata.name;
    prepareForCreate(ctx, object);
    object = this.admit(ctx, object);
    const meta = object.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = formatTimestamp(this.#clock.nowMs());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    if (ctx.strategy.generation) meta.generation = 1;
    else delete meta.generation;
    if (!applied) {
      meta.managedFields = recordUpdateManager({
        managedFields: [],
        manager: managerName(ctx.actor, opts.fieldManager),
        apiVersion: object.apiVersion,
        time: meta.creationTimestamp,
        old: undefined,
        next: object,
      });
    }
    const b = this.bucket(ctx.info);
    const key = objectKey(meta.namespace, name);
    if (b.has(key)) throw alreadyExists(ctx.info.group, ctx.info.resource, name);
    if (opts.dryRun) return this.out(ctx.info, object);
    meta.resourceVersion = String(++this.#rv);
    b.set(key, object);
    if (meta.namespace !== undefined) this.namespaceKeys(b, meta.namespace).add(key);
    this.emit(ctx, "ADDED", object);
    this.audit(ctx, applied ? "patch" : "create", object);
    return this.out(ctx.info, object);
  }

  existing(ctx: Ctx, namespace: string | undefined, name: string): KubeObject {
    const found = this.bucket(ctx.info).get(
      objectKey(ctx.info.namespaced ? namespace : undefined, name),
    );
    if (!found) throw notFound(ctx.info.group, ctx.info.resource, name);
    return found;
  }

  removeObject(ctx: Ctx, object: KubeObject, old: KubeObject): KubeObject {
    const removed = cloneJson(object);
    removed.metadata.resourceVersion = String(++this.#rv);
    const b = this.bucket(ctx.info);
    const key = objectKey(removed.metadata.namespace, removed.metadata.name ?? "");
    b.delete(key);
    const ns = removed.metadata.namespace;
    if (ns !== undefined) {
      const keys = this.namespaceKeys(b, ns);
      keys.delete(key);
      if (keys.size === 0) this.#byNamespace.get(b)?.delete(ns);
    }
    this.emit(ctx, "DELETED", removed, old);
    return removed;
  }

  /** The shared update path of PUT, PATCH and subresource writes. */
  /** Optimistic concurrency and UID preconditions of an update. */
  checkPreconditions(ctx: Ctx, input: KubeObject, old: KubeObject, run: UpdateRun): void {
    const name = old.metadata.name ?? "";
    const wantRv = input.metadata.resourceVersion ?? "";
    if (wantRv !== "" && wantRv !== old.metadata.resourceVersion) {
      throw conflict(ctx.info.group, ctx.info.resource, name);
    }
    if (wantRv === "" && !run.unconditional && ctx.strategy.custom) {
      // apiextensions-apiserver/pkg/registry/customresource/strategy.go: AllowUnconditionalUpdate false
      throw invalid(ctx.info.group, ctx.info.kind, name, [
        {
          reason: "FieldValueInvalid",
          field: "metadata.resourceVersion",
          message: "Invalid value: 0x0: must be specified for an update",
        },
      ]);
    }
    if (input.metadata.uid && input.metadata.uid !== old.metadata.uid) {
      throw preconditionFailed("UID", input.metadata.uid, old.metadata.uid ?? "");
    }
  }

  /** The candidate object of an update: strategy applied, system metadata carried over. */
  nextObject(ctx: Ctx, input: KubeObject, old: KubeObject, sub: string | undefined): KubeObject {
    const next = prepareForUpdate(ctx, old, cloneJson(input), sub);
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const meta: ObjectMeta = { ...next.metadata };
    meta.name = old.metadata.name ?? "";
    for (const k of SYSTEM_FIELDS) {
      if (old.metadata[k] === undefined) Reflect.deleteProperty(meta, k);
      else Reflect.set(meta, k, old.metadata[k]);
    }
    next.metadata = meta;
    checkNoNewFinalizers(ctx, old, next);
    return next;
  }

  /** The shared update path of PUT, PATCH and subresource writes. */
  updateObject(ctx: Ctx, input: KubeObject, opts: WriteOptions, run: UpdateRun): KubeObject {
    const ns = ctx.info.namespaced ? input.metadata.namespace : undefined;
    const old = this.existing(ctx, ns, input.metadata.name ?? "");
    const sub = opts.subresource;
    this.checkPreconditions(ctx, input, old, run);
    let next = this.nextObject(ctx, input, old, sub);
    next = this.admit(ctx, next, old, sub);
    if (ctx.strategy.generation && sub !== "status" && generationChanged(ctx.strategy, old, next)) {
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    if (!run.applied) {
      next.metadata.managedFields = recordUpdateManager({
        managedFields: old.metadata.managedFields ?? [],
        manager: managerName(ctx.actor, opts.fieldManager),
        apiVersion: next.apiVersion,
        time: formatTimestamp(this.#clock.nowMs()),
        old,
        next,
        ...(sub === "status" ? { subresource: "status" } : {}),
      });
    }
    const remove = shouldDeleteDuringUpdate(ctx, next);
    if (!remove && jsonEqual(withoutManagedFields(old), withoutManagedFields(next))) {
      return this.out(ctx.info, old);
    }
    if (opts.dryRun) return this.out(ctx.info, next);
    this.audit(ctx, run.verb, next, sub);
    if (remove) return this.out(ctx.info, this.removeObject(ctx, next, old));
    next.metadata.resourceVersion = String(++this.#rv);
    this.bucket(ctx.info).set(objectKey(ns, next.metadata.name ?? ""), next);
    this.emit(ctx, "MODIFIED", next, old);
    return this.out(ctx.info, next);
  }

  patch(...args: PatchArgs): KubeObject {
    const [gvr, namespace, name, patchType, body, actor, opts = {}] = args;
    const ctx = this.ctxFor(gvr, actor);
    const ns = ctx.info.namespaced ? namespace : undefined;
    const current = this.bucket(ctx.info).get(objectKey(ns, name));
    if (patchType === "apply") return this.applyPatch(ctx, { ns, name, body, opts, current });
    if (!current) throw notFound(ctx.info.group, ctx.info.resource, name);
    const base = this.out(ctx.info, current);
    const patched = applyPatchBody(patchType, base, body, {
      group: ctx.info.group,
      kind: ctx.info.kind,
      resource: ctx.info.resource,
      custom: ctx.strategy.custom,
    });
    patched.metadata = { ...patched.metadata, name };
    if (ns !== undefined) patched.metadata.namespace = ns;
    return this.updateObject(ctx, patched, opts, { verb: "patch", unconditional: true });
  }

  applyPatch(ctx: Ctx, run: ApplyRun): KubeObject {
    const { ns, name, body, opts, current } = run;
    const manager = opts.fieldManager ?? ctx.actor.manager;
    if (!manager) {
      throw invalid("meta.k8s.io", "PatchOptions", "", [
        {
          reason: "FieldValueRequired",
          field: "fieldManager",
          message: "Required value: is required for apply patch",
        },
      ]);
    }
    const result = serverSideApply({
      live: current ? this.out(ctx.info, current) : undefined,
      applied: body,
      manager,
      force: opts.force ?? false,
      time: formatTimestamp(this.#clock.nowMs()),
      subresource: opts.subresource,
      target: {
        group: ctx.info.group,
        version: ctx.info.version,
        kind: ctx.info.kind,
        name,
        namespace: ns,
      },
      statusSubresource: ctx.strategy.statusSubresource,
    });
    if (!current) return this.createObject(ctx, result, opts, true);
    return this.updateObject(ctx, result, opts, {
      verb: "patch",
      unconditional: true,
      applied: true,
    });
  }

  podGracePeriod(object: KubeObject, requested: number | undefined): number {
    // pkg/registry/core/pod/strategy.go: CheckGracefulDelete
    const spec = isRecord(object["spec"]) ? object["spec"] : {};
    const status = isRecord(object["status"]) ? object["status"] : {};
    if (!spec["nodeName"]) return 0;
    if (status["phase"] === "Succeeded" || status["phase"] === "Failed") return 0;
    if (requested !== undefined) return requested;
    const fromSpec = spec["terminationGracePeriodSeconds"];
    return typeof fromSpec === "number" ? fromSpec : 30;
  }

  finalizersFor(object: KubeObject, policy: DeleteOptions["propagationPolicy"]): string[] {
    // registry/generic/registry/store.go: deletionFinalizersForGarbageCollection
    const set = new Set(object.metadata.finalizers ?? []);
    if (policy === "Foreground") {
      set.delete("orphan");
      set.add("foregroundDeletion");
    } else if (policy === "Orphan") {
      set.delete("foregroundDeletion");
      set.add("orphan");
    } else if (policy === "Background") {
      set.delete("orphan");
      set.delete("foregroundDeletion");
    }
    return [...set];
  }

  commitDeleting(ctx: Ctx, old: KubeObject, next: KubeObject, dryRun?: boolean): KubeObject {
    if (dryRun) return this.out(ctx.info, next);
    next.metadata.resourceVersion = String(++this.#rv);
    this.bucket(ctx.info).set(objectKey(next.metadata.namespace, next.metadata.name ?? ""), next);
    this.emit(ctx, "MODIFIED", next, old);
    this.audit(ctx, "delete", next);
    return this.out(ctx.info, next);
  }

  deleteNamespace(ctx: Ctx, old: KubeObject, dryRun?: boolean): KubeObject | undefined {
    // pkg/registry/core/namespace/storage/storage.go: Delete
    const spec = isRecord(old["spec"]) ? old["spec"] : {};
    const specFinalizers = Array.isArray(spec["finalizers"]) ? spec["finalizers"] : [];
    if (old.metadata.deletionTimestamp !== undefined) {
      return specFinalizers.length > 0 || (old.metadata.finalizers ?? []).length > 0
        ? this.out(ctx.info, old)
        : undefined;
    }
    const next = cloneJson(old);
    next.metadata.deletionTimestamp = formatTimestamp(this.#clock.nowMs());
    next.metadata.deletionGracePeriodSeconds = 0;
    next["status"] = { ...(isRecord(old["status"]) ? old["status"] : {}), phase: "Terminating" };
    if (specFinalizers.length === 0 && (old.metadata.finalizers ?? []).length === 0)
      return undefined;
    return this.commitDeleting(ctx, old, next, dryRun);
  }

  deleteObject(...args: DeleteArgs): KubeObject {
    const [gvr, namespace, name, actor, opts = {}] = args;
    const ctx = this.ctxFor(gvr, actor);
    const old = this.existing(ctx, namespace, name);
    checkDeletePreconditions(old, opts.preconditions);
    if (storageKey(ctx.info) === "/namespaces") {
      const pendingNs = this.deleteNamespace(ctx, old, opts.dryRun);
      if (pendingNs) return pendingNs;
    }
    const finalizers = this.finalizersFor(old, opts.propagationPolicy);
    const grace =
      storageKey(ctx.info) === "/pods" ? this.podGracePeriod(old, opts.gracePeriodSeconds) : 0;
    const next = cloneJson(old);
    if (finalizers.length > 0) next.metadata.finalizers = finalizers;
    else delete next.metadata.finalizers;
    const meta = next.metadata;
    const deleting = old.metadata.deletionTimestamp !== undefined;
    const pendingGrace = old.metadata.deletionGracePeriodSeconds ?? 0;
    if (deleting && !(pendingGrace > 0 && grace < pendingGrace)) {
      if (jsonEqual(old.metadata.finalizers ?? [], finalizers)) return this.out(ctx.info, old);
      return this.commitDeleting(ctx, old, next, opts.dryRun);
    }
    if (grace > 0 || finalizers.length > 0) {
      meta.deletionTimestamp = formatTimestamp(this.#clock.nowMs() + grace * 1000);
      meta.deletionGracePeriodSeconds = grace;
      if (!deleting && meta.generation !== undefined && meta.generation > 0) meta.generation++;
      return this.commitDeleting(ctx, old, next, opts.dryRun);
    }
    if (opts.dryRun) return this.out(ctx.info, old);
    this.audit(ctx, "delete", old);
    return this.out(ctx.info, this.removeObject(ctx, old, old));
  }
}

/** Creates the simulator's store. */
export function createStore(options: StoreOptions): SimStore {
  return new MemoryStore(options);
}
