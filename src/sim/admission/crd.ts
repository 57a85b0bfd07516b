/**
 * CustomResourceDefinitions: what a CRD serves (one ResourceInfo per served version) and the
 * checks the apiserver makes on the CRD object itself. Sources: staging/src/k8s.io/
 * apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
 * (ValidateCustomResourceDefinition, ValidateCustomResourceDefinitionSpec,
 * ValidateCustomResourceDefinitionVersion), pkg/apiserver/schema/validation.go
 * (ValidateStructural: "must not be empty for specified object fields", properties vs
 * additionalProperties), apis/apiextensions/v1/defaults.go (SetDefaults_CustomResourceDefinitionSpec).
 */
import type { StatusCause } from "../errors.ts";
import type { KubeObject, ResourceInfo } from "../types.ts";
import { celCompileErrors, defaultCelErrors } from "./cel.ts";
import { isObj, type Obj } from "./defaults.ts";
import { forbidden, invalidValue, notSupported, required } from "./field.ts";
import { isDNS1035Label, isDNS1123Subdomain } from "./names.ts";
import type { Schema } from "./schema.ts";

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: unknown[];
}

interface CrdSpec {
  group: string;
  scope: "Namespaced" | "Cluster";
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CrdVersion[];
}

export function crdSpec(crd: KubeObject): CrdSpec {
  const spec = isObj(crd["spec"]) ? crd["spec"] : {};
  const names = isObj(spec["names"]) ? spec["names"] : {};
  return {
    group: typeof spec["group"] === "string" ? spec["group"] : "",
    scope: spec["scope"] === "Cluster" ? "Cluster" : "Namespaced",
    names: names as unknown as CrdSpec["names"],
    versions: Array.isArray(spec["versions"])
      ? (spec["versions"].filter(isObj) as unknown as CrdVersion[])
      : [],
  };
}

/** The openAPIV3Schema of one version, if the CRD has it. */
export function versionSchema(crd: KubeObject, version: string): Schema | undefined {
  return crdSpec(crd).versions.find(v => v.name === version)?.schema?.openAPIV3Schema;
}

const crVerbs = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

/** One ResourceInfo per served version, as discovery shows the CRD's resources. */
export function crdResourceInfos(crd: KubeObject): ResourceInfo[] {
  const spec = crdSpec(crd);
  const { names } = spec;
  return spec.versions
    .filter(v => v.served)
    .map(v => {
      const subresources: string[] = [];
      if (v.subresources?.status !== undefined) subresources.push("status");
      if (v.subresources?.scale !== undefined) subresources.push("scale");
      const info: ResourceInfo = {
        group: spec.group,
        version: v.name,
        resource: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        namespaced: spec.scope === "Namespaced",
        verbs: crVerbs,
        subresources,
        crd,
      };
      if (names.shortNames !== undefined) info.shortNames = names.shortNames;
      if (names.categories !== undefined) info.categories = names.categories;
      if (v.subresources?.scale !== undefined)
        info.scale = { group: "autoscaling", version: "v1", kind: "Scale" };
      return info;
    });
}

/** SetDefaults_CustomResourceDefinitionSpec. */
export function defaultCrd(crd: KubeObject): void {
  const spec = isObj(crd["spec"]) ? crd["spec"] : undefined;
  if (spec === undefined) return;
  const names = isObj(spec["names"]) ? spec["names"] : undefined;
  if (names !== undefined && typeof names["kind"] === "string") {
    names["singular"] ??= names["kind"].toLowerCase();
    names["listKind"] ??= `${names["kind"]}List`;
  }
  spec["conversion"] ??= { strategy: "None" };
}

const typeNames = ["array", "boolean", "integer", "number", "object", "string"];

/** ValidateStructural: every specified node has a type; properties and additionalProperties exclude each other. */
function structuralErrors(schema: Schema, path: string, isRoot: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const untyped =
    schema["x-kubernetes-int-or-string"] === true ||
    schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (schema.type === undefined) {
    if (!untyped)
      causes.push(required(`${path}.type`, "must not be empty for specified object fields"));
  } else if (!typeNames.includes(schema.type)) {
    causes.push(notSupported(`${path}.type`, schema.type, typeNames));
  }
  if (isRoot && schema.type !== undefined && schema.type !== "object") {
    causes.push(invalidValue(`${path}.type`, schema.type, "must be object at the root"));
  }
  if (schema.properties !== undefined && schema.additionalProperties !== undefined) {
    causes.push(
      forbidden(
        `${path}.additionalProperties`,
        "additionalProperties and properties are mutual exclusive",
      ),
    );
  }
  if ((schema as Obj)["$ref"] !== undefined)
    causes.push(forbidden(`${path}.$ref`, "$ref is not supported"));
  if (schema.type === "array" && schema.items === undefined) {
    causes.push(required(`${path}.items`, "must be specified"));
  }
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (isRoot && key === "metadata") continue;
    causes.push(...structuralErrors(child, `${path}.properties[${key}]`, false));
  }
  if (schema.items !== undefined)
    causes.push(...structuralErrors(schema.items, `${path}.items`, false));
  if (typeof schema.additionalProperties === "object") {
    causes.push(
      ...structuralErrors(schema.additionalProperties, `${path}.additionalProperties`, false),
    );
  }
  return causes;
}

function validateVersions(versions: CrdVersion[]): StatusCause[] {
  const causes: StatusCause[] = [];
  if (versions.length === 0)
    return [required("spec.versions", "must have exactly one version marked as storage version")];
  if (versions.filter(v => v.storage).length !== 1) {
    causes.push(
      invalidValue(
        "spec.versions",
        versions,
        "must have exactly one version marked as storage version",
      ),
    );
  }
  const seen = new Set<string>();
  versions.forEach((version, i) => {
    const path = `spec.versions[${i}]`;
    if (seen.has(version.name))
      causes.push(invalidValue(`${path}.name`, version.name, "must appear only once"));
    seen.add(version.name);
    for (const m of isDNS1035Label(version.name))
      causes.push(invalidValue(`${path}.name`, version.name, m));
    const schema = version.schema?.openAPIV3Schema;
    const schemaPath = `${path}.schema.openAPIV3Schema`;
    if (schema === undefined) causes.push(required(schemaPath, "schemas are required"));
    else {
      causes.push(...structuralErrors(schema, schemaPath, true));
      const compileErrors = celCompileErrors(schema, schemaPath);
      causes.push(...compileErrors);
      if (compileErrors.length === 0) causes.push(...defaultCelErrors(schema, schemaPath));
    }
  });
  return causes;
}

/** ValidateCustomResourceDefinition, the checks that matter for a simulator. */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const spec = crdSpec(crd);
  const causes: StatusCause[] = [];
  const name = crd.metadata.name ?? "";
  const { plural, kind } = spec.names;
  if (name !== `${plural}.${spec.group}`) {
    causes.push(invalidValue("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.group === "") causes.push(required("spec.group"));
  else if (!spec.group.includes("."))
    causes.push(invalidValue("spec.group", spec.group, "should be a domain with at least one dot"));
  else
    for (const m of isDNS1123Subdomain(spec.group))
      causes.push(invalidValue("spec.group", spec.group, m));
  const scope = (isObj(crd["spec"]) ? crd["spec"]["scope"] : undefined) ?? "";
  if (scope !== "Namespaced" && scope !== "Cluster")
    causes.push(notSupported("spec.scope", scope, ["Cluster", "Namespaced"]));
  if (!plural) causes.push(required("spec.names.plural"));
  if (!kind) causes.push(required("spec.names.kind"));
  causes.push(...validateVersions(spec.versions));
  return causes;
}
