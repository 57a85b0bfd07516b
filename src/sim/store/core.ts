/**
 * What every write path shares: the store's options (clock, catalogue, admission, audit), its
 * object table and event log, and the steps each write is made of: resolving a GVR to its
 * catalogue entry and strategy, the admission call, serving a copy at the requested version,
 * emitting an event, the audit record, and removing an object for good.
 */
import { writeStrategy } from "../catalogue.ts";
import { notFound } from "../errors.ts";
import type {
  AdmissionContext,
  Actor,
  GVR,
  KubeObject,
  ResourceCatalogue,
  ResourceInfo,
  SimClock,
  StoreEvent,
} from "../types.ts";
import { EventLog } from "./events.ts";
import { cloneJson } from "./json.ts";
import { ObjectTable, objectKey } from "./objects.ts";
import { unknownResource } from "./strategy.ts";
import type { Ctx } from "./strategy.ts";

/** The admission seam: defaulting and validation (src/sim/admission). Returns the admitted object. */
export type AdmitFn = (ctx: AdmissionContext) => KubeObject;

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

export class StoreCore {
  readonly clock: SimClock;
  readonly random: () => number;
  readonly objects = new ObjectTable();
  readonly events: EventLog;
  readonly #options: StoreOptions;
  readonly #catalogue: ResourceCatalogue;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.clock = options.clock;
    this.#catalogue = options.catalogue;
    this.events = new EventLog(options.retainEvents ?? 10_000);
    this.random = options.random ?? Math.random;
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

  emit(ctx: Ctx, type: StoreEvent["type"], object: KubeObject, old?: KubeObject): void {
    const event: StoreEvent = {
      type,
      gvr: { group: ctx.info.group, version: ctx.info.version, resource: ctx.info.resource },
      object: cloneJson(object),
      resourceVersion: Number(object.metadata.resourceVersion),
    };
    if (old) event.oldObject = cloneJson(old);
    this.events.dispatch(event);
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

  /** The stored object a write or delete acts on, or 404. */
  existing(ctx: Ctx, namespace: string | undefined, name: string): KubeObject {
    const found = this.objects
      .bucket(ctx.info)
      .get(objectKey(ctx.info.namespaced ? namespace : undefined, name));
    if (!found) throw notFound(ctx.info.group, ctx.info.resource, name);
    return found;
  }

  /** Removes an object for good and emits DELETED; returns its last state. */
  removeObject(ctx: Ctx, object: KubeObject, old: KubeObject): KubeObject {
    const removed = cloneJson(object);
    removed.metadata.resourceVersion = this.objects.nextResourceVersion();
    const b = this.objects.bucket(ctx.info);
    const key = objectKey(removed.metadata.namespace, removed.metadata.name ?? "");
    this.objects.remove(b, key, removed.metadata.namespace);
    this.emit(ctx, "DELETED", removed, old);
    return removed;
  }
}
