/**
 * Deletion: uid and resourceVersion preconditions, the garbage collector's finalizers for each
 * propagationPolicy, a pod's graceful deletion period, a namespace's move to Terminating, and
 * setting deletionTimestamp while finalizers or grace remain, removing the object once none do.
 */
import { storageKey } from "../catalogue.ts";
import { formatTimestamp } from "../types.ts";
import type { DeleteOptions, KubeObject, Store } from "../types.ts";
import type { StoreCore } from "./core.ts";
import { cloneJson, isRecord, jsonEqual } from "./json.ts";
import { objectKey } from "./objects.ts";
import { preconditionFailed } from "./strategy.ts";
import type { Ctx } from "./strategy.ts";

export type DeleteArgs = Parameters<Store["delete"]>;

function checkDeletePreconditions(old: KubeObject, pre: DeleteOptions["preconditions"]): void {
  if (pre?.uid && pre.uid !== old.metadata.uid) {
    throw preconditionFailed("UID", pre.uid, old.metadata.uid ?? "");
  }
  const rv = old.metadata.resourceVersion ?? "";
  if (pre?.resourceVersion && pre.resourceVersion !== rv) {
    throw preconditionFailed("ResourceVersion", pre.resourceVersion, rv);
  }
}

function podGracePeriod(object: KubeObject, requested: number | undefined): number {
  // pkg/registry/core/pod/strategy.go: CheckGracefulDelete
  const spec = isRecord(object["spec"]) ? object["spec"] : {};
  const status = isRecord(object["status"]) ? object["status"] : {};
  if (!spec["nodeName"]) return 0;
  if (status["phase"] === "Succeeded" || status["phase"] === "Failed") return 0;
  if (requested !== undefined) return requested;
  const fromSpec = spec["terminationGracePeriodSeconds"];
  return typeof fromSpec === "number" ? fromSpec : 30;
}

function finalizersFor(object: KubeObject, policy: DeleteOptions["propagationPolicy"]): string[] {
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

/** Stores the object as still being deleted (deletionTimestamp set, finalizers pending). */
function commitDeleting(
  core: StoreCore,
  ctx: Ctx,
  old: KubeObject,
  next: KubeObject,
  dryRun?: boolean,
): KubeObject {
  if (dryRun) return core.out(ctx.info, next);
  next.metadata.resourceVersion = core.objects.nextResourceVersion();
  core.objects
    .bucket(ctx.info)
    .set(objectKey(next.metadata.namespace, next.metadata.name ?? ""), next);
  core.emit(ctx, "MODIFIED", next, old);
  core.audit(ctx, "delete", next);
  return core.out(ctx.info, next);
}

function deleteNamespace(
  core: StoreCore,
  ctx: Ctx,
  old: KubeObject,
  dryRun?: boolean,
): KubeObject | undefined {
  // pkg/registry/core/namespace/storage/storage.go: Delete
  const spec = isRecord(old["spec"]) ? old["spec"] : {};
  const specFinalizers = Array.isArray(spec["finalizers"]) ? spec["finalizers"] : [];
  if (old.metadata.deletionTimestamp !== undefined) {
    return specFinalizers.length > 0 || (old.metadata.finalizers ?? []).length > 0
      ? core.out(ctx.info, old)
      : undefined;
  }
  const next = cloneJson(old);
  next.metadata.deletionTimestamp = formatTimestamp(core.clock.nowMs());
  next.metadata.deletionGracePeriodSeconds = 0;
  next["status"] = { ...(isRecord(old["status"]) ? old["status"] : {}), phase: "Terminating" };
  if (specFinalizers.length === 0 && (old.metadata.finalizers ?? []).length === 0) return undefined;
  return commitDeleting(core, ctx, old, next, dryRun);
}

export function deleteObject(core: StoreCore, args: DeleteArgs): KubeObject {
  const [gvr, namespace, name, actor, opts = {}] = args;
  const ctx = core.ctxFor(gvr, actor);
  const old = core.existing(ctx, namespace, name);
  checkDeletePreconditions(old, opts.preconditions);
  if (storageKey(ctx.info) === "/namespaces") {
    const pendingNs = deleteNamespace(core, ctx, old, opts.dryRun);
    if (pendingNs) return pendingNs;
  }
  const finalizers = finalizersFor(old, opts.propagationPolicy);
  const grace = storageKey(ctx.info) === "/pods" ? podGracePeriod(old, opts.gracePeriodSeconds) : 0;
  const next = cloneJson(old);
  if (finalizers.length > 0) next.metadata.finalizers = finalizers;
  else delete next.metadata.finalizers;
  const meta = next.metadata;
  const deleting = old.metadata.deletionTimestamp !== undefined;
  const pendingGrace = old.metadata.deletionGracePeriodSeconds ?? 0;
  if (deleting && !(pendingGrace > 0 && grace < pendingGrace)) {
    if (jsonEqual(old.metadata.finalizers ?? [], finalizers)) return core.out(ctx.info, old);
    return commitDeleting(core, ctx, old, next, opts.dryRun);
  }
  if (grace > 0 || finalizers.length > 0) {
    meta.deletionTimestamp = formatTimestamp(core.clock.nowMs() + grace * 1000);
    meta.deletionGracePeriodSeconds = grace;
    if (!deleting && meta.generation !== undefined && meta.generation > 0) meta.generation++;
    return commitDeleting(core, ctx, old, next, opts.dryRun);
  }
  if (opts.dryRun) return core.out(ctx.info, old);
  core.audit(ctx, "delete", old);
  return core.out(ctx.info, core.removeObject(ctx, old, old));
}
