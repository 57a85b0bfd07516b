/**
 * Label and field selectors as the apiserver parses them (k8s.io/apimachinery/pkg/labels/selector.go,
 * k8s.io/apimachinery/pkg/fields/selector.go) and the extra field labels each built-in resource
 * supports (its registry's GetAttrs / AddFieldLabelConversionFunc).
 */
import { badRequest } from "./errors.ts";
import type { KubeObject } from "./types.ts";

export type ObjectMatcher = (object: KubeObject) => boolean;

type LabelOp = "=" | "!=" | "in" | "notin" | "exists" | "!";

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

const matchAll: ObjectMatcher = () => true;

/** Parses a label selector string (`a=b,c!=d,e in (f,g),h,!i`); 400 on a syntax error. */
export function parseLabelSelector(selector: string | undefined): ObjectMatcher {
  if (selector === undefined || selector.trim() === "") return matchAll;
  const requirements = splitTopLevel(selector).map(parseRequirement);
  return object => {
    const labels = object.metadata.labels ?? {};
    return requirements.every(r => labelMatches(r, labels));
  };
}

function labelMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case "=":
      return has && value === r.values[0];
    case "!=":
      return !has || value !== r.values[0];
    case "in":
      return has && r.values.includes(value ?? "");
    case "notin":
      return !has || !r.values.includes(value ?? "");
    case "exists":
      return has;
    case "!":
      return !has;
  }
}

/** Splits on commas outside parentheses. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map(p => p.trim());
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key)) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
  }
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw badRequest(
      `unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
  }
  return value;
}

function parseRequirement(text: string): LabelRequirement {
  if (text === "") throw badRequest("found '', expected: identifier");
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set) {
    const values = (set[3] ?? "")
      .split(",")
      .map(v => v.trim())
      .map(checkValue);
    return { key: checkKey(set[1] ?? ""), op: set[2] === "in" ? "in" : "notin", values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (cmp) {
    const op = cmp[2] === "!=" ? "!=" : "=";
    return { key: checkKey(cmp[1] ?? ""), op, values: [checkValue(cmp[3] ?? "")] };
  }
  if (text.startsWith("!")) return { key: checkKey(text.slice(1).trim()), op: "!", values: [] };
  if (/^\S+$/.test(text)) return { key: checkKey(text), op: "exists", values: [] };
  throw badRequest(`unable to parse requirement: found '${text}', expected: in, notin, =, ==, !=`);
}

/** Reads one field label's value from an object, or undefined when unset. */
type FieldGetter = (object: KubeObject) => string | undefined;

function path(...keys: string[]): FieldGetter {
  return object => {
    let current: unknown = object;
    for (const key of keys) {
      if (current === null || typeof current !== "object") return undefined;
      current = (current as Record<string, unknown>)[key];
    }
    if (current === undefined || current === null) return undefined;
    return typeof current === "string" ? current : JSON.stringify(current);
  };
}

/**
 * Field labels beyond metadata.name/metadata.namespace, per group/resource. Sources:
 * pkg/registry/core/pod/strategy.go (PodToSelectableFields), pkg/registry/core/event/strategy.go
 * (ToSelectableFields), pkg/registry/core/secret/strategy.go (SelectableFields),
 * pkg/registry/core/namespace/strategy.go, pkg/registry/core/node/strategy.go,
 * pkg/registry/apps/replicaset/strategy.go.
 */
const EXTRA_FIELDS: Record<string, Record<string, FieldGetter>> = {
  pods: {
    "spec.nodeName": object => path("spec", "nodeName")(object) ?? "",
    "spec.restartPolicy": object => path("spec", "restartPolicy")(object) ?? "",
    "spec.schedulerName": object => path("spec", "schedulerName")(object) ?? "",
    "spec.serviceAccountName": object => path("spec", "serviceAccountName")(object) ?? "",
    "spec.hostNetwork": object => path("spec", "hostNetwork")(object) ?? "false",
    "status.phase": object => path("status", "phase")(object) ?? "",
    "status.podIP": object => path("status", "podIP")(object) ?? "",
    "status.nominatedNodeName": object => path("status", "nominatedNodeName")(object) ?? "",
  },
  events: {
    "involvedObject.kind": path("involvedObject", "kind"),
    "involvedObject.namespace": path("involvedObject", "namespace"),
    "involvedObject.name": path("involvedObject", "name"),
    "involvedObject.uid": path("involvedObject", "uid"),
    "involvedObject.apiVersion": path("involvedObject", "apiVersion"),
    "involvedObject.resourceVersion": path("involvedObject", "resourceVersion"),
    "involvedObject.fieldPath": path("involvedObject", "fieldPath"),
    reason: path("reason"),
    reportingComponent: path("reportingComponent"),
    source: path("source", "component"),
    type: path("type"),
  },
  "events.k8s.io/events": {
    "regarding.kind": path("regarding", "kind"),
    "regarding.namespace": path("regarding", "namespace"),
    "regarding.name": path("regarding", "name"),
    reason: path("reason"),
    type: path("type"),
  },
  secrets: { type: path("type") },
  namespaces: { "status.phase": path("status", "phase") },
  nodes: { "spec.unschedulable": object => path("spec", "unschedulable")(object) ?? "false" },
  "apps/replicasets": { "status.replicas": object => path("status", "replicas")(object) ?? "0" },
};

function fieldGetters(group: string, resource: string): Record<string, FieldGetter> {
  const key = group === "" ? resource : `${group}/${resource}`;
  return {
    "metadata.name": object => object.metadata.name ?? "",
    "metadata.namespace": object => object.metadata.namespace ?? "",
    ...EXTRA_FIELDS[key],
  };
}

/**
 * Parses a field selector (`a=b,c!=d`, `==` allowed) for a resource; 400 for a field label the
 * resource does not support, worded as the apiserver does ("field label not supported: x").
 */
export function parseFieldSelector(
  selector: string | undefined,
  group: string,
  resource: string,
  extra?: Record<string, FieldGetter>,
): ObjectMatcher {
  if (selector === undefined || selector.trim() === "") return matchAll;
  const getters = { ...fieldGetters(group, resource), ...extra };
  const terms = selector.split(",").map(term => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1] ?? "";
    const getter = getters[field];
    if (!getter) throw badRequest(`field label not supported: ${field}`);
    return { getter, negate: m[2] === "!=", value: m[3] ?? "" };
  });
  return object =>
    terms.every(t => {
      const actual = t.getter(object) ?? "";
      return t.negate ? actual !== t.value : actual === t.value;
    });
}

/** Both selectors of a list or watch request. */
export function objectMatcher(
  group: string,
  resource: string,
  labelSelector?: string,
  fieldSelector?: string,
  extra?: Record<string, FieldGetter>,
): ObjectMatcher {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector, group, resource, extra);
  return object => labels(object) && fields(object);
}

/** A getter for a CRD's selectableFields entry (`.spec.color`). */
export function jsonPathFieldGetter(jsonPath: string): FieldGetter {
  return path(...jsonPath.replace(/^\./, "").split("."));
}

/**
 * A metav1.LabelSelector rendered as metav1.LabelSelectorAsSelector(...).String() does:
 * requirements sorted by key, set values sorted (`app=web,tier in (be,fe)`).
 */
export function labelSelectorString(selector: unknown): string {
  if (selector === null || typeof selector !== "object") return "";
  const s = selector as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const parts: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(s.matchLabels ?? {}))
    parts.push({ key, text: `${key}=${value}` });
  for (const e of s.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    const text: Record<string, string> = {
      In: `${e.key} in (${values})`,
      NotIn: `${e.key} notin (${values})`,
      Exists: e.key,
      DoesNotExist: `!${e.key}`,
    };
    parts.push({ key: e.key, text: text[e.operator] ?? e.key });
  }
  return parts
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(p => p.text)
    .join(",");
}
