/**
 * What the kubelet reads from the API before it creates a container: the environment
 * (pkg/kubelet/kubelet_pods.go, makeEnvironmentVariables, whose errors become
 * CreateContainerConfigError) and the registry credentials of the pod's image pull secrets and
 * its service account's (pkg/kubelet/kubelet_pods.go, getPullSecretsForPod; credentialprovider).
 */
import type { KubeObject, Store } from "../types.ts";
import { CONFIGMAPS, SECRETS } from "../controllers/kube.ts";

interface KeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef; fieldRef?: { fieldPath: string } };
}

interface EnvFrom {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

export interface ContainerSpec {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  readinessProbe?: { initialDelaySeconds?: number; periodSeconds?: number };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export type EnvResult = { ok: true; env: Map<string, string> } | { ok: false; message: string };

function decode(b64: string): string {
  return Buffer.from(b64, "base64").toString("utf8");
}

function sourceData(
  store: Store,
  ns: string,
  kind: "configmap" | "secret",
  name: string,
): Record<string, string> | undefined {
  const o = store.get(kind === "configmap" ? CONFIGMAPS : SECRETS, ns, name);
  if (o === undefined) return undefined;
  if (kind === "configmap") return { ...((o["data"] ?? {}) as Record<string, string>) };
  const data = (o["data"] ?? {}) as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = decode(v);
  for (const [k, v] of Object.entries((o["stringData"] ?? {}) as Record<string, string>))
    out[k] = v;
  return out;
}

function fieldValue(pod: KubeObject, path: string, podIP: string): string {
  const spec = (pod["spec"] ?? {}) as Record<string, unknown>;
  switch (path) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return typeof spec["nodeName"] === "string" ? spec["nodeName"] : "";
    case "spec.serviceAccountName":
      return typeof spec["serviceAccountName"] === "string"
        ? spec["serviceAccountName"]
        : "default";
    case "status.podIP":
      return podIP;
    default:
      return "";
  }
}

function resolveEnvFrom(
  store: Store,
  ns: string,
  from: EnvFrom[],
  env: Map<string, string>,
): string | undefined {
  for (const f of from) {
    const ref = f.configMapRef ?? f.secretRef;
    if (ref === undefined) continue;
    const kind = f.configMapRef !== undefined ? "configmap" : "secret";
    const data = sourceData(store, ns, kind, ref.name ?? "");
    if (data === undefined) {
      if (ref.optional === true) continue;
      return `${kind} "${ref.name ?? ""}" not found`;
    }
    for (const [k, v] of Object.entries(data)) env.set(`${f.prefix ?? ""}${k}`, v);
  }
  return undefined;
}

/** The container's environment, or the kubelet's error for a missing object or key. */
export function resolveEnv(
  store: Store,
  pod: KubeObject,
  c: ContainerSpec,
  podIP: string,
): EnvResult {
  const ns = pod.metadata.namespace ?? "";
  const env = new Map<string, string>();
  const fromError = resolveEnvFrom(store, ns, c.envFrom ?? [], env);
  if (fromError !== undefined) return { ok: false, message: fromError };
  for (const e of c.env ?? []) {
    if (e.valueFrom === undefined) {
      env.set(e.name, e.value ?? "");
      continue;
    }
    if (e.valueFrom.fieldRef !== undefined) {
      env.set(e.name, fieldValue(pod, e.valueFrom.fieldRef.fieldPath, podIP));
      continue;
    }
    const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef;
    if (ref === undefined) continue;
    const isCm = e.valueFrom.configMapKeyRef !== undefined;
    const data = sourceData(store, ns, isCm ? "configmap" : "secret", ref.name ?? "");
    if (data === undefined) {
      if (ref.optional === true) continue;
      return {
        ok: false,
        message: `${isCm ? "configmap" : "secret"} "${ref.name ?? ""}" not found`,
      };
    }
    const v = data[ref.key];
    if (v === undefined) {
      if (ref.optional === true) continue;
      return {
        ok: false,
        message: `couldn't find key ${ref.key} in ${isCm ? "ConfigMap" : "Secret"} ${ns}/${ref.name ?? ""}`,
      };
    }
    env.set(e.name, v);
  }
  return { ok: true, env };
}

/** A docker config "auths" key to a registry host ("https://index.docker.io/v1/" is docker.io). */
export function registryHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function hostsOf(secret: KubeObject): string[] {
  const data = (secret["data"] ?? {}) as Record<string, string>;
  try {
    if (
      secret["type"] === "kubernetes.io/dockerconfigjson" &&
      data[".dockerconfigjson"] !== undefined
    ) {
      const parsed = JSON.parse(decode(data[".dockerconfigjson"])) as {
        auths?: Record<string, unknown>;
      };
      return Object.keys(parsed.auths ?? {}).map(registryHost);
    }
    if (secret["type"] === "kubernetes.io/dockercfg" && data[".dockercfg"] !== undefined) {
      return Object.keys(JSON.parse(decode(data[".dockercfg"])) as Record<string, unknown>).map(
        registryHost,
      );
    }
  } catch {
    // A malformed secret gives no credentials, as the keyring skips it.
  }
  return [];
}

/** Registry hosts the pod may pull from with credentials, and the pull secrets that are missing. */
export function pullCredentials(
  store: Store,
  pod: KubeObject,
): { hosts: Set<string>; missing: string[] } {
  const ns = pod.metadata.namespace ?? "";
  // The pod's own list: admission copied its ServiceAccount's into it (admission/service-account.ts).
  const spec = (pod["spec"] ?? {}) as { imagePullSecrets?: { name?: string }[] };
  const names = (spec.imagePullSecrets ?? []).map(s => s.name ?? "");
  const hosts = new Set<string>();
  const missing: string[] = [];
  for (const name of new Set(names)) {
    const secret = store.get(SECRETS, ns, name);
    if (secret === undefined) missing.push(name);
    else for (const h of hostsOf(secret)) hosts.add(h);
  }
  return { hosts, missing };
}
