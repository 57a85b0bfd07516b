/**
 * Built-in validation for the kinds our operator and the kubectl tests touch. Wording and field
 * paths follow kubernetes/kubernetes pkg/apis/apps/validation/validation.go
 * (ValidateDeploymentSpec, ValidateDeploymentStrategy, ValidateRollingUpdateDeployment,
 * ValidatePodTemplateSpecForReplicaSet, ValidateDeploymentUpdate, ValidateStatefulSetSpec,
 * ValidateStatefulSetUpdate, ValidateControllerRevisionCreate / Update) and
 * pkg/apis/core/validation/validation.go (ValidatePodSpec, validateContainers,
 * validateRestartPolicy, validateDNSPolicy, ValidateConfigMap).
 */
import type { StatusCause } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isObj, type Obj } from "./defaults.ts";
import { duplicate, forbidden, invalidValue, notSupported, regexError, required } from "./field.ts";
import { isDNS1123Label, type NameRule, validateLabels, validateObjectMeta } from "./names.ts";
import { labelSelectorMatches, validateLabelSelector } from "./selector.ts";

const nameRules: Record<string, NameRule> = {
  "/Namespace": "label",
  "apps/StatefulSet": "label",
  "/Service": "dns1035",
  "rbac.authorization.k8s.io/Role": "path",
  "rbac.authorization.k8s.io/ClusterRole": "path",
  "rbac.authorization.k8s.io/RoleBinding": "path",
  "rbac.authorization.k8s.io/ClusterRoleBinding": "path",
};

export function nameRuleFor(group: string, kind: string): NameRule {
  return nameRules[`${group}/${kind}`] ?? "subdomain";
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

function nonNegative(value: unknown, field: string): StatusCause[] {
  return typeof value === "number" && value < 0
    ? [invalidValue(field, value, "must be greater than or equal to 0")]
    : [];
}

const pullPolicies = ["Always", "IfNotPresent", "Never"];
const protocols = ["SCTP", "TCP", "UDP"];

function validatePorts(ports: Obj[], field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  ports.forEach((port, i) => {
    const path = `${field}[${i}]`;
    const number = port["containerPort"];
    if (number === undefined || number === 0) causes.push(required(`${path}.containerPort`));
    else if (typeof number !== "number" || number < 1 || number > 65535) {
      causes.push(
        invalidValue(`${path}.containerPort`, number, "must be between 1 and 65535, inclusive"),
      );
    }
    const protocol = port["protocol"];
    if (typeof protocol === "string" && !protocols.includes(protocol)) {
      causes.push(notSupported(`${path}.protocol`, protocol, protocols));
    }
  });
  return causes;
}

function validateContainers(containers: Obj[], field: string, seen: Set<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  containers.forEach((container, i) => {
    const path = `${field}[${i}]`;
    const name = typeof container["name"] === "string" ? container["name"] : "";
    if (name === "") causes.push(required(`${path}.name`));
    else {
      for (const m of isDNS1123Label(name)) causes.push(invalidValue(`${path}.name`, name, m));
      if (seen.has(name)) causes.push(duplicate(`${path}.name`, name));
      seen.add(name);
    }
    const image = container["image"];
    if (typeof image !== "string" || image.trim() === "") causes.push(required(`${path}.image`));
    const policy = container["imagePullPolicy"];
    if (typeof policy === "string" && !pullPolicies.includes(policy)) {
      causes.push(notSupported(`${path}.imagePullPolicy`, policy, pullPolicies));
    }
    causes.push(...validatePorts(list(container["ports"]), `${path}.ports`));
  });
  return causes;
}

const restartPolicies = ["Always", "OnFailure", "Never"];
const dnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];

/** ValidatePodSpec, the parts that matter here. */
export function validatePodSpec(spec: unknown, field: string): StatusCause[] {
  if (!isObj(spec)) return [required(field)];
  const causes: StatusCause[] = [];
  const containers = list(spec["containers"]);
  const seen = new Set<string>();
  if (containers.length === 0) causes.push(required(`${field}.containers`));
  causes.push(...validateContainers(containers, `${field}.containers`, seen));
  causes.push(...validateContainers(list(spec["initContainers"]), `${field}.initContainers`, seen));
  const restartPolicy = spec["restartPolicy"];
  if (typeof restartPolicy === "string" && !restartPolicies.includes(restartPolicy)) {
    causes.push(notSupported(`${field}.restartPolicy`, restartPolicy, restartPolicies));
  }
  const dnsPolicy = spec["dnsPolicy"];
  if (typeof dnsPolicy === "string" && !dnsPolicies.includes(dnsPolicy)) {
    causes.push(notSupported(`${field}.dnsPolicy`, dnsPolicy, dnsPolicies));
  }
  causes.push(
    ...nonNegative(spec["terminationGracePeriodSeconds"], `${field}.terminationGracePeriodSeconds`),
  );
  return causes;
}

/** ValidatePodTemplateSpecForReplicaSet: labels match the selector, restartPolicy Always. */
function validateTemplateForSelector(
  template: unknown,
  selector: unknown,
  field: string,
): StatusCause[] {
  if (!isObj(template)) return [required(field)];
  const causes: StatusCause[] = [];
  const metadata = isObj(template["metadata"]) ? template["metadata"] : {};
  const labels = isObj(metadata["labels"]) ? (metadata["labels"] as Record<string, string>) : {};
  if (isObj(selector) && !labelSelectorMatches(selector, labels)) {
    causes.push(
      invalidValue(
        `${field}.metadata.labels`,
        labels,
        "`selector` does not match template `labels`",
        "map[string]string",
      ),
    );
  }
  causes.push(...validateLabels(metadata["labels"], `${field}.metadata.labels`));
  const spec = template["spec"];
  causes.push(...validatePodSpec(spec, `${field}.spec`));
  if (isObj(spec) && spec["restartPolicy"] !== "Always") {
    causes.push(
      notSupported(`${field}.spec.restartPolicy`, spec["restartPolicy"] ?? "", ["Always"]),
    );
  }
  if (isObj(spec) && spec["activeDeadlineSeconds"] !== undefined) {
    causes.push(
      forbidden(
        `${field}.spec.activeDeadlineSeconds`,
        "activeDeadlineSeconds in ReplicaSet is not Supported",
      ),
    );
  }
  return causes;
}

function validateSelector(spec: Obj, kind: string): StatusCause[] {
  const selector = spec["selector"];
  if (!isObj(selector)) return [required("spec.selector")];
  const causes = validateLabelSelector(selector, "spec.selector");
  const empty =
    Object.keys(isObj(selector["matchLabels"]) ? selector["matchLabels"] : {}).length === 0 &&
    list(selector["matchExpressions"]).length === 0;
  if (empty) {
    causes.push(invalidValue("spec.selector", selector, `empty selector is invalid for ${kind}`));
  }
  return causes;
}

/** A percent string or a non-negative integer (ValidatePositiveIntOrPercent, IsNotMoreThan100Percent). */
function intOrPercent(value: unknown, field: string): StatusCause[] {
  if (typeof value === "string") {
    if (!/^[0-9]+%$/.test(value)) {
      return [
        invalidValue(
          field,
          value,
          regexError(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%",
            "1%",
            "93%",
          ),
        ),
      ];
    }
    return Number(value.slice(0, -1)) > 100
      ? [invalidValue(field, value, "must not be greater than 100%")]
      : [];
  }
  return nonNegative(value, field);
}

function isZeroIntOrPercent(value: unknown): boolean {
  return value === 0 || value === "0%";
}

function validateStrategy(strategy: unknown): StatusCause[] {
  if (!isObj(strategy)) return [];
  const causes: StatusCause[] = [];
  const type = strategy["type"];
  const rolling = strategy["rollingUpdate"];
  if (type === "Recreate") {
    if (rolling !== undefined)
      causes.push(
        forbidden(
          "spec.strategy.rollingUpdate",
          "may not be specified when strategy `type` is 'Recreate'",
        ),
      );
  } else if (type === "RollingUpdate") {
    if (!isObj(rolling))
      causes.push(
        required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"),
      );
    else {
      const path = "spec.strategy.rollingUpdate";
      causes.push(...intOrPercent(rolling["maxUnavailable"], `${path}.maxUnavailable`));
      causes.push(...intOrPercent(rolling["maxSurge"], `${path}.maxSurge`));
      if (
        isZeroIntOrPercent(rolling["maxUnavailable"]) &&
        isZeroIntOrPercent(rolling["maxSurge"])
      ) {
        causes.push(
          invalidValue(
            `${path}.maxUnavailable`,
            rolling["maxUnavailable"],
            "may not be 0 when `maxSurge` is 0",
          ),
        );
      }
    }
  } else {
    causes.push(notSupported("spec.strategy.type", type ?? "", ["Recreate", "RollingUpdate"]));
  }
  return causes;
}

function validateReplicatedSpec(object: KubeObject, kind: string): StatusCause[] {
  const spec = isObj(object["spec"]) ? object["spec"] : {};
  const causes: StatusCause[] = [];
  causes.push(...nonNegative(spec["replicas"], "spec.replicas"));
  causes.push(...nonNegative(spec["minReadySeconds"], "spec.minReadySeconds"));
  causes.push(...validateSelector(spec, kind));
  causes.push(...validateTemplateForSelector(spec["template"], spec["selector"], "spec.template"));
  return causes;
}

function validateDeployment(object: KubeObject): StatusCause[] {
  const spec = isObj(object["spec"]) ? object["spec"] : {};
  const causes = validateReplicatedSpec(object, "deployment");
  causes.push(...validateStrategy(spec["strategy"]));
  causes.push(...nonNegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit"));
  const deadline = spec["progressDeadlineSeconds"];
  causes.push(...nonNegative(deadline, "spec.progressDeadlineSeconds"));
  const minReady = typeof spec["minReadySeconds"] === "number" ? spec["minReadySeconds"] : 0;
  if (typeof deadline === "number" && deadline >= 0 && deadline <= minReady) {
    causes.push(
      invalidValue(
        "spec.progressDeadlineSeconds",
        deadline,
        "must be greater than minReadySeconds",
      ),
    );
  }
  return causes;
}

const podManagementPolicies = ["OrderedReady", "Parallel"];
const retentionPolicies = ["Retain", "Delete"];

/** ValidateStatefulSetSpec's update strategy: OnDelete has no rollingUpdate; partition >= 0. */
function validateStatefulSetStrategy(strategy: unknown): StatusCause[] {
  const s = isObj(strategy) ? strategy : {};
  const rolling = s["rollingUpdate"];
  const path = "spec.updateStrategy";
  switch (s["type"]) {
    case undefined:
    case "":
      return [required(path)];
    case "OnDelete":
      return rolling === undefined || rolling === null
        ? []
        : [
            invalidValue(
              `${path}.rollingUpdate`,
              rolling,
              "only allowed for updateStrategy 'RollingUpdate'",
            ),
          ];
    case "RollingUpdate": {
      if (!isObj(rolling)) return [];
      const causes = nonNegative(rolling["partition"], `${path}.rollingUpdate.partition`);
      const max = rolling["maxUnavailable"];
      if (max !== undefined) {
        causes.push(...intOrPercent(max, `${path}.rollingUpdate.maxUnavailable`));
        if (isZeroIntOrPercent(max))
          causes.push(invalidValue(`${path}.rollingUpdate.maxUnavailable`, max, "cannot be 0"));
      }
      return causes;
    }
    default:
      return [invalidValue(path, s, "must be 'RollingUpdate' or 'OnDelete'")];
  }
}

/** ValidateStatefulSetSpec (pkg/apis/apps/validation), in its order. */
function validateStatefulSet(object: KubeObject, update: boolean): StatusCause[] {
  const spec = isObj(object["spec"]) ? object["spec"] : {};
  const causes: StatusCause[] = [];
  const policy = spec["podManagementPolicy"];
  if (policy === undefined || policy === "") causes.push(required("spec.podManagementPolicy"));
  else if (typeof policy !== "string" || !podManagementPolicies.includes(policy))
    causes.push(
      invalidValue("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"),
    );
  causes.push(...validateStatefulSetStrategy(spec["updateStrategy"]));
  const retention = spec["persistentVolumeClaimRetentionPolicy"];
  if (isObj(retention)) {
    for (const key of ["whenDeleted", "whenScaled"]) {
      const value = retention[key];
      if (typeof value !== "string" || !retentionPolicies.includes(value))
        causes.push(
          notSupported(
            `spec.persistentVolumeClaimRetentionPolicy.${key}`,
            value ?? "",
            retentionPolicies,
          ),
        );
    }
  }
  causes.push(...nonNegative(spec["replicas"], "spec.replicas"));
  causes.push(...nonNegative(spec["minReadySeconds"], "spec.minReadySeconds"));
  if (isObj(spec["ordinals"]))
    causes.push(...nonNegative(spec["ordinals"]["start"], "spec.ordinals.start"));
  const serviceName = spec["serviceName"];
  if (!update && typeof serviceName === "string" && serviceName !== "") {
    for (const m of isDNS1123Label(serviceName))
      causes.push(invalidValue("spec.serviceName", serviceName, m));
  }
  causes.push(...validateSelector(spec, "statefulset"));
  return [...causes, ...validateStatefulSetTemplate(spec)];
}

/**
 * What the apiserver checks of a StatefulSet's or DaemonSet's pod template beyond the Pod's own
 * validation: its labels, restartPolicy Always, and no activeDeadlineSeconds.
 */
function workloadTemplateCauses(
  podSpec: unknown,
  metadata: Record<string, unknown>,
  kind: "StatefulSet" | "DaemonSet",
): StatusCause[] {
  const causes: StatusCause[] = [
    ...validatePodSpec(podSpec, "spec.template.spec"),
    ...validateLabels(metadata["labels"], "spec.template.labels"),
  ];
  if (isObj(podSpec) && podSpec["restartPolicy"] !== "Always")
    causes.push(
      notSupported("spec.template.spec.restartPolicy", podSpec["restartPolicy"] ?? "", ["Always"]),
    );
  if (isObj(podSpec) && podSpec["activeDeadlineSeconds"] !== undefined)
    causes.push(
      forbidden(
        "spec.template.spec.activeDeadlineSeconds",
        `activeDeadlineSeconds in ${kind} is not Supported`,
      ),
    );
  return causes;
}

/** ValidatePodTemplateSpecForStatefulSet and the template checks that follow it. */
function validateStatefulSetTemplate(spec: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const template = spec["template"];
  if (!isObj(template)) return [required("spec.template")];
  const metadata = isObj(template["metadata"]) ? template["metadata"] : {};
  const labels = isObj(metadata["labels"]) ? (metadata["labels"] as Record<string, string>) : {};
  if (isObj(spec["selector"]) && !labelSelectorMatches(spec["selector"], labels)) {
    causes.push(
      invalidValue(
        "spec.template.metadata.labels",
        labels,
        "`selector` does not match template `labels`",
        "map[string]string",
      ),
    );
  }
  // The controller sets hostname and subdomain itself, so they are not validated here.
  const podSpec = isObj(template["spec"]) ? { ...template["spec"] } : template["spec"];
  if (isObj(podSpec)) {
    delete podSpec["hostname"];
    delete podSpec["subdomain"];
  }
  causes.push(...workloadTemplateCauses(podSpec, metadata, "StatefulSet"));
  return causes;
}

/** The spec fields an update of a StatefulSet may change (ValidateStatefulSetUpdate). */
const STATEFULSET_MUTABLE = [
  "replicas",
  "template",
  "updateStrategy",
  "minReadySeconds",
  "ordinals",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
];

function validateStatefulSetUpdate(object: KubeObject, old: KubeObject): StatusCause[] {
  const rest = (o: KubeObject): Obj =>
    Object.fromEntries(
      Object.entries(specOf(o)).filter(([field]) => !STATEFULSET_MUTABLE.includes(field)),
    );
  return JSON.stringify(canonicalValue(rest(object))) === JSON.stringify(canonicalValue(rest(old)))
    ? []
    : [
        forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      ];
}

/** A JSON value with its keys sorted, for comparisons that ignore key order. */
function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (!isObj(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map(k => [k, canonicalValue(value[k])]),
  );
}

/** validateControllerRevision and ValidateControllerRevisionCreate / Update. */
function validateControllerRevision(
  object: KubeObject,
  old: KubeObject | undefined,
): StatusCause[] {
  const causes = nonNegative(object["revision"], "revision");
  const data = object["data"];
  if (old === undefined) {
    if (data === undefined || data === null) causes.push(required("data", "data is mandatory"));
    else if (!isObj(data)) causes.push(required("data", "data must be a valid JSON object"));
  } else if (JSON.stringify(canonicalValue(data)) !== JSON.stringify(canonicalValue(old["data"]))) {
    causes.push(invalidValue("data", data, "field is immutable"));
  }
  return causes;
}

/** ValidateRollingUpdateDaemonSet: both int-or-percent, at most 100%, exactly one non-zero. */
function validateDaemonSetRolling(rolling: Obj, path: string): StatusCause[] {
  const maxUnavailable = rolling["maxUnavailable"];
  const maxSurge = rolling["maxSurge"];
  const causes = [
    ...intOrPercent(maxUnavailable ?? 0, `${path}.maxUnavailable`),
    ...intOrPercent(maxSurge ?? 0, `${path}.maxSurge`),
  ];
  const hasUnavailable = !isZeroIntOrPercent(maxUnavailable ?? 0);
  const hasSurge = !isZeroIntOrPercent(maxSurge ?? 0);
  if (hasUnavailable && hasSurge)
    causes.push(
      invalidValue(`${path}.maxSurge`, maxSurge, "may not be set when maxUnavailable is non-zero"),
    );
  else if (!hasUnavailable && !hasSurge)
    causes.push(required(`${path}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
  return causes;
}

/** ValidateDaemonSetSpec (pkg/apis/apps/validation), in its order. */
function validateDaemonSet(object: KubeObject): StatusCause[] {
  const spec = specOf(object);
  const causes = validateSelector(spec, "daemonset");
  const template = spec["template"];
  if (!isObj(template)) return [...causes, required("spec.template")];
  const metadata = isObj(template["metadata"]) ? template["metadata"] : {};
  const labels = isObj(metadata["labels"]) ? (metadata["labels"] as Record<string, string>) : {};
  if (isObj(spec["selector"]) && !labelSelectorMatches(spec["selector"], labels)) {
    causes.push(
      invalidValue(
        "spec.template.metadata.labels",
        labels,
        "`selector` does not match template `labels`",
        "map[string]string",
      ),
    );
  }
  const podSpec = template["spec"];
  causes.push(...workloadTemplateCauses(podSpec, metadata, "DaemonSet"));
  causes.push(...nonNegative(spec["minReadySeconds"], "spec.minReadySeconds"));
  const strategy = isObj(spec["updateStrategy"]) ? spec["updateStrategy"] : {};
  const path = "spec.updateStrategy";
  if (strategy["type"] === "RollingUpdate") {
    const rolling = strategy["rollingUpdate"];
    if (!isObj(rolling)) causes.push(required(`${path}.rollingUpdate`));
    else causes.push(...validateDaemonSetRolling(rolling, `${path}.rollingUpdate`));
  } else if (strategy["type"] !== "OnDelete") {
    causes.push(notSupported(path, strategy, ["RollingUpdate", "OnDelete"]));
  }
  causes.push(...nonNegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit"));
  return causes;
}

const configKey = /^[-._a-zA-Z0-9]+$/;

function validateConfigKeys(object: KubeObject, fields: string[]): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const field of fields) {
    const data = object[field];
    if (!isObj(data)) continue;
    for (const key of Object.keys(data)) {
      if (!configKey.test(key) || key.length > 253) {
        causes.push(
          invalidValue(
            `${field}[${key}]`,
            key,
            regexError(
              "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
              "[-._a-zA-Z0-9]+",
              "key.name",
              "KEY_NAME",
              "key-name",
            ),
          ),
        );
      }
    }
  }
  return causes;
}

function immutable(field: string, now: unknown, before: unknown): StatusCause[] {
  return JSON.stringify(now) === JSON.stringify(before)
    ? []
    : [invalidValue(field, now, "field is immutable")];
}

function specOf(object: KubeObject | undefined): Obj {
  return object !== undefined && isObj(object["spec"]) ? object["spec"] : {};
}

/** Per-kind checks beyond ObjectMeta; undefined kinds are accepted as they are. */
function validateKind(
  group: string,
  object: KubeObject,
  old: KubeObject | undefined,
): StatusCause[] {
  switch (`${group}/${object.kind}`) {
    case "apps/StatefulSet":
      return validateStatefulSet(object, old !== undefined);
    case "apps/ControllerRevision":
      return validateControllerRevision(object, old);
    case "apps/DaemonSet":
      return validateDaemonSet(object);
    case "apps/Deployment":
      return validateDeployment(object);
    case "apps/ReplicaSet":
      return validateReplicatedSpec(object, "replicaset");
    case "/Pod":
      return validatePodSpec(object["spec"], "spec");
    case "/ConfigMap":
      return validateConfigKeys(object, ["data", "binaryData"]);
    case "/Secret":
      return validateConfigKeys(object, ["data", "stringData"]);
    default:
      return [];
  }
}

/**
 * ValidateDeploymentUpdate / ValidateReplicaSetUpdate: the selector is immutable in apps/v1;
 * ValidateStatefulSetUpdate: only some spec fields may change.
 */
function validateUpdate(group: string, object: KubeObject, old: KubeObject): StatusCause[] {
  const kind = `${group}/${object.kind}`;
  if (kind === "apps/StatefulSet") return validateStatefulSetUpdate(object, old);
  if (kind === "apps/Deployment" || kind === "apps/ReplicaSet" || kind === "apps/DaemonSet") {
    return immutable("spec.selector", specOf(object)["selector"], specOf(old)["selector"]);
  }
  return [];
}

export function validateBuiltin(
  group: string,
  namespaced: boolean,
  object: KubeObject,
  oldObject?: KubeObject,
): StatusCause[] {
  const causes = validateObjectMeta(object.metadata, namespaced, nameRuleFor(group, object.kind));
  causes.push(...validateKind(group, object, oldObject));
  if (oldObject !== undefined) causes.push(...validateUpdate(group, object, oldObject));
  return causes;
}
