/**
 * Each resource's write strategy, as pure functions of the objects involved: what a create resets
 * (PrepareForCreate), what an update or subresource write may change (PrepareForUpdate), when
 * metadata.generation moves, the no-new-finalizers rule, and when an update completes a deletion.
 * Also the error shapes those rules answer with.
 */
import { storageKey } from "../catalogue.ts";
import type { WriteStrategy } from "../catalogue.ts";
import { ApiError, invalid } from "../errors.ts";
import type { Actor, GVR, KubeObject, ResourceInfo } from "../types.ts";
import { cloneJson, isRecord, jsonEqual } from "./json.ts";

/** One write's resource, its strategy and who makes it. */
export interface Ctx {
  gvr: GVR;
  info: ResourceInfo;
  strategy: WriteStrategy;
  actor: Actor;
}

export function unknownResource(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

export function preconditionFailed(what: string, expected: string, actual: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Precondition failed: ${what} in precondition: ${expected}, ${what} in object meta: ${actual}`,
  );
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

/** apps/v1 DeprecatedTemplateGeneration: a DaemonSet's internal spec.templateGeneration. */
export const TEMPLATE_GENERATION = "deprecated.daemonset.template.generation";

/**
 * The DaemonSet strategy's PrepareForUpdate: templateGeneration cannot be set by a client and
 * goes up by one when the template changes.
 */
function keepTemplateGeneration(old: KubeObject, next: KubeObject): void {
  const oldGeneration = Number(old.metadata.annotations?.[TEMPLATE_GENERATION] ?? "0");
  const template = (o: KubeObject): unknown =>
    isRecord(o["spec"]) ? o["spec"]["template"] : undefined;
  const changed = !jsonEqual(template(old), template(next));
  next.metadata = {
    ...next.metadata,
    annotations: {
      ...next.metadata.annotations,
      [TEMPLATE_GENERATION]: String(oldGeneration + (changed ? 1 : 0)),
    },
  };
}

/** Strategy work done on create (each registry's PrepareForCreate). */
export function prepareForCreate(ctx: Ctx, object: KubeObject): void {
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
  if (key === "apps/statefulsets") {
    // pkg/registry/apps/statefulset/strategy.go: PrepareForCreate resets status to its zero
    // value, whose non-omitempty counts read back as 0.
    object["status"] = { replicas: 0, availableReplicas: 0 };
  }
  if (key === "apps/daemonsets") {
    // pkg/registry/apps/daemonset/strategy.go: PrepareForCreate zeroes status (four counts have
    // no omitempty) and sets templateGeneration 1, which apps/v1 shows as an annotation.
    object["status"] = {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    };
    object.metadata.annotations = { ...object.metadata.annotations, [TEMPLATE_GENERATION]: "1" };
  }
  if (key === "/pods") {
    // pkg/registry/core/pod/strategy.go: PrepareForCreate
    object["status"] = { phase: "Pending", qosClass: podQosClass(object) };
  }
}

/** Strategy work done on update of the main resource or a subresource (PrepareForUpdate). */
export function prepareForUpdate(
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
  if (storageKey(ctx.info) === "apps/daemonsets") keepTemplateGeneration(old, next);
  if (ctx.strategy.statusSubresource) {
    if (old["status"] === undefined) delete next["status"];
    else next["status"] = old["status"];
  }
  return next;
}

export function generationChanged(
  strategy: WriteStrategy,
  old: KubeObject,
  next: KubeObject,
): boolean {
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

export function checkNoNewFinalizers(ctx: Ctx, old: KubeObject, next: KubeObject): void {
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

export function shouldDeleteDuringUpdate(ctx: Ctx, object: KubeObject): boolean {
  if (object.metadata.deletionTimestamp === undefined) return false;
  if ((object.metadata.finalizers ?? []).length > 0) return false;
  if (storageKey(ctx.info) === "/namespaces") {
    // pkg/registry/core/namespace/storage/storage.go: ShouldDeleteNamespaceDuringUpdate
    const spec = isRecord(object["spec"]) ? object["spec"] : {};
    return !Array.isArray(spec["finalizers"]) || spec["finalizers"].length === 0;
  }
  return true;
}
