/**
 * Admission: the apiserver's defaulting and validation for every write the simulator's store
 * makes. Built-in kinds get their registered defaults and validation (defaults.ts, validate.ts);
 * custom resources are pruned, defaulted and validated against their CRD's structural schema,
 * then checked with CEL rules (structural.ts, cel.ts); CRDs themselves are validated (crd.ts).
 * Throws ApiError 422 (errors.ts `invalid`) with one cause per field error.
 */
import { badRequest, invalid, type StatusCause } from "../errors.ts";
import type { AdmissionContext, GVR, KubeObject, ResourceInfo } from "../types.ts";
import { validateCel } from "./cel.ts";
import { defaultCrd, validateCrd, versionSchema } from "./crd.ts";
import { applyBuiltinDefaults } from "./defaults.ts";
import { validateObjectMeta } from "./names.ts";
import { required } from "./field.ts";
import { isPlainObject, type Schema } from "./schema.ts";
import { applyDefaults, hasBlockingError, prune, validateValue } from "./structural.ts";
import { validateBuiltin } from "./validate.ts";
import { canonicalTimes, dropOmittedZeros, microTimeError } from "./wire.ts";

export { crdResourceInfos, validateCrd } from "./crd.ts";

export type { AdmissionContext };

const blockingNotice: StatusCause = {
  reason: "FieldValueInvalid",
  field: "<nil>",
  message:
    "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
};

/** The part of a custom resource a request may change: all but status on the main resource, only status on /status. */
function validatedPart(
  object: KubeObject,
  info: ResourceInfo,
  subresource: string | undefined,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...object };
  if (subresource === "status") {
    return { status: body["status"] };
  }
  if (info.subresources.includes("status")) delete body["status"];
  delete body["metadata"];
  return body;
}

/** The schema of the validated part: on /status only the status property's schema counts. */
function partSchema(schema: Schema, subresource: string | undefined): Schema {
  if (subresource !== "status")
    return { ...schema, required: schema.required?.filter(r => r !== "metadata") ?? [] };
  const status = schema.properties?.["status"];
  return { type: "object", properties: status === undefined ? {} : { status } };
}

/** Prunes and defaults a custom resource, then validates it; returns the admitted object and the failures. */
function admitCustomResource(
  ctx: AdmissionContext,
  input: KubeObject,
): { object: KubeObject; causes: StatusCause[] } {
  const crd = ctx.info.crd as KubeObject;
  const schema = versionSchema(crd, ctx.gvr.version) ?? {
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  };
  const object = applyDefaults(prune(input, schema, true), schema) as KubeObject;
  const causes =
    ctx.subresource === "status"
      ? []
      : validateObjectMeta(object.metadata, ctx.info.namespaced, "subdomain");
  const part = validatedPart(object, ctx.info, ctx.subresource);
  const rootSchema = partSchema(schema, ctx.subresource);
  const schemaCauses: StatusCause[] = [];
  for (const [key, value] of Object.entries(part)) {
    const childSchema = rootSchema.properties?.[key];
    if (childSchema !== undefined && value !== undefined) {
      schemaCauses.push(...validateValue(key, childSchema, value));
    }
  }
  for (const name of rootSchema.required ?? []) {
    if (part[name] === undefined) schemaCauses.push(required(name));
  }
  causes.push(...schemaCauses);
  // strategy.go hasBlockingErr looks at every error so far, metadata's included.
  if (hasBlockingError(causes)) return { object, causes: [...causes, blockingNotice] };
  const old =
    ctx.oldObject === undefined
      ? undefined
      : { value: validatedPart(ctx.oldObject, ctx.info, ctx.subresource) };
  const rootRules = ctx.subresource === "status" ? [] : (schema["x-kubernetes-validations"] ?? []);
  causes.push(
    ...validateCel("", { ...rootSchema, "x-kubernetes-validations": rootRules }, part, old),
  );
  return { object, causes };
}

function isCrdResource(gvr: GVR): boolean {
  return gvr.group === "apiextensions.k8s.io" && gvr.resource === "customresourcedefinitions";
}

/**
 * Defaults and validates one write. Returns the admitted object (a copy: defaulted, pruned);
 * throws ApiError 422 when the object is invalid.
 */
export function admit(ctx: AdmissionContext): KubeObject {
  let object = structuredClone(ctx.object);
  if (!isPlainObject(object.metadata)) object.metadata = {};
  let causes: StatusCause[];
  if (ctx.info.crd !== undefined) {
    ({ object, causes } = admitCustomResource(ctx, object));
  } else if (isCrdResource(ctx.gvr)) {
    defaultCrd(object);
    causes = ctx.subresource === "status" ? [] : validateCrd(object);
  } else if (ctx.subresource !== undefined) {
    dropOmittedZeros(ctx.gvr, object);
    canonicalTimes(object);
    causes = [];
  } else {
    const undecodable = microTimeError(ctx.gvr, object);
    if (undecodable !== undefined) throw badRequest(undecodable);
    dropOmittedZeros(ctx.gvr, object);
    canonicalTimes(object);
    applyBuiltinDefaults(ctx.gvr.group, object, ctx.operation, ctx.oldObject);
    causes = validateBuiltin(ctx.gvr.group, ctx.info.namespaced, object, ctx.oldObject);
  }
  if (causes.length > 0) {
    throw invalid(
      ctx.gvr.group,
      ctx.info.kind,
      object.metadata.name ?? object.metadata.generateName ?? "",
      causes,
    );
  }
  return object;
}
