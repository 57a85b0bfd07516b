/**
 * Rule matching and coverage, each row checked against kubernetes/kubernetes
 * pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches,
 * ResourceNameMatches, NonResourceURLMatches), plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows,
 * and pkg/registry/rbac/validation/policy_comparator.go (Covers, ruleCovers) + policy_compact.go.
 */
import { describe, expect, it } from "vitest";
import { compactRules, compactString, covers } from "../../../src/sim/auth/covers.ts";
import {
  nonResourceAttributes,
  resourceAttributes,
  ruleAllows,
} from "../../../src/sim/auth/rules.ts";
import type { Attributes, PolicyRule } from "../../../src/sim/auth/rules.ts";

const user = { name: "u", groups: [] };
const req = (
  verb: string,
  apiGroup: string,
  resource: string,
  extra: { subresource?: string; name?: string; namespace?: string } = {},
) => resourceAttributes(user, { verb, apiGroup, resource, ...extra });

describe("RuleAllows (rbac.go, evaluation_helpers.go)", () => {
  const deploy: PolicyRule = { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] };
  const table: [string, PolicyRule, Attributes, boolean][] = [
    ["exact verb, group, resource", deploy, req("get", "apps", "deployments"), true],
    ["other verb", deploy, req("list", "apps", "deployments"), false],
    ["other group (core)", deploy, req("get", "", "deployments"), false],
    ["other resource", deploy, req("get", "apps", "replicasets"), false],
    // ResourceMatches: a subresource needs "deployments/scale", not "deployments".
    [
      "subresource not granted by its resource",
      deploy,
      req("get", "apps", "deployments", { subresource: "scale" }),
      false,
    ],
    [
      "resource/subresource",
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      req("get", "", "pods", { subresource: "log", name: "p" }),
      true,
    ],
    [
      "*/subresource",
      { apiGroups: ["*"], resources: ["*/status"], verbs: ["update"] },
      req("update", "apps", "deployments", { subresource: "status", name: "d" }),
      true,
    ],
    [
      "*/subresource does not match the resource itself",
      { apiGroups: ["*"], resources: ["*/status"], verbs: ["update"] },
      req("update", "apps", "deployments", { name: "d" }),
      false,
    ],
    [
      "* resources match subresources too",
      { apiGroups: ["apps"], resources: ["*"], verbs: ["patch"] },
      req("patch", "apps", "deployments", { subresource: "scale", name: "d" }),
      true,
    ],
    [
      "* verbs and * groups",
      { apiGroups: ["*"], resources: ["secrets"], verbs: ["*"] },
      req("deletecollection", "", "secrets"),
      true,
    ],
    // ResourceNameMatches: listed names only; "" (a list or a create) never matches.
    [
      "resourceNames: the named object",
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["a"] },
      req("get", "", "configmaps", { name: "a" }),
      true,
    ],
    [
      "resourceNames: another object",
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["a"] },
      req("get", "", "configmaps", { name: "b" }),
      false,
    ],
    [
      "resourceNames: a list has no name",
      { apiGroups: [""], resources: ["configmaps"], verbs: ["list"], resourceNames: ["a"] },
      req("list", "", "configmaps"),
      false,
    ],
    [
      "resourceNames: a create has no name",
      { apiGroups: [""], resources: ["configmaps"], verbs: ["create"], resourceNames: ["a"] },
      req("create", "", "configmaps"),
      false,
    ],
    [
      "resourceNames: '*' is not a wildcard",
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["*"] },
      req("get", "", "configmaps", { name: "a" }),
      false,
    ],
    [
      "a resource rule never allows a path",
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      nonResourceAttributes(user, "get", "/healthz"),
      false,
    ],
    [
      "nonResourceURLs exact",
      { nonResourceURLs: ["/healthz"], verbs: ["get"] },
      nonResourceAttributes(user, "get", "/healthz"),
      true,
    ],
    [
      "nonResourceURLs prefix with trailing *",
      { nonResourceURLs: ["/apis/*"], verbs: ["get"] },
      nonResourceAttributes(user, "get", "/apis/apps/v1"),
      true,
    ],
    [
      "nonResourceURLs: /apis/* does not match /apis",
      { nonResourceURLs: ["/apis/*"], verbs: ["get"] },
      nonResourceAttributes(user, "get", "/apis"),
      false,
    ],
    [
      "nonResourceURLs: verb is the HTTP method",
      { nonResourceURLs: ["/healthz"], verbs: ["get"] },
      nonResourceAttributes(user, "post", "/healthz"),
      false,
    ],
    [
      "a path rule never allows a resource",
      { nonResourceURLs: ["*"], verbs: ["*"] },
      req("get", "", "pods"),
      false,
    ],
  ];
  it.each(table)("%s", (_name, rule, attrs, allowed) => {
    expect(ruleAllows(attrs, rule)).toBe(allowed);
  });
});

describe("Covers (policy_comparator.go) and the escalation message's rules", () => {
  const sandbox: PolicyRule[] = [
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  ];

  it("an owner with * covers everything, subresources included", () => {
    expect(covers([{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }], sandbox).covered).toBe(
      true,
    );
  });

  it("*/log covers pods/log; deployments does not cover deployments/scale", () => {
    const owner: PolicyRule[] = [
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["*"] },
      { apiGroups: [""], resources: ["*/log"], verbs: ["get"] },
    ];
    expect(covers(owner, sandbox).covered).toBe(true);
    const scale = [{ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"] }];
    expect(covers(owner, scale).missing).toEqual(scale);
  });

  it("owner resourceNames cover only those names; a rule without names needs an owner without", () => {
    const owner: PolicyRule[] = [
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["a"] },
    ];
    expect(
      covers(owner, [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["a"] },
      ]).covered,
    ).toBe(true);
    expect(
      covers(owner, [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]).covered,
    ).toBe(false);
  });

  it("missing rules are compacted per resource and printed as CompactString", () => {
    const { missing } = covers(
      [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] }],
      [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch", "delete"] }],
    );
    expect(compactRules(missing).map(compactString)).toEqual([
      '{APIGroups:["apps"], Resources:["deployments"], Verbs:["patch" "delete"]}',
    ]);
    expect(compactString({ nonResourceURLs: ["*"], verbs: ["*"] })).toBe(
      '{NonResourceURLs:["*"], Verbs:["*"]}',
    );
  });
});
