/**
 * metav1.LabelSelector checks and matching: k8s.io/apimachinery/pkg/apis/meta/v1/validation
 * (ValidateLabelSelector, ValidateLabelSelectorRequirement) and pkg/apis/meta/v1/helpers.go
 * (LabelSelectorAsSelector).
 */
import type { StatusCause } from "../errors.ts";
import { isObj, type Obj } from "./defaults.ts";
import { forbidden, invalidValue, required } from "./field.ts";
import { isQualifiedName, validateLabels } from "./names.ts";

function requirements(selector: Obj): Obj[] {
  const expressions = selector["matchExpressions"];
  return Array.isArray(expressions) ? expressions.filter(isObj) : [];
}

export function validateLabelSelector(selector: Obj, field: string): StatusCause[] {
  const causes = validateLabels(selector["matchLabels"], `${field}.matchLabels`);
  requirements(selector).forEach((requirement, i) => {
    const path = `${field}.matchExpressions[${i}]`;
    const operator = requirement["operator"];
    const values = Array.isArray(requirement["values"]) ? requirement["values"] : [];
    if (operator === "In" || operator === "NotIn") {
      if (values.length === 0) {
        causes.push(
          required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
    } else if (operator === "Exists" || operator === "DoesNotExist") {
      if (values.length > 0) {
        causes.push(
          forbidden(
            `${path}.values`,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
    } else {
      causes.push(
        invalidValue(`${path}.operator`, operator ?? "", "not a valid selector operator"),
      );
    }
    const key = typeof requirement["key"] === "string" ? requirement["key"] : "";
    for (const m of isQualifiedName(key)) causes.push(invalidValue(`${path}.key`, key, m));
  });
  return causes;
}

/** Whether a label set matches a selector (matchLabels and matchExpressions, ANDed). */
export function labelSelectorMatches(selector: Obj, labels: Record<string, string>): boolean {
  const matchLabels = isObj(selector["matchLabels"]) ? selector["matchLabels"] : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return requirements(selector).every(requirement => {
    const key = String(requirement["key"]);
    const values = Array.isArray(requirement["values"]) ? requirement["values"].map(String) : [];
    const has = Object.hasOwn(labels, key);
    switch (requirement["operator"]) {
      case "In":
        return has && values.includes(labels[key] ?? "");
      case "NotIn":
        return !has || !values.includes(labels[key] ?? "");
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}
