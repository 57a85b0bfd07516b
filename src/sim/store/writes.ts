/**
 * The write paths of create, update (PUT), patch and server-side apply, subresources included:
 * namespace lifecycle checks, generateName, uid and creationTimestamp, optimistic concurrency and
 * UID preconditions, system metadata carried over, generation bumps, managedFields, no-op
 * detection, and an update that completes a pending deletion.
 */
import { randomUUID } from "node:crypto";
import {
  alreadyExists,
  ApiError,
  conflict,
  invalid,
  notFound,
  qualifiedResource,
} from "../errors.ts";
import { applyPatchBody, recordUpdateManager, serverSideApply } from "../patch.ts";
import { formatTimestamp } from "../types.ts";
import type { Actor, KubeObject, ObjectMeta, Store, WriteOptions } from "../types.ts";
import type { StoreCore } from "./core.ts";
import { cloneJson, isRecord, jsonEqual } from "./json.ts";
import { objectKey } from "./objects.ts";
import {
  checkNoNewFinalizers,
  generationChanged,
  preconditionFailed,
  prepareForCreate,
  prepareForUpdate,
  shouldDeleteDuringUpdate,
} from "./strategy.ts";
import type { Ctx } from "./strategy.ts";

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

export type PatchArgs = Parameters<Store["patch"]>;

export interface UpdateRun {
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

function checkNamespace(core: StoreCore, ctx: Ctx, object: KubeObject): void {
  if (!ctx.info.namespaced) {
    delete object.metadata.namespace;
    return;
  }
  const ns = object.metadata.namespace;
  if (ns === undefined || ns === "") {
    throw new ApiError(400, "BadRequest", "the server could not find the requested resource");
  }
  const namespace = core.objects.namespace(ns);
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

function generateName(core: StoreCore, prefix: string): string {
  let suffix = "";
  for (let i = 0; i < 5; i++)
    suffix += NAME_ALPHABET.charAt(Math.floor(core.random() * NAME_ALPHABET.length));
  return `${prefix}${suffix}`;
}

export function createObject(
  core: StoreCore,
  ctx: Ctx,
  input: KubeObject,
  opts: WriteOptions,
  applied?: boolean,
): KubeObject {
  let object = cloneJson(input);
  object.metadata = { ...object.metadata };
  object.apiVersion =
    ctx.info.group === "" ? ctx.info.version : `${ctx.info.group}/${ctx.info.version}`;
  object.kind = ctx.info.kind;
  checkNamespace(core, ctx, object);
  if (!object.metadata.name) {
    // A custom resource's missing name is reported by admission with its other errors (and,
    // as a blocking error, the notice that CEL rules were skipped), as the real server does.
    if (!object.metadata.generateName && ctx.info.crd !== undefined) {
      object = core.admit(ctx, object);
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
    object.metadata.name = generateName(core, object.metadata.generateName);
  }
  const name = object.metadata.name;
  prepareForCreate(ctx, object);
  object = core.admit(ctx, object);
  const meta = object.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = formatTimestamp(core.clock.nowMs());
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
  const b = core.objects.bucket(ctx.info);
  const key = objectKey(meta.namespace, name);
  if (b.has(key)) throw alreadyExists(ctx.info.group, ctx.info.resource, name);
  if (opts.dryRun) return core.out(ctx.info, object);
  meta.resourceVersion = core.objects.nextResourceVersion();
  core.objects.insert(b, key, object);
  core.emit(ctx, "ADDED", object);
  core.audit(ctx, applied ? "patch" : "create", object);
  return core.out(ctx.info, object);
}

/** Optimistic concurrency and UID preconditions of an update. */
function checkPreconditions(ctx: Ctx, input: KubeObject, old: KubeObject, run: UpdateRun): void {
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
function nextObject(
  ctx: Ctx,
  input: KubeObject,
  old: KubeObject,
  sub: string | undefined,
): KubeObject {
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
export function updateObject(
  core: StoreCore,
  ctx: Ctx,
  input: KubeObject,
  opts: WriteOptions,
  run: UpdateRun,
): KubeObject {
  const ns = ctx.info.namespaced ? input.metadata.namespace : undefined;
  const old = core.existing(ctx, ns, input.metadata.name ?? "");
  const sub = opts.subresource;
  checkPreconditions(ctx, input, old, run);
  let next = nextObject(ctx, input, old, sub);
  next = core.admit(ctx, next, old, sub);
  if (ctx.strategy.generation && sub !== "status" && generationChanged(ctx.strategy, old, next)) {
    next.metadata.generation = (old.metadata.generation ?? 0) + 1;
  }
  if (!run.applied) {
    next.metadata.managedFields = recordUpdateManager({
      managedFields: old.metadata.managedFields ?? [],
      manager: managerName(ctx.actor, opts.fieldManager),
      apiVersion: next.apiVersion,
      time: formatTimestamp(core.clock.nowMs()),
      old,
      next,
      ...(sub === "status" ? { subresource: "status" } : {}),
    });
  }
  const remove = shouldDeleteDuringUpdate(ctx, next);
  if (!remove && jsonEqual(withoutManagedFields(old), withoutManagedFields(next))) {
    return core.out(ctx.info, old);
  }
  if (opts.dryRun) return core.out(ctx.info, next);
  core.audit(ctx, run.verb, next, sub);
  if (remove) return core.out(ctx.info, core.removeObject(ctx, next, old));
  next.metadata.resourceVersion = core.objects.nextResourceVersion();
  core.objects.bucket(ctx.info).set(objectKey(ns, next.metadata.name ?? ""), next);
  core.emit(ctx, "MODIFIED", next, old);
  return core.out(ctx.info, next);
}

/** PATCH: apply patches go to server-side apply, the other types are read-modify-update. */
export function patchObject(core: StoreCore, args: PatchArgs): KubeObject {
  const [gvr, namespace, name, patchType, body, actor, opts = {}] = args;
  const ctx = core.ctxFor(gvr, actor);
  const ns = ctx.info.namespaced ? namespace : undefined;
  const current = core.objects.bucket(ctx.info).get(objectKey(ns, name));
  if (patchType === "apply") return applyPatch(core, ctx, { ns, name, body, opts, current });
  if (!current) throw notFound(ctx.info.group, ctx.info.resource, name);
  const base = core.out(ctx.info, current);
  const patched = applyPatchBody(patchType, base, body, {
    group: ctx.info.group,
    kind: ctx.info.kind,
    resource: ctx.info.resource,
    custom: ctx.strategy.custom,
  });
  patched.metadata = { ...patched.metadata, name };
  if (ns !== undefined) patched.metadata.namespace = ns;
  return updateObject(core, ctx, patched, opts, { verb: "patch", unconditional: true });
}

function applyPatch(core: StoreCore, ctx: Ctx, run: ApplyRun): KubeObject {
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
    live: current ? core.out(ctx.info, current) : undefined,
    applied: body,
    manager,
    force: opts.force ?? false,
    time: formatTimestamp(core.clock.nowMs()),
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
  if (!current) return createObject(core, ctx, result, opts, true);
  return updateObject(core, ctx, result, opts, {
    verb: "patch",
    unconditional: true,
    applied: true,
  });
}
