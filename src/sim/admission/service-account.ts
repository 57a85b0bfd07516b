/**
 * The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount) as far as a pull
 * depends on it: a new Pod without image pull secrets gets its ServiceAccount's, so they show in
 * the Pod's spec and the kubelet reads them from there; a Pod naming an account that does not
 * exist is refused (403). Unlike the real plugin, one on a missing "default" is admitted: the
 * ServiceAccount controller makes it moments after the namespace, and the simulator's tests create
 * Pods in that moment (src/sim/FIDELITY.md).
 */
import { ApiError } from "../errors.ts";
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
    if (spec === undefined) return object;
    const namespace = object.metadata.namespace ?? "";
    const name = spec.serviceAccountName ?? "default";
    const account = lookup(namespace, name);
    if (account === undefined && name !== "default") throw missingAccount(object, namespace, name);
    if ((spec.imagePullSecrets ?? []).length > 0) return object;
    const secrets = (account?.["imagePullSecrets"] ?? []) as { name?: string }[];
    if (secrets.length > 0) spec.imagePullSecrets = secrets.map(s => ({ name: s.name ?? "" }));
    return object;
  };
}

function missingAccount(pod: KubeObject, namespace: string, account: string): ApiError {
  const name = pod.metadata.name ?? "";
  const message = `error looking up service account ${namespace}/${account}: serviceaccount "${account}" not found`;
  return new ApiError(403, "Forbidden", `pods "${name}" is forbidden: ${message}`, {
    name,
    kind: "pods",
  });
}
