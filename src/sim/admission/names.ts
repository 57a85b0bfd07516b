/**
 * Name, label and annotation checks as k8s.io/apimachinery words them:
 * pkg/util/validation/validation.go (IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label,
 * IsQualifiedName, IsValidLabelValue), pkg/apis/meta/v1/validation (ValidateLabels) and
 * pkg/api/validation/objectmeta.go (ValidateAnnotations, ValidateObjectMetaAccessor).
 */
import type { StatusCause } from "../errors.ts";
import type { ObjectMeta } from "../types.ts";
import { invalidValue, maxLenError, regexError, required, tooLong } from "./field.ts";

const dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
const labelKeyFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const labelValueFmt = `(${labelKeyFmt})?`;

const anchored = (format: string) => new RegExp(`^${format}$`);
const dns1123Label = anchored(dns1123LabelFmt);
const dns1123Subdomain = anchored(dns1123SubdomainFmt);
const dns1035Label = anchored(dns1035LabelFmt);
const labelKey = anchored(labelKeyFmt);
const labelValue = anchored(labelValueFmt);

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!dns1123Label.test(value)) {
    // A valid subdomain that is not a label can only be failing on its dots (validation.go).
    if (dns1123Subdomain.test(value)) errs.push("must not contain dots");
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          dns1123LabelFmt,
          "my-name",
          "123-abc",
        ),
      );
  }
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!dns1123Subdomain.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        dns1123SubdomainFmt,
        "example.com",
      ),
    );
  }
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!dns1035Label.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        dns1035LabelFmt,
        "my-name",
        "abc-123",
      ),
    );
  }
  return errs;
}

const labelKeyErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of at most 63. */
export function isQualifiedName(value: string): string[] {
  const parts = value.split("/");
  const errs: string[] = [];
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? "";
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix === "") errs.push("prefix part must be non-empty");
    else errs.push(...isDNS1123Subdomain(prefix).map(m => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(labelKeyErrMsg, labelKeyFmt, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name === "") errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!labelKey.test(name)) {
    errs.push(
      `name part ${regexError(labelKeyErrMsg, labelKeyFmt, "MyName", "my.name", "123-abc")}`,
    );
  }
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!labelValue.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        labelValueFmt,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  }
  return errs;
}

export function validateLabels(labels: unknown, field: string): StatusCause[] {
  if (typeof labels !== "object" || labels === null) return [];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of isQualifiedName(key)) causes.push(invalidValue(field, key, m));
    const text = typeof value === "string" ? value : "";
    for (const m of isValidLabelValue(text)) causes.push(invalidValue(field, text, m));
  }
  return causes;
}

const totalAnnotationSizeLimit = 256 * 1024;

export function validateAnnotations(annotations: unknown, field: string): StatusCause[] {
  if (typeof annotations !== "object" || annotations === null) return [];
  const causes: StatusCause[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isQualifiedName(key.toLowerCase())) causes.push(invalidValue(field, key, m));
    size += key.length + (typeof value === "string" ? Buffer.byteLength(value) : 0);
  }
  if (size > totalAnnotationSizeLimit) causes.push(tooLong(field, totalAnnotationSizeLimit));
  return causes;
}

/**
 * IsValidPathSegmentName (k8s.io/apimachinery/pkg/api/validation/path/name.go): what RBAC names
 * must be (pkg/apis/rbac/validation ValidateRBACName), so "system:discovery" is valid.
 */
export function isValidPathSegmentName(value: string): string[] {
  if (value === "." || value === "..") return [`may not be '${value}'`];
  const errs: string[] = [];
  for (const illegal of ["/", "%"])
    if (value.includes(illegal)) errs.push(`may not contain '${illegal}'`);
  return errs;
}

export type NameRule = "subdomain" | "label" | "dns1035" | "path";

const nameCheck: Record<NameRule, (value: string) => string[]> = {
  subdomain: isDNS1123Subdomain,
  label: isDNS1123Label,
  dns1035: isDNS1035Label,
  path: isValidPathSegmentName,
};

/** ValidateObjectMetaAccessor: name (or generateName), namespace, labels, annotations. */
export function validateObjectMeta(
  meta: ObjectMeta,
  namespaced: boolean,
  rule: NameRule,
  field = "metadata",
): StatusCause[] {
  const causes: StatusCause[] = [];
  const check = nameCheck[rule];
  const name = meta.name ?? "";
  if (name === "" && (meta.generateName ?? "") === "") {
    causes.push(required(`${field}.name`, "name or generateName is required"));
  } else if (name !== "") {
    for (const m of check(name)) causes.push(invalidValue(`${field}.name`, name, m));
  }
  if (namespaced) {
    const namespace = meta.namespace ?? "";
    if (namespace === "") causes.push(required(`${field}.namespace`));
    else
      for (const m of isDNS1123Label(namespace))
        causes.push(invalidValue(`${field}.namespace`, namespace, m));
  } else if ((meta.namespace ?? "") !== "") {
    causes.push({
      reason: "FieldValueForbidden",
      field: `${field}.namespace`,
      message: "Forbidden: not allowed on this type",
    });
  }
  causes.push(...validateLabels(meta.labels, `${field}.labels`));
  causes.push(...validateAnnotations(meta.annotations, `${field}.annotations`));
  return causes;
}
