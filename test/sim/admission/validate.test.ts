/**
 * Built-in validation messages, checked against kubernetes/kubernetes
 * pkg/apis/apps/validation/validation.go (ValidateDeploymentSpec, ValidatePodTemplateSpecForReplicaSet,
 * ValidateDeploymentUpdate), pkg/apis/core/validation/validation.go (validateContainers,
 * ValidateConfigMap), k8s.io/apimachinery pkg/util/validation/validation.go (IsDNS1123Subdomain,
 * IsDNS1123Label, IsDNS1035Label, IsQualifiedName, IsValidLabelValue) and
 * pkg/util/validation/field/errors.go at v0.32 (ErrorBody: %#v for maps).
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/sim/types.ts";
import { admitAs, builtin, messages, rejection } from "./helpers.ts";
import { isValidPathSegmentName } from "../../../src/sim/admission/names.ts";
import { nameRuleFor } from "../../../src/sim/admission/validate.ts";

const deployments = builtin("apps", "deployments", "Deployment");

function deployment(spec: Record<string, unknown>, name = "web"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "shop" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "nginx:1" }] },
      },
      ...spec,
    },
  };
}

describe("Deployment validation", () => {
  it("rejects a selector that does not match the template labels, worded as 1.32 prints it", () => {
    const error = rejection(() =>
      admitAs(deployments, deployment({ selector: { matchLabels: { app: "other" } } })),
    );
    expect(error.code).toBe(422);
    expect(error.reason).toBe("Invalid");
    expect(error.message).toBe(
      'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    );
    expect(error.details).toMatchObject({ name: "web", group: "apps", kind: "Deployment" });
    expect(error.details?.causes?.[0]?.reason).toBe("FieldValueInvalid");
  });

  it("requires a selector, containers, names and images", () => {
    const error = rejection(() =>
      admitAs(
        deployments,
        deployment({ selector: undefined, template: { metadata: {}, spec: { containers: [{}] } } }),
      ),
    );
    expect(messages(error)).toEqual(
      expect.arrayContaining([
        "spec.selector: Required value",
        "spec.template.spec.containers[0].name: Required value",
        "spec.template.spec.containers[0].image: Required value",
      ]),
    );
    const none = rejection(() =>
      admitAs(
        deployments,
        deployment({
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [] } },
        }),
      ),
    );
    expect(messages(none)).toContain("spec.template.spec.containers: Required value");
  });

  it("rejects negative replicas, duplicate container names and a non-Always restartPolicy", () => {
    const error = rejection(() =>
      admitAs(
        deployments,
        deployment({
          replicas: -1,
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              restartPolicy: "Never",
              containers: [
                { name: "app", image: "a:1" },
                { name: "app", image: "b:1" },
              ],
            },
          },
        }),
      ),
    );
    expect(messages(error)).toEqual(
      expect.arrayContaining([
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.spec.containers[1].name: Duplicate value: "app"',
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
      ]),
    );
  });

  it("rejects both maxSurge and maxUnavailable at zero", () => {
    const error = rejection(() =>
      admitAs(
        deployments,
        deployment({
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } },
        }),
      ),
    );
    expect(messages(error)).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0',
    ]);
  });

  it("keeps spec.selector immutable on update", () => {
    const old = admitAs(deployments, deployment({}));
    const changed = deployment({
      selector: { matchLabels: { app: "web", tier: "x" } },
      template: {
        metadata: { labels: { app: "web", tier: "x" } },
        spec: { containers: [{ name: "app", image: "nginx:1" }] },
      },
    });
    const error = rejection(() => admitAs(deployments, changed, "UPDATE", old));
    expect(messages(error)).toEqual([
      'spec.selector: Invalid value: map[string]interface {}{"matchLabels":map[string]interface {}{"app":"web", "tier":"x"}}: field is immutable',
    ]);
  });
});

describe("names, labels and annotations", () => {
  it("names a Deployment by DNS-1123 subdomain", () => {
    const error = rejection(() => admitAs(deployments, deployment({}, "Web_App")));
    expect(messages(error)).toEqual([
      `metadata.name: Invalid value: "Web_App": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ]);
  });

  it("limits subdomain names to 253 characters", () => {
    const error = rejection(() => admitAs(deployments, deployment({}, "a".repeat(254))));
    expect(messages(error)[0]).toMatch(
      /^metadata\.name: Invalid value: "a+": must be no more than 253 characters$/,
    );
  });

  it("names a Namespace by DNS-1123 label (dots are refused) and a Service by DNS-1035 label", () => {
    const ns = rejection(() =>
      admitAs(builtin("", "namespaces", "Namespace", false), {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "a.b" },
      }),
    );
    expect(messages(ns)).toEqual(['metadata.name: Invalid value: "a.b": must not contain dots']);
    const svc = rejection(() =>
      admitAs(builtin("", "services", "Service"), {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "1web", namespace: "shop" },
        spec: { ports: [{ port: 80 }] },
      }),
    );
    expect(messages(svc)[0]).toContain(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character",
    );
  });

  it("checks label keys and values and annotation keys", () => {
    const object = deployment({});
    object.metadata.labels = { "bad key": "ok", good: "-bad-" };
    object.metadata.annotations = { "example.com/a/b": "x" };
    const error = rejection(() => admitAs(deployments, object));
    const all = messages(error);
    expect(all[0]).toMatch(
      /^metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric characters/,
    );
    expect(all[1]).toMatch(
      /^metadata\.labels: Invalid value: "-bad-": a valid label must be an empty string/,
    );
    expect(all[2]).toMatch(
      /^metadata\.annotations: Invalid value: "example.com\/a\/b": a qualified name must consist of/,
    );
  });

  it("checks ConfigMap keys", () => {
    const error = rejection(() =>
      admitAs(builtin("", "configmaps", "ConfigMap"), {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "shop" },
        data: { "a b": "x" },
      }),
    );
    expect(messages(error)[0]).toMatch(
      /^data\[a b\]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.'/,
    );
  });
});

describe("RBAC object names (pkg/apis/rbac/validation ValidateRBACName = path.IsValidPathSegmentName)", () => {
  const gvr = { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles" };
  it("accepts a colon, as in system:discovery", () => {
    expect(isValidPathSegmentName("system:discovery")).toEqual([]);
  });
  it("rejects '..', '/' and '%' with apimachinery's wording", () => {
    expect(isValidPathSegmentName("..")).toEqual(["may not be '..'"]);
    expect(isValidPathSegmentName("a/b%c")).toEqual(["may not contain '/'", "may not contain '%'"]);
    expect(nameRuleFor(gvr.group, "ClusterRole")).toBe("path");
  });
});
