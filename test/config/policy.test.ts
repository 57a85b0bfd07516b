/**
 * config/policy: the ValidatingAdmissionPolicy that keeps the operator's cluster-wide rights to
 * bind roles and delete namespaces inside its own sandboxes. The simulator does not run admission
 * policies, so this evaluates the policy's own CEL (matchConditions and validations, with the
 * variables the apiserver binds: request, object, oldObject, namespaceObject; see
 * staging/src/k8s.io/apiserver/pkg/admission/plugin/policy/validating) against the requests the
 * operator makes and the ones it must never make.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { compile, evaluate } from "../../src/sim/admission/cel.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../src/api/vocabulary.ts";

interface Policy {
  kind: string;
  spec: {
    matchConditions: { expression: string }[];
    validations: { expression: string; message: string }[];
    matchConstraints: { resourceRules: { resources: string[]; operations: string[] }[] };
  };
}

const docs = parseAllDocuments(readFileSync("config/policy/sandbox_only.yaml", "utf8")).map(
  d => d.toJS() as Policy,
);
const policy = docs.find(d => d.kind === "ValidatingAdmissionPolicy")!;
const VARIABLES = ["request", "object", "oldObject", "namespaceObject"];
const OPERATOR = "system:serviceaccount:rollback-drill-system:rollback-drill-operator";

interface Request {
  user: string;
  resource: "rolebindings" | "namespaces";
  operation: "CREATE" | "UPDATE" | "DELETE";
  namespaceLabels?: Record<string, string> | null;
  oldLabels?: Record<string, string>;
}

/** The policy's answer: "not matched", "allowed", or the message of the first failed validation. */
function admit(req: Request): string {
  const bindings = {
    request: {
      userInfo: { username: req.user },
      resource: { group: "", resource: req.resource },
      operation: req.operation,
    },
    object: null,
    oldObject: req.oldLabels === undefined ? null : { metadata: { labels: req.oldLabels } },
    namespaceObject:
      req.namespaceLabels === null || req.namespaceLabels === undefined
        ? null
        : { metadata: { labels: req.namespaceLabels } },
  };
  const rules = policy.spec.matchConstraints.resourceRules;
  if (!rules.some(r => r.resources.includes(req.resource) && r.operations.includes(req.operation)))
    return "not matched";
  for (const c of policy.spec.matchConditions)
    if (evaluate(compile(c.expression, VARIABLES), bindings) !== true) return "not matched";
  for (const v of policy.spec.validations)
    if (evaluate(compile(v.expression, VARIABLES), bindings) !== true) return v.message;
  return "allowed";
}

const sandboxLabels = { [LABEL_MANAGED_BY]: MANAGED_BY, "rollbackdrill.io/run": "1" };

describe("the sandbox-only admission policy", () => {
  it("lets the operator bind roles in, and delete, its own sandbox namespaces", () => {
    expect(
      admit({
        user: OPERATOR,
        resource: "rolebindings",
        operation: "CREATE",
        namespaceLabels: sandboxLabels,
      }),
    ).toBe("allowed");
    expect(
      admit({
        user: OPERATOR,
        resource: "namespaces",
        operation: "DELETE",
        oldLabels: sandboxLabels,
      }),
    ).toBe("allowed");
  });

  it("refuses the operator a RoleBinding in a namespace it did not create", () => {
    for (const namespaceLabels of [{ team: "shop" }, {}, { [LABEL_MANAGED_BY]: "helm" }])
      expect(
        admit({ user: OPERATOR, resource: "rolebindings", operation: "CREATE", namespaceLabels }),
      ).toBe("rollback-drill may bind roles only inside its own sandbox namespaces");
  });

  it("refuses the operator deleting any other namespace", () => {
    expect(
      admit({
        user: OPERATOR,
        resource: "namespaces",
        operation: "DELETE",
        oldLabels: { team: "shop" },
      }),
    ).toBe("rollback-drill may delete only its own sandbox namespaces");
    expect(
      admit({ user: OPERATOR, resource: "namespaces", operation: "DELETE", oldLabels: {} }),
    ).toBe("rollback-drill may delete only its own sandbox namespaces");
  });

  it("leaves everyone else alone", () => {
    expect(
      admit({
        user: "kubernetes-admin",
        resource: "namespaces",
        operation: "DELETE",
        oldLabels: {},
      }),
    ).toBe("not matched");
    expect(
      admit({
        user: "system:serviceaccount:shop:deployer",
        resource: "rolebindings",
        operation: "CREATE",
        namespaceLabels: {},
      }),
    ).toBe("not matched");
  });

  it("is bound with Deny", () => {
    const binding = docs.find(d => d.kind === "ValidatingAdmissionPolicyBinding") as unknown as {
      spec: { policyName: string; validationActions: string[] };
    };
    expect(binding.spec).toEqual({
      policyName: "rollback-drill-sandbox-only",
      validationActions: ["Deny"],
    });
  });
});
