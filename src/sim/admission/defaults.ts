/**
 * Built-in defaulting as the apiserver applies it when it decodes a request, plus the
 * create-time touches of the registry strategies and default admission plugins that every object
 * of the kind shows (Namespace finalizers, Service cluster IPs, a Pod's service account).
 *
 * Sources (kubernetes/kubernetes): pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go,
 * pkg/apis/networking/v1/defaults.go, the `+default=` markers of k8s.io/api/core/v1/types.go
 * (ContainerPort.protocol, ServicePort.protocol), pkg/registry/core/namespace/strategy.go
 * (PrepareForCreate), pkg/registry/core/service/storage/alloc.go (cluster IP and families),
 * plugin/pkg/admission/serviceaccount (serviceAccountName "default"),
 * plugin/pkg/admission/defaulttolerationseconds, plugin/pkg/admission/priority.
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../types.ts";
import { canonicalQuantity } from "./quantity.ts";

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The object at `key`, created empty when missing. */
function ensure(parent: Obj, key: string): Obj {
  const value = parent[key];
  if (isObj(value)) return value;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

function setIfEmpty(target: Obj, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === "" || target[key] === null) target[key] = value;
}

/** parsers.ParseImageName's tag: "latest" when absent, "" for a digest reference. */
export function imageTag(image: string): string {
  if (image.includes("@")) return "";
  const lastSlash = image.lastIndexOf("/");
  const lastColon = image.lastIndexOf(":");
  return lastColon > lastSlash ? image.slice(lastColon + 1) : "latest";
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  setIfEmpty(probe, "timeoutSeconds", 1);
  setIfEmpty(probe, "periodSeconds", 10);
  setIfEmpty(probe, "successThreshold", 1);
  setIfEmpty(probe, "failureThreshold", 3);
  if (isObj(probe["httpGet"])) {
    setIfEmpty(probe["httpGet"], "path", "/");
    setIfEmpty(probe["httpGet"], "scheme", "HTTP");
  }
}

function defaultResourceList(list: unknown): void {
  if (!isObj(list)) return;
  for (const [name, value] of Object.entries(list)) {
    if (typeof value === "string") list[name] = canonicalQuantity(value);
    else if (typeof value === "number") list[name] = canonicalQuantity(String(value));
  }
}

/** SetDefaults_Container (and the declarative ContainerPort.protocol, ObjectFieldSelector). */
function defaultContainer(container: Obj): void {
  if (container["imagePullPolicy"] === undefined || container["imagePullPolicy"] === "") {
    const image = typeof container["image"] === "string" ? container["image"] : "";
    container["imagePullPolicy"] = imageTag(image) === "latest" ? "Always" : "IfNotPresent";
  }
  setIfEmpty(container, "terminationMessagePath", "/dev/termination-log");
  setIfEmpty(container, "terminationMessagePolicy", "File");
  for (const port of objects(container["ports"])) setIfEmpty(port, "protocol", "TCP");
  for (const env of objects(container["env"])) {
    const valueFrom = env["valueFrom"];
    if (isObj(valueFrom) && isObj(valueFrom["fieldRef"])) {
      setIfEmpty(valueFrom["fieldRef"], "apiVersion", "v1");
    }
  }
  defaultProbe(container["livenessProbe"]);
  defaultProbe(container["readinessProbe"]);
  defaultProbe(container["startupProbe"]);
  // `resources` is a non-pointer struct: it always appears, as {} when empty.
  const resources = ensure(container, "resources");
  defaultResourceList(resources["limits"]);
  defaultResourceList(resources["requests"]);
}

const volumeSources = [
  "hostPath",
  "emptyDir",
  "secret",
  "persistentVolumeClaim",
  "configMap",
  "downwardAPI",
  "projected",
  "csi",
  "ephemeral",
  "nfs",
  "image",
];

/** SetDefaults_Volume, SetDefaults_{Secret,ConfigMap,DownwardAPI,Projected}VolumeSource. */
function defaultVolume(volume: Obj): void {
  if (!volumeSources.some(source => volume[source] !== undefined)) volume["emptyDir"] = {};
  for (const source of ["secret", "configMap", "downwardAPI"]) {
    const value = volume[source];
    if (isObj(value)) setIfEmpty(value, "defaultMode", 420);
  }
  if (isObj(volume["projected"])) setIfEmpty(volume["projected"], "defaultMode", 420);
  if (isObj(volume["hostPath"])) setIfEmpty(volume["hostPath"], "type", "");
}

/** SetDefaults_PodSpec and everything nested in it. */
export function defaultPodSpec(spec: Obj): void {
  mirrorServiceAccount(spec);
  setIfEmpty(spec, "dnsPolicy", "ClusterFirst");
  setIfEmpty(spec, "restartPolicy", "Always");
  if (!isObj(spec["securityContext"])) spec["securityContext"] = {};
  setIfEmpty(spec, "terminationGracePeriodSeconds", 30);
  setIfEmpty(spec, "schedulerName", "default-scheduler");
  for (const container of objects(spec["containers"])) defaultContainer(container);
  for (const container of objects(spec["initContainers"])) defaultContainer(container);
  for (const volume of objects(spec["volumes"])) defaultVolume(volume);
}

/**
 * serviceAccount is the deprecated alias of serviceAccountName, and the v1 conversion keeps them
 * equal (pkg/apis/core/v1/conversion.go): the new field wins, the alias stands in when the new one
 * is empty, and what is stored and read back carries both. For Pods and pod templates alike.
 */
function mirrorServiceAccount(spec: Obj): void {
  const named = spec["serviceAccountName"];
  const alias = spec["serviceAccount"];
  const account =
    typeof named === "string" && named !== ""
      ? named
      : typeof alias === "string" && alias !== ""
        ? alias
        : undefined;
  if (account === undefined) {
    delete spec["serviceAccount"];
    return;
  }
  spec["serviceAccountName"] = account;
  spec["serviceAccount"] = account;
}

export function defaultPodTemplateSpec(template: unknown): void {
  if (!isObj(template)) return;
  defaultPodSpec(ensure(template, "spec"));
}

/** SetDefaults_Deployment (apps/v1). */
function defaultDeployment(object: KubeObject): void {
  const spec = ensure(object, "spec");
  setIfEmpty(spec, "replicas", 1);
  const strategy = ensure(spec, "strategy");
  setIfEmpty(strategy, "type", "RollingUpdate");
  if (strategy["type"] === "RollingUpdate") {
    const rollingUpdate = ensure(strategy, "rollingUpdate");
    setIfEmpty(rollingUpdate, "maxUnavailable", "25%");
    setIfEmpty(rollingUpdate, "maxSurge", "25%");
  }
  setIfEmpty(spec, "revisionHistoryLimit", 10);
  setIfEmpty(spec, "progressDeadlineSeconds", 600);
  defaultPodTemplateSpec(spec["template"]);
}

function defaultReplicaSet(object: KubeObject): void {
  const spec = ensure(object, "spec");
  setIfEmpty(spec, "replicas", 1);
  defaultPodTemplateSpec(spec["template"]);
}

/**
 * SetDefaults_StatefulSet (apps/v1), and the strategy's dropStatefulSetDisabledFields:
 * rollingUpdate.maxUnavailable is dropped unless the set already had it, as the
 * MaxUnavailableStatefulSet gate is off by default in v1.36. `serviceName` has no omitempty, so
 * an unset one reads back as "".
 */
function defaultStatefulSet(object: KubeObject, oldObject: KubeObject | undefined): void {
  const spec = ensure(object, "spec");
  setIfEmpty(spec, "podManagementPolicy", "OrderedReady");
  const strategy = ensure(spec, "updateStrategy");
  if (strategy["type"] === undefined || strategy["type"] === "") {
    strategy["type"] = "RollingUpdate";
    if (!isObj(strategy["rollingUpdate"])) strategy["rollingUpdate"] = {};
  }
  const rolling = strategy["rollingUpdate"];
  if (strategy["type"] === "RollingUpdate" && isObj(rolling)) {
    if (rolling["partition"] === undefined || rolling["partition"] === null)
      rolling["partition"] = 0;
  }
  const oldRolling = isObj(oldObject?.["spec"]) ? oldObject["spec"]["updateStrategy"] : undefined;
  const hadMaxUnavailable =
    isObj(oldRolling) &&
    isObj(oldRolling["rollingUpdate"]) &&
    oldRolling["rollingUpdate"]["maxUnavailable"] !== undefined;
  if (isObj(rolling) && !hadMaxUnavailable) delete rolling["maxUnavailable"];
  const retention = ensure(spec, "persistentVolumeClaimRetentionPolicy");
  setIfEmpty(retention, "whenDeleted", "Retain");
  setIfEmpty(retention, "whenScaled", "Retain");
  setIfEmpty(spec, "replicas", 1);
  setIfEmpty(spec, "revisionHistoryLimit", 10);
  if (spec["serviceName"] === undefined || spec["serviceName"] === null) spec["serviceName"] = "";
  defaultPodTemplateSpec(spec["template"]);
}

/**
 * SetDefaults_DaemonSet (apps/v1): a RollingUpdate strategy (the default type) gets
 * maxUnavailable 1 and maxSurge 0; revisionHistoryLimit 10.
 */
function defaultDaemonSet(object: KubeObject): void {
  const spec = ensure(object, "spec");
  const strategy = ensure(spec, "updateStrategy");
  setIfEmpty(strategy, "type", "RollingUpdate");
  if (strategy["type"] === "RollingUpdate") {
    const rolling = ensure(strategy, "rollingUpdate");
    if (rolling["maxUnavailable"] === undefined || rolling["maxUnavailable"] === null)
      rolling["maxUnavailable"] = 1;
    if (rolling["maxSurge"] === undefined || rolling["maxSurge"] === null) rolling["maxSurge"] = 0;
  }
  setIfEmpty(spec, "revisionHistoryLimit", 10);
  defaultPodTemplateSpec(spec["template"]);
}

function shortHash(text: string, length: number): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const digest = createHash("sha256").update(text).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length] ?? "x";
  return out;
}

/** The service account admission plugin's projected token volume (plugin/pkg/admission/serviceaccount). */
function apiAccessVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [
              {
                path: "namespace",
                fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
              },
            ],
          },
        },
      ],
    },
  };
}

/** SetDefaults_Pod plus the default admission plugins' mutations of a new Pod. */
function defaultPod(object: KubeObject, operation: "CREATE" | "UPDATE"): void {
  const spec = ensure(object, "spec");
  for (const container of [...objects(spec["containers"]), ...objects(spec["initContainers"])]) {
    const resources = ensure(container, "resources");
    if (isObj(resources["limits"])) {
      const requests = ensure(resources, "requests");
      for (const [key, value] of Object.entries(resources["limits"])) {
        if (requests[key] === undefined) requests[key] = value;
      }
    }
  }
  defaultPodSpec(spec);
  setIfEmpty(spec, "enableServiceLinks", true);
  if (operation !== "CREATE") return;
  setIfEmpty(spec, "serviceAccountName", "default");
  spec["serviceAccount"] = spec["serviceAccountName"];
  setIfEmpty(spec, "priority", 0);
  setIfEmpty(spec, "preemptionPolicy", "PreemptLowerPriority");
  defaultTolerations(spec);
  if (spec["automountServiceAccountToken"] !== false) mountApiAccess(object, spec);
}

/** plugin/pkg/admission/defaulttolerationseconds: NoExecute not-ready/unreachable for 300 s. */
function defaultTolerations(spec: Obj): void {
  const tolerations = objects(spec["tolerations"]);
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const present = tolerations.some(
      t => (t["key"] === key || t["key"] === undefined) && t["effect"] !== "NoSchedule",
    );
    if (!present) {
      tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
    }
  }
  spec["tolerations"] = tolerations;
}

function mountApiAccess(object: KubeObject, spec: Obj): void {
  const volumes = objects(spec["volumes"]);
  if (volumes.some(v => String(v["name"]).startsWith("kube-api-access-"))) return;
  const seed = `${object.metadata.namespace ?? ""}/${object.metadata.name ?? object.metadata.generateName ?? ""}`;
  const name = `kube-api-access-${shortHash(seed, 5)}`;
  volumes.push(apiAccessVolume(name));
  spec["volumes"] = volumes;
  for (const container of [...objects(spec["containers"]), ...objects(spec["initContainers"])]) {
    const mounts = objects(container["volumeMounts"]);
    mounts.push({
      name,
      readOnly: true,
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
    });
    container["volumeMounts"] = mounts;
  }
}

/** Namespace: SetDefaults_Namespace, SetDefaults_NamespaceStatus, strategy PrepareForCreate. */
function defaultNamespace(object: KubeObject, operation: "CREATE" | "UPDATE"): void {
  const name = object.metadata.name;
  if (name !== undefined && name !== "") {
    object.metadata.labels = { ...object.metadata.labels, "kubernetes.io/metadata.name": name };
  }
  if (operation === "CREATE") {
    object["spec"] = { finalizers: ["kubernetes"] };
    object["status"] = { phase: "Active" };
  } else {
    setIfEmpty(ensure(object, "status"), "phase", "Active");
  }
}

/** An address in 10.96.0.0/12 chosen from the Service's identity (see the module note). */
function clusterIPFor(object: KubeObject): string {
  const seed = `${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}`;
  const digest = createHash("sha256").update(seed).digest();
  // 20 host bits; skip .0.0, .0.1 (the kubernetes Service) and .0.10 (kube-dns).
  const offset = 16 + ((digest.readUInt32BE(0) >>> 0) % ((1 << 20) - 32));
  const b2 = 96 + (offset >>> 16);
  return `10.${b2}.${(offset >>> 8) & 0xff}.${offset & 0xff}`;
}

function nodePortFor(object: KubeObject, index: number): number {
  const seed = `${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}/${index}`;
  return 30000 + (createHash("sha256").update(seed).digest().readUInt16BE(0) % 2768);
}

/** SetDefaults_Service plus the registry's allocations (pkg/registry/core/service/storage). */
function defaultService(object: KubeObject, old: KubeObject | undefined): void {
  const spec = ensure(object, "spec");
  const oldSpec = old !== undefined && isObj(old["spec"]) ? old["spec"] : undefined;
  setIfEmpty(spec, "sessionAffinity", "None");
  if (spec["sessionAffinity"] === "None") delete spec["sessionAffinityConfig"];
  if (spec["sessionAffinity"] === "ClientIP") {
    const config = ensure(spec, "sessionAffinityConfig");
    setIfEmpty(ensure(config, "clientIP"), "timeoutSeconds", 10800);
  }
  setIfEmpty(spec, "type", "ClusterIP");
  const type = spec["type"];
  const ports = objects(spec["ports"]);
  ports.forEach((port, i) => {
    setIfEmpty(port, "protocol", "TCP");
    if (port["targetPort"] === undefined || port["targetPort"] === 0 || port["targetPort"] === "") {
      port["targetPort"] = port["port"];
    }
    if (type === "NodePort" || type === "LoadBalancer") {
      const oldPort = objects(oldSpec?.["ports"]).find(p => p["port"] === port["port"]);
      setIfEmpty(port, "nodePort", oldPort?.["nodePort"] ?? nodePortFor(object, i));
    }
  });
  if (type === "NodePort" || type === "LoadBalancer") {
    setIfEmpty(spec, "externalTrafficPolicy", "Cluster");
  }
  if (type === "LoadBalancer") setIfEmpty(spec, "allocateLoadBalancerNodePorts", true);
  if (type === "ExternalName") return;
  setIfEmpty(spec, "internalTrafficPolicy", "Cluster");
  setIfEmpty(spec, "clusterIP", oldSpec?.["clusterIP"] ?? clusterIPFor(object));
  setIfEmpty(spec, "clusterIPs", [spec["clusterIP"]]);
  setIfEmpty(spec, "ipFamilies", oldSpec?.["ipFamilies"] ?? ["IPv4"]);
  setIfEmpty(spec, "ipFamilyPolicy", oldSpec?.["ipFamilyPolicy"] ?? "SingleStack");
  if (!isObj(object["status"])) object["status"] = { loadBalancer: {} };
}

/** pkg/apis/networking/v1/defaults.go: SetDefaults_NetworkPolicy, SetDefaults_NetworkPolicyPort. */
function defaultNetworkPolicy(object: KubeObject): void {
  const spec = ensure(object, "spec");
  for (const rule of [...objects(spec["ingress"]), ...objects(spec["egress"])]) {
    for (const port of objects(rule["ports"])) setIfEmpty(port, "protocol", "TCP");
  }
  const policyTypes = spec["policyTypes"];
  if (!Array.isArray(policyTypes) || policyTypes.length === 0) {
    const types = ["Ingress"];
    if (Array.isArray(spec["egress"]) && spec["egress"].length > 0) types.push("Egress");
    spec["policyTypes"] = types;
  }
}

/**
 * Applies the defaults of a built-in kind in place. `oldObject` carries allocations (cluster IP,
 * node ports) forward on update, as the Service registry does.
 */
export function applyBuiltinDefaults(
  group: string,
  object: KubeObject,
  operation: "CREATE" | "UPDATE",
  oldObject?: KubeObject,
): void {
  const key = `${group}/${object.kind}`;
  switch (key) {
    case "apps/Deployment":
      defaultDeployment(object);
      break;
    case "apps/ReplicaSet":
      defaultReplicaSet(object);
      break;
    case "apps/StatefulSet":
      defaultStatefulSet(object, oldObject);
      break;
    case "apps/DaemonSet":
      defaultDaemonSet(object);
      break;
    case "batch/Job":
      defaultPodTemplateSpec(ensure(object, "spec")["template"]);
      break;
    case "/PodTemplate":
      defaultPodTemplateSpec(object["template"]);
      break;
    case "/Pod":
      defaultPod(object, operation);
      break;
    case "/Namespace":
      defaultNamespace(object, operation);
      break;
    case "/Secret":
      setIfEmpty(object, "type", "Opaque");
      break;
    case "/Service":
      defaultService(object, oldObject);
      break;
    case "networking.k8s.io/NetworkPolicy":
      defaultNetworkPolicy(object);
      break;
    default:
      break;
  }
}
