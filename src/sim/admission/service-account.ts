/**
 * The ServiceAccount admission plugin's part that a pull depends on
 * (plugin/pkg/admission/serviceaccount): a new Pod without image pull secrets gets its
 * ServiceAccount's, so they show in the Pod's spec and the kubelet reads them from there. Unlike
 * the real plugin, a Pod whose ServiceAccount does not exist is admitted (src/sim/FIDELITY.md).
 */
import type { KubeObject } from "../types.ts";
import type { AdmissionContext } from "./index.ts";

export type ServiceAccountLookup = (namespace: string, name: string) => KubeObject | undefined;

interface PodSpec {
  serviceAccountName?: string;
  imagePullSecrets?: { name?: string }[];
}

/** Wraps an admission function: after it, a created Pod takes its ServiceAccount's pull secrets. */
export function withServiceAccountPullSecrets(
  admit: (ctx: AdmissionContext) => KubeObject,
  lookup: ServiceAccountLookup,
): (ctx: AdmissionContext) => KubeObject {
  return ctx => {
    const object = admit(ctx);
    const isPodCreate =
      ctx.gvr.group === "" &&
      ctx.gvr.resource === "pods" &&
      ctx.operation === "CREATE" &&
      ctx.subresource === undefined;
    if (!isPodCreate) return object;
    const spec = object["spec"] as PodSpec | undefined;
    if (spec === undefined || (spec.imagePullSecrets ?? []).length > 0) return object;
    const account = lookup(object.metadata.namespace ?? "", spec.serviceAccountName ?? "default");
    const secrets = (account?.["imagePullSecrets"] ?? []) as { name?: string }[];
    if (secrets.length > 0) spec.imagePullSecrets = secrets.map(s => ({ name: s.name ?? "" }));
    return object;
  };
}
