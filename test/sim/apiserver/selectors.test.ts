import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/sim/errors.ts";
import {
  labelSelectorString,
  parseFieldSelector,
  parseLabelSelector,
} from "../../../src/sim/selectors.ts";
import type { KubeObject } from "../../../src/sim/types.ts";

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", labels },
  ...extra,
});

describe("selectors", () => {
  // k8s.io/apimachinery/pkg/labels/selector.go: Parse
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app in (web,db)", true],
    ["app notin (web)", false],
    ["app", true],
    ["!app", false],
    ["missing!=x", true],
    ["app=web,tier in (fe)", true],
    ["app=web,tier notin (fe)", false],
  ])("label selector %s", (selector, expected) => {
    expect(parseLabelSelector(selector)(obj({ app: "web", tier: "fe" }))).toBe(expected);
  });

  it("rejects a malformed label selector with 400", () => {
    expect(() => parseLabelSelector("a b c")).toThrow(ApiError);
  });

  // pkg/registry/core/pod/strategy.go: PodToSelectableFields; fields/selector.go
  it("supports the pods' extra field labels and refuses unknown ones", () => {
    const pod = obj({}, { spec: { nodeName: "node-1" }, status: { phase: "Running" } });
    expect(parseFieldSelector("spec.nodeName=node-1,status.phase!=Pending", "", "pods")(pod)).toBe(
      true,
    );
    expect(parseFieldSelector("metadata.name==q", "", "pods")(pod)).toBe(false);
    try {
      parseFieldSelector("spec.bogus=1", "", "pods");
      throw new Error("expected a 400");
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(400);
      expect((err as ApiError).message).toBe("field label not supported: spec.bogus");
    }
    expect(() => parseFieldSelector("type=Opaque", "", "secrets")).not.toThrow();
    expect(() =>
      parseFieldSelector("involvedObject.name=x,reason=Started", "", "events"),
    ).not.toThrow();
  });

  // apimachinery/pkg/apis/meta/v1/helpers.go: LabelSelectorAsSelector(...).String()
  it("renders a LabelSelector as the apiserver does", () => {
    expect(
      labelSelectorString({
        matchLabels: { tier: "fe", app: "web" },
        matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }],
      }),
    ).toBe("app=web,env in (dev,prod),tier=fe");
  });
});
