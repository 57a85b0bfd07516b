/**
 * The RollbackDrill schema, checked the way the apiserver checks it: every sample and every
 * malformed drill goes through the simulator's CRD admission (structural schema, defaults,
 * pruning, CEL rules) using the CRD file in crds/ itself, so what is tested is what users install.
 */
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { buildCrd } from "../../src/api/crd.ts";
import { CRD_NAME } from "../../src/api/vocabulary.ts";
import { admit, crdResourceInfos } from "../../src/sim/admission/index.ts";
import { ApiError } from "../../src/sim/errors.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import { aDrill } from "../core/builders.ts";

const crdFile = `crds/${CRD_NAME}.yaml`;
const crd = parse(readFileSync(crdFile, "utf8")) as KubeObject;
const info = crdResourceInfos(crd)[0];
if (info === undefined) throw new Error(`${crdFile} serves no version`);
const gvr = { group: info.group, version: info.version, resource: info.resource };

function drill(spec: unknown, name = "web"): KubeObject {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { name, namespace: "shop" },
    spec,
  };
}

function admitDrill(object: KubeObject): KubeObject {
  return admit({ gvr, info: info!, operation: "CREATE", object });
}

function rejection(object: KubeObject): ApiError {
  try {
    admitDrill(object);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("the drill was accepted");
}

const target = { kind: "Deployment", name: "web" };

describe("the CRD file", () => {
  it("is what src/api/schema.ts generates (no drift)", () => {
    expect(crd).toEqual(buildCrd());
  });

  it("serves rollbackdrill.io/v1alpha1 RollbackDrill, namespaced, short name drill, with status", () => {
    expect(info).toMatchObject({
      group: "rollbackdrill.io",
      version: "v1alpha1",
      resource: "rollbackdrills",
      kind: "RollbackDrill",
      namespaced: true,
    });
    expect(info.shortNames).toContain("drill");
    expect(info.subresources).toContain("status");
  });
});

describe("valid drills", () => {
  const sampleDir = "config/samples";
  const samples = readdirSync(sampleDir).filter(
    f => f.endsWith(".yaml") && f !== "kustomization.yaml",
  );

  it.each(samples)("accepts the sample %s", file => {
    for (const doc of parseAllDocuments(readFileSync(`${sampleDir}/${file}`, "utf8"))) {
      const object = doc.toJS() as KubeObject;
      expect(() => admitDrill(object)).not.toThrow();
    }
  });

  it("fills in every default, so the operator reads a complete spec", () => {
    const admitted = admitDrill(drill({ targetRef: target }));
    // The test builders claim the CRD's defaults; this holds them to it.
    expect(admitted["spec"]).toEqual(aDrill().spec);
  });

  it("prunes fields the schema does not know, as the apiserver does", () => {
    const admitted = admitDrill(
      drill({ targetRef: { ...target, namespace: "prod" }, color: "blue" }),
    );
    const spec = admitted["spec"] as Record<string, unknown>;
    expect(spec).not.toHaveProperty("color");
    expect(spec["targetRef"]).not.toHaveProperty("namespace");
  });
});

/** [what is wrong, the spec, the field the message must name, a phrase the message must contain] */
const malformed: [string, unknown, string, string][] = [
  ["no spec at all", undefined, "spec", "Required value"],
  ["missing target", {}, "spec.targetRef", "Required value"],
  [
    "target without a name",
    { targetRef: { kind: "Deployment" } },
    "spec.targetRef.name",
    "Required value",
  ],
  [
    "unknown target kind",
    { targetRef: { kind: "CronJob", name: "db" } },
    "spec.targetRef.kind",
    'Unsupported value: "CronJob"',
  ],
  [
    "target kind of the wrong type",
    { targetRef: { kind: 7, name: "web" } },
    "spec.targetRef.kind",
    "must be of type string",
  ],
  [
    "target name not a DNS subdomain",
    { targetRef: { kind: "Deployment", name: "Web_App" } },
    "spec.targetRef.name",
    "should match",
  ],
  [
    "empty target name",
    { targetRef: { kind: "Deployment", name: "" } },
    "spec.targetRef.name",
    "should be at least 1 chars long",
  ],
  [
    "unsupported apiVersion",
    { targetRef: { ...target, apiVersion: "apps/v1beta1" } },
    "spec.targetRef.apiVersion",
    "Unsupported value",
  ],
  [
    "negative toRevision",
    { targetRef: target, toRevision: -1 },
    "spec.toRevision",
    "greater than or equal to 0",
  ],
  [
    "toRevision as a string",
    { targetRef: target, toRevision: "2" },
    "spec.toRevision",
    "must be of type integer",
  ],
  [
    "fractional toRevision",
    { targetRef: target, toRevision: 1.5 },
    "spec.toRevision",
    "must be of type integer",
  ],
  [
    "cron with three fields",
    { targetRef: target, schedule: "* * *" },
    "spec.schedule",
    "should match",
  ],
  [
    "cron that is prose",
    { targetRef: target, schedule: "every day" },
    "spec.schedule",
    "should match",
  ],
  [
    "time zone without schedule",
    { targetRef: target, timeZone: "Europe/Berlin" },
    "spec.timeZone",
    "timeZone requires schedule",
  ],
  [
    "time zone with spaces",
    { targetRef: target, schedule: "@daily", timeZone: "Europe/New York" },
    "spec.timeZone",
    "should match",
  ],
  [
    "suspend as a string",
    { targetRef: target, suspend: "yes" },
    "spec.suspend",
    "must be of type boolean",
  ],
  [
    "zero replicas",
    { targetRef: target, sandbox: { replicas: 0 } },
    "spec.sandbox.replicas",
    "greater than or equal to 1",
  ],
  [
    "too many replicas",
    { targetRef: target, sandbox: { replicas: 50 } },
    "spec.sandbox.replicas",
    "less than or equal to 10",
  ],
  [
    "unknown isolation mode",
    { targetRef: target, sandbox: { networkIsolation: "Open" } },
    "spec.sandbox.networkIsolation",
    "Unsupported value",
  ],
  [
    "sandbox in kube-system",
    { targetRef: target, sandbox: { namespace: "kube-system" } },
    "spec.sandbox.namespace",
    "system namespace",
  ],
  [
    "sandbox in default",
    { targetRef: target, sandbox: { namespace: "default" } },
    "spec.sandbox.namespace",
    "system namespace",
  ],
  [
    "sandbox name too long",
    { targetRef: target, sandbox: { namespace: "a".repeat(64) } },
    "spec.sandbox.namespace",
    "Too long: may not be more than 63",
  ],
  [
    "sandbox name with capitals",
    { targetRef: target, sandbox: { namespace: "Sandbox" } },
    "spec.sandbox.namespace",
    "should match",
  ],
  [
    "negative TTL",
    { targetRef: target, sandbox: { ttlSecondsAfterFinished: -60 } },
    "spec.sandbox.ttlSecondsAfterFinished",
    "greater than or equal to 0",
  ],
  [
    "secret list of numbers",
    { targetRef: target, sandbox: { copySecrets: [1] } },
    "spec.sandbox.copySecrets[0]",
    "must be of type string",
  ],
  [
    "duplicate secrets in a set",
    { targetRef: target, sandbox: { copySecrets: ["a", "a"] } },
    "spec.sandbox.copySecrets[1]",
    "Duplicate value",
  ],
  [
    "env override without a name",
    { targetRef: target, sandbox: { env: [{ value: "x" }] } },
    "spec.sandbox.env[0].name",
    "Required value",
  ],
  [
    "env name with a space",
    { targetRef: target, sandbox: { env: [{ name: "DB URL", value: "x" }] } },
    "spec.sandbox.env[0].name",
    "should match",
  ],
  [
    "negative stableSeconds",
    { targetRef: target, checks: { stableSeconds: -5 } },
    "spec.checks.stableSeconds",
    "greater than or equal to 0",
  ],
  [
    "timeout below the minimum",
    { targetRef: target, checks: { timeoutSeconds: 1 } },
    "spec.checks.timeoutSeconds",
    "greater than or equal to 10",
  ],
  [
    "zero RTO",
    { targetRef: target, checks: { maxRollbackSeconds: 0 } },
    "spec.checks.maxRollbackSeconds",
    "greater than or equal to 1",
  ],
  [
    "stable window longer than the timeout",
    { targetRef: target, checks: { stableSeconds: 900, timeoutSeconds: 600 } },
    "spec.checks.stableSeconds",
    "stableSeconds must be less than timeoutSeconds",
  ],
  [
    "RTO longer than the timeout",
    { targetRef: target, checks: { maxRollbackSeconds: 900 } },
    "spec.checks.maxRollbackSeconds",
    "maxRollbackSeconds must not exceed timeoutSeconds",
  ],
  [
    "unknown digest policy",
    { targetRef: target, checks: { digestPolicy: "Trust" } },
    "spec.checks.digestPolicy",
    "Unsupported value",
  ],
  [
    "unknown pinned-image policy",
    { targetRef: target, checks: { pinnedImages: "Always" } },
    "spec.checks.pinnedImages",
    "Unsupported value",
  ],
  [
    "historyLimit of zero",
    { targetRef: target, historyLimit: 0 },
    "spec.historyLimit",
    "greater than or equal to 1",
  ],
  [
    "historyLimit beyond 50",
    { targetRef: target, historyLimit: 500 },
    "spec.historyLimit",
    "less than or equal to 50",
  ],
];

describe("malformed drills are rejected with a message naming the field", () => {
  it.each(malformed)("%s", (_what, spec, field, phrase) => {
    const error = rejection(drill(spec));
    expect(error.code).toBe(422);
    expect(error.reason).toBe("Invalid");
    const causes = error.details?.causes ?? [];
    const cause = causes.find(c => c.field === field);
    expect(cause, `causes: ${JSON.stringify(causes)}`).toBeDefined();
    expect(`${cause!.field}: ${cause!.message}`).toContain(phrase);
    expect(error.message).toContain(`RollbackDrill.rollbackdrill.io "web" is invalid`);
    expect(error.message).toContain(field);
  });

  it("has at least twenty cases", () => {
    expect(malformed.length).toBeGreaterThanOrEqual(20);
  });
});
