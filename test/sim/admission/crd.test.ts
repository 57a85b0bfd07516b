/**
 * Custom resources against their CRD, as staging/src/k8s.io/apiextensions-apiserver does it:
 * pkg/apiserver/schema/pruning/algorithm.go (Prune), schema/defaulting/algorithm.go (Default),
 * pkg/apiserver/validation/validation.go (kubeOpenAPIResultToFieldErrors) with kube-openapi
 * pkg/validation/errors/schema.go texts, schema/cel/validation.go (Validate, transition rules,
 * fieldErrorForReason), pkg/registry/customresource/strategy.go (hasBlockingErr) and
 * pkg/apis/apiextensions/validation/validation.go (ValidateCustomResourceDefinition).
 */
import { describe, expect, it } from "vitest";
import { crdResourceInfos } from "../../../src/sim/admission/index.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { admitAs, builtin, crdObject, messages, rejection } from "./helpers.ts";

const schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["targetRef"],
      "x-kubernetes-validations": [
        {
          rule: "!has(self.timeZone) || has(self.schedule)",
          message: "timeZone requires schedule",
          fieldPath: ".timeZone",
        },
        { rule: "self.size == oldSelf.size", message: "size is immutable" },
      ],
      properties: {
        targetRef: {
          type: "object",
          required: ["name"],
          properties: {
            kind: { type: "string", enum: ["Deployment"], default: "Deployment" },
            name: { type: "string", minLength: 1, maxLength: 63 },
          },
        },
        size: { type: "string", default: "small" },
        schedule: { type: "string", pattern: "^@(daily|hourly)$" },
        timeZone: { type: "string" },
        replicas: {
          type: "integer",
          format: "int32",
          minimum: 1,
          maximum: 10,
          exclusiveMaximum: true,
        },
        ratio: { type: "number", minimum: 0, exclusiveMinimum: true },
        port: { "x-kubernetes-int-or-string": true },
        startAt: { type: "string", format: "date-time" },
        checks: {
          type: "object",
          default: {},
          "x-kubernetes-validations": [
            {
              // Guarded: the CRD's own validation runs this rule on the default {} (below).
              rule: "!has(self.stableSeconds) || !has(self.timeoutSeconds) || self.stableSeconds < self.timeoutSeconds",
              messageExpression:
                "'stableSeconds ' + string(self.stableSeconds) + ' must be below ' + string(self.timeoutSeconds)",
              fieldPath: ".stableSeconds",
            },
          ],
          properties: {
            stableSeconds: { type: "integer", minimum: 0, default: 30 },
            timeoutSeconds: { type: "integer", default: 600 },
          },
        },
        optional: { type: "object", properties: { inner: { type: "string", default: "x" } } },
        tags: {
          type: "array",
          items: { type: "string" },
          maxItems: 3,
          minItems: 1,
          "x-kubernetes-list-type": "set",
        },
        envs: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: {
            type: "object",
            required: ["name"],
            properties: { name: { type: "string" }, value: { type: "string" } },
            "x-kubernetes-validations": [
              {
                rule: "!has(oldSelf.value) || self.value == oldSelf.value",
                message: "value is immutable",
                reason: "FieldValueForbidden",
              },
            ],
          },
        },
        labels: { type: "object", additionalProperties: { type: "string", maxLength: 5 } },
        extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        nothing: { type: "string", nullable: true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
        items: {
          type: "array",
          items: { type: "integer" },
          "x-kubernetes-validations": [
            {
              rule: "self.all(x, x > 0) && self.exists_one(x, x == 1) && self.map(x, x * 2).filter(y, y > 2).size() >= 0",
            },
          ],
        },
      },
    },
    status: { type: "object", properties: { phase: { type: "string", enum: ["Ready"] } } },
  },
};

const crd = crdObject({
  group: "example.com",
  names: {
    plural: "widgets",
    singular: "widget",
    kind: "Widget",
    shortNames: ["wd"],
    categories: ["all"],
  },
  versions: [
    {
      name: "v1",
      served: true,
      storage: true,
      schema: { openAPIV3Schema: schema },
      subresources: {
        status: {},
        scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" },
      },
    },
    { name: "v1beta1", served: false, storage: false, schema: { openAPIV3Schema: schema } },
  ],
});

const crdInfo = builtin(
  "apiextensions.k8s.io",
  "customresourcedefinitions",
  "CustomResourceDefinition",
  false,
);
const [info] = crdResourceInfos(crd);
if (info === undefined) throw new Error("no served version");

function widget(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name: "w1", namespace: "shop" },
    spec,
    ...extra,
  };
}

const base = { targetRef: { name: "web" } };

describe("crdResourceInfos", () => {
  it("serves one ResourceInfo per served version with names, scope and subresources", () => {
    expect(crdResourceInfos(crd)).toHaveLength(1);
    expect(info).toMatchObject({
      group: "example.com",
      version: "v1",
      resource: "widgets",
      singular: "widget",
      kind: "Widget",
      listKind: "WidgetList",
      namespaced: true,
      shortNames: ["wd"],
      categories: ["all"],
      subresources: ["status", "scale"],
      scale: { group: "autoscaling", version: "v1", kind: "Scale" },
    });
    expect(info.crd).toBe(crd);
  });
});

describe("pruning and defaulting", () => {
  it("drops unknown fields but keeps metadata, preserved and embedded subtrees; applies defaults top-down", () => {
    const admitted = admitAs(
      info,
      widget(
        {
          ...base,
          unknown: 1,
          extra: { anything: { goes: true } },
          optional: {},
          template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { x: 1 } },
          nothing: null,
          timeZone: undefined,
        },
        { junk: true },
      ),
    );
    expect(admitted["junk"]).toBeUndefined();
    expect(admitted.metadata).toEqual({ name: "w1", namespace: "shop" });
    expect(admitted["spec"]).toEqual({
      targetRef: { kind: "Deployment", name: "web" },
      size: "small",
      checks: { stableSeconds: 30, timeoutSeconds: 600 },
      extra: { anything: { goes: true } },
      optional: { inner: "x" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { x: 1 } },
      nothing: null,
    });
  });

  it("does not default a nested field whose parent is absent, and prunes non-nullable nulls", () => {
    const admitted = admitAs(info, widget({ ...base, schedule: null }));
    const spec = admitted["spec"] as Record<string, unknown>;
    expect(spec["optional"]).toBeUndefined();
    expect("schedule" in spec).toBe(false);
  });
});

describe("OpenAPI keyword errors", () => {
  it.each([
    [
      { targetRef: { name: "web", kind: "StatefulSet" } },
      'spec.targetRef.kind: Unsupported value: "StatefulSet": supported values: "Deployment"',
    ],
    [{ targetRef: {} }, "spec.targetRef.name: Required value"],
    [
      { ...base, checks: { stableSeconds: -5 } },
      "spec.checks.stableSeconds: Invalid value: -5: spec.checks.stableSeconds in body should be greater than or equal to 0",
    ],
    [
      { ...base, schedule: "bad" },
      `spec.schedule: Invalid value: "bad": spec.schedule in body should match '^@(daily|hourly)$'`,
    ],
    [
      { ...base, replicas: "3" },
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ],
    [
      { ...base, replicas: 1.5 },
      'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    ],
    [
      { ...base, replicas: 10 },
      "spec.replicas: Invalid value: 10: spec.replicas in body should be less than 10",
    ],
    [
      { ...base, replicas: 0 },
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    ],
    [
      { ...base, ratio: 0 },
      "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
    ],
    [
      { targetRef: { name: "" } },
      'spec.targetRef.name: Invalid value: "": spec.targetRef.name in body should be at least 1 chars long',
    ],
    [
      { targetRef: { name: "x".repeat(64) } },
      "spec.targetRef.name: Too long: may not be more than 63 bytes",
    ],
    [{ ...base, tags: ["a", "b", "c", "d"] }, "spec.tags: Too many: 4: must have at most 3 items"],
    [
      { ...base, tags: [] },
      "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
    ],
    [{ ...base, tags: ["a", "a"] }, 'spec.tags[1]: Duplicate value: "a"'],
    [
      { ...base, envs: [{ name: "A" }, { name: "A", value: "x" }] },
      'spec.envs[1]: Duplicate value: map[string]interface {}{"name":"A"}',
    ],
    [
      { ...base, labels: { a: "toolong" } },
      "spec.labels.a: Too long: may not be more than 5 bytes",
    ],
    [
      { ...base, port: 1.5 },
      'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
    ],
    [
      { ...base, startAt: "yesterday" },
      'spec.startAt: Invalid value: "yesterday": spec.startAt in body must be of type date-time: "yesterday"',
    ],
  ])("%j -> %s", (spec, message) => {
    expect(messages(rejection(() => admitAs(info, widget(spec))))).toContain(message);
  });

  // Found against a real API server (v1.36) with the hostile drills.
  it("reports a set's duplicate once per value, at its second occurrence", () => {
    const causes = messages(
      rejection(() => admitAs(info, widget({ ...base, tags: ["a", "a", "a"] }))),
    );
    expect(causes.filter(c => c.includes("Duplicate value"))).toEqual([
      'spec.tags[1]: Duplicate value: "a"',
    ]);
  });

  it("skips the CEL rules, and says so, when metadata alone is invalid", () => {
    const object = widget(base);
    object.metadata.name = "";
    expect(messages(rejection(() => admitAs(info, object)))).toContain(
      "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
    );
  });

  it("accepts int-or-string values and valid formats", () => {
    expect(() =>
      admitAs(info, widget({ ...base, port: "http", startAt: "2026-01-02T03:04:05Z" })),
    ).not.toThrow();
    expect(() => admitAs(info, widget({ ...base, port: 8080 }))).not.toThrow();
  });

  it("names the kind and the object in the 422, with brackets for several causes", () => {
    const error = rejection(() => admitAs(info, widget({ targetRef: { kind: "X" } })));
    // Property order follows Go map iteration in the apiserver, so only the set is fixed.
    expect(error.message).toMatch(/^Widget\.example\.com "w1" is invalid: \[.*\]$/);
    expect(messages(error).sort()).toEqual([
      "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      'spec.targetRef.kind: Unsupported value: "X": supported values: "Deployment"',
      "spec.targetRef.name: Required value",
    ]);
    expect(error.details).toMatchObject({ group: "example.com", kind: "Widget", name: "w1" });
  });

  it("ignores status on the main resource and validates only status on /status", () => {
    expect(() => admitAs(info, widget(base, { status: { phase: "Broken" } }))).not.toThrow();
    const old = admitAs(info, widget(base));
    const error = rejection(() =>
      admitAs(
        info,
        widget({ targetRef: {} }, { status: { phase: "Broken" } }),
        "UPDATE",
        old,
        "status",
      ),
    );
    expect(messages(error)).toEqual([
      'status.phase: Unsupported value: "Broken": supported values: "Ready"',
      expect.stringContaining("<nil>"),
    ]);
  });
});

describe("CEL rules (x-kubernetes-validations)", () => {
  it("reports a failed rule at its fieldPath with the schema type as the value", () => {
    const error = rejection(() => admitAs(info, widget({ ...base, timeZone: "UTC" })));
    expect(messages(error)).toEqual([
      'spec.timeZone: Invalid value: "object": timeZone requires schedule',
    ]);
  });

  it("evaluates messageExpression", () => {
    const error = rejection(() =>
      admitAs(info, widget({ ...base, checks: { stableSeconds: 700, timeoutSeconds: 600 } })),
    );
    expect(messages(error)).toEqual([
      'spec.checks.stableSeconds: Invalid value: "object": stableSeconds 700 must be below 600',
    ]);
  });

  it("words a rule without message as failed rule", () => {
    const error = rejection(() => admitAs(info, widget({ ...base, items: [1, -1] })));
    expect(messages(error)).toEqual([
      'spec.items: Invalid value: "array": failed rule: self.all(x, x > 0) && self.exists_one(x, x == 1) && self.map(x, x * 2).filter(y, y > 2).size() >= 0',
    ]);
    expect(() => admitAs(info, widget({ ...base, items: [1, 2, 3] }))).not.toThrow();
  });

  it("runs transition rules only on update, with oldSelf correlated by key", () => {
    const created = admitAs(
      info,
      widget({ ...base, size: "big", envs: [{ name: "A", value: "1" }] }),
    );
    const resized = widget({ ...base, size: "small", envs: [{ name: "A", value: "1" }] });
    expect(messages(rejection(() => admitAs(info, resized, "UPDATE", created)))).toEqual([
      'spec: Invalid value: "object": size is immutable',
    ]);
    const changedEnv = widget({
      ...base,
      size: "big",
      envs: [
        { name: "A", value: "2" },
        { name: "B", value: "new" },
      ],
    });
    expect(messages(rejection(() => admitAs(info, changedEnv, "UPDATE", created)))).toEqual([
      "spec.envs[0]: Forbidden: value is immutable",
    ]);
  });

  it("skips CEL when a blocking error exists", () => {
    const error = rejection(() => admitAs(info, widget({ targetRef: {}, timeZone: "UTC" })));
    expect(messages(error)).not.toContain(
      'spec.timeZone: Invalid value: "object": timeZone requires schedule',
    );
  });
});

describe("CustomResourceDefinition validation", () => {
  const admitCrd = (object: KubeObject) => admitAs(crdInfo, object);

  it("accepts the test CRD and defaults names and conversion", () => {
    const admitted = admitCrd(structuredClone(crd));
    expect(admitted["spec"]).toMatchObject({
      names: { listKind: "WidgetList" },
      conversion: { strategy: "None" },
    });
  });

  it("runs each default through its node's CEL rules as written, before nested defaults", () => {
    // Found on a real API server (v1.36): `checks: {default: {}}` with a rule reading both fields
    // unguarded makes the whole CRD invalid.
    const bad = structuredClone(crd);
    const versions = (bad["spec"] as { versions: { schema: { openAPIV3Schema: typeof schema } }[] })
      .versions;
    const checks: Record<string, unknown> =
      versions[0]!.schema.openAPIV3Schema.properties.spec.properties.checks;
    checks["x-kubernetes-validations"] = [
      {
        rule: "self.stableSeconds < self.timeoutSeconds",
        message: "stableSeconds must be less than timeoutSeconds",
        fieldPath: ".stableSeconds",
      },
    ];
    expect(messages(rejection(() => admitCrd(bad)))).toContain(
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[checks].default: Invalid value: "object": no such key: stableSeconds evaluating rule: stableSeconds must be less than timeoutSeconds',
    );
  });

  it("requires metadata.name to be plural.group and exactly one storage version", () => {
    const bad = structuredClone(crd);
    bad.metadata.name = "widget.example.com";
    const spec = bad["spec"] as { versions: { storage: boolean }[] };
    spec.versions.forEach(v => (v.storage = true));
    const all = messages(rejection(() => admitCrd(bad)));
    expect(all[0]).toBe(
      'metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group',
    );
    expect(all[1]).toMatch(
      /^spec\.versions: Invalid value: .*: must have exactly one version marked as storage version$/,
    );
  });

  it("rejects a non-structural schema and a CEL rule that does not compile", () => {
    const bad = structuredClone(crd);
    const versions = (
      bad["spec"] as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] }
    ).versions;
    versions[0]!.schema.openAPIV3Schema = {
      type: "object",
      properties: {
        spec: { properties: { a: { type: "string" } } },
        status: {
          type: "object",
          "x-kubernetes-validations": [{ rule: "self.a ==" }, { rule: "foo.bar" }],
        },
      },
    };
    const all = messages(rejection(() => admitCrd(bad)));
    expect(all).toContain(
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
    );
    expect(
      all.filter(m => m.includes("x-kubernetes-validations") && m.includes("compilation failed")),
    ).toHaveLength(2);
  });
});
