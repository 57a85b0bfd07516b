/**
 * Built-in defaulting, checked against kubernetes/kubernetes pkg/apis/apps/v1/defaults.go
 * (SetDefaults_Deployment, SetDefaults_ReplicaSet), pkg/apis/core/v1/defaults.go
 * (SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe, SetDefaults_Service,
 * SetDefaults_Secret, SetDefaults_Namespace, SetDefaults_NamespaceStatus, SetDefaults_Volume,
 * SetDefaults_{Secret,ConfigMap}VolumeSource, SetDefaults_ObjectFieldSelector,
 * SetDefaults_HTTPGetAction, SetDefaults_ResourceList), pkg/apis/networking/v1/defaults.go
 * (SetDefaults_NetworkPolicy) and pkg/registry/core/namespace/strategy.go (PrepareForCreate).
 */
import { describe, expect, it } from "vitest";
import { canonicalQuantity } from "../../../src/sim/admission/quantity.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { admitAs, builtin } from "./helpers.ts";

const deployments = {
  ...builtin("apps", "deployments", "Deployment"),
  subresources: ["status", "scale"],
};

function deployment(containers: unknown[], extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
      ...extra,
    },
  };
}

describe("Deployment defaults (apps/v1 SetDefaults_Deployment + pod template defaults)", () => {
  it("fills the spec the way the apiserver stores it", () => {
    const admitted = admitAs(deployments, deployment([{ name: "app", image: "nginx:1.25" }]));
    expect(admitted["spec"]).toEqual({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      },
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "app",
              image: "nginx:1.25",
              imagePullPolicy: "IfNotPresent",
              resources: {},
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
            },
          ],
          dnsPolicy: "ClusterFirst",
          restartPolicy: "Always",
          schedulerName: "default-scheduler",
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    });
  });

  it("keeps explicit values, including replicas 0 and a Recreate strategy without rollingUpdate", () => {
    const admitted = admitAs(
      deployments,
      deployment([{ name: "app", image: "nginx" }], {
        replicas: 0,
        strategy: { type: "Recreate" },
      }),
    );
    const spec = admitted["spec"] as Record<string, unknown>;
    expect(spec["replicas"]).toBe(0);
    expect(spec["strategy"]).toEqual({ type: "Recreate" });
  });

  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    ["registry.local:5000/app", "Always"],
    ["registry.local:5000/app:v2", "IfNotPresent"],
    [
      "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "IfNotPresent",
    ],
  ])(
    "image %s gets imagePullPolicy %s (SetDefaults_Container, parsers.ParseImageName)",
    (image, policy) => {
      const admitted = admitAs(deployments, deployment([{ name: "app", image }]));
      const spec = admitted["spec"] as {
        template: { spec: { containers: { imagePullPolicy: string }[] } };
      };
      expect(spec.template.spec.containers[0]?.imagePullPolicy).toBe(policy);
    },
  );

  it("defaults probes, ports, env fieldRefs, volumes and canonicalises quantities", () => {
    const admitted = admitAs(
      deployments,
      deployment([
        {
          name: "app",
          image: "nginx:1",
          ports: [{ containerPort: 80 }],
          env: [{ name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
          readinessProbe: { httpGet: { port: 80 } },
          resources: { limits: { cpu: "0.5", memory: "1024Mi" }, requests: { cpu: "1000m" } },
        },
      ]),
    );
    const template = (admitted["spec"] as { template: { spec: Record<string, unknown> } }).template;
    const [container] = template.spec["containers"] as Record<string, unknown>[];
    expect(container?.["ports"]).toEqual([{ containerPort: 80, protocol: "TCP" }]);
    expect(container?.["env"]).toEqual([
      {
        name: "NS",
        valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
      },
    ]);
    expect(container?.["readinessProbe"]).toEqual({
      httpGet: { port: 80, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(container?.["resources"]).toEqual({
      limits: { cpu: "500m", memory: "1Gi" },
      requests: { cpu: "1" },
    });
  });

  it("defaults volumes: configMap/secret defaultMode 420, an empty source becomes emptyDir", () => {
    const object = deployment([{ name: "app", image: "nginx:1" }]);
    const spec = object["spec"] as { template: { spec: Record<string, unknown> } };
    spec.template.spec["volumes"] = [
      { name: "a", configMap: { name: "cm" } },
      { name: "b", secret: { secretName: "s" } },
      { name: "c" },
    ];
    const admitted = admitAs(deployments, object);
    const volumes = (admitted["spec"] as typeof spec).template.spec["volumes"];
    expect(volumes).toEqual([
      { name: "a", configMap: { name: "cm", defaultMode: 420 } },
      { name: "b", secret: { secretName: "s", defaultMode: 420 } },
      { name: "c", emptyDir: {} },
    ]);
  });
});

describe("ReplicaSet, Namespace, Secret, Service, NetworkPolicy defaults", () => {
  it("ReplicaSet replicas 1 (SetDefaults_ReplicaSet)", () => {
    const rs = deployment([{ name: "app", image: "nginx:1" }]);
    const admitted = admitAs(builtin("apps", "replicasets", "ReplicaSet"), {
      ...rs,
      kind: "ReplicaSet",
    });
    expect((admitted["spec"] as Record<string, unknown>)["replicas"]).toBe(1);
  });

  it("Namespace: finalizers [kubernetes], phase Active, the metadata.name label", () => {
    const admitted = admitAs(builtin("", "namespaces", "Namespace", false), {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop" },
    });
    expect(admitted["spec"]).toEqual({ finalizers: ["kubernetes"] });
    expect(admitted["status"]).toEqual({ phase: "Active" });
    expect(admitted.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "shop" });
  });

  it("Secret type Opaque", () => {
    const admitted = admitAs(builtin("", "secrets", "Secret"), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "shop" },
      data: { k: "dg==" },
    });
    expect(admitted["type"]).toBe("Opaque");
  });

  it("Service: ClusterIP, sessionAffinity None, protocol TCP, targetPort = port, a cluster IP kept on update", () => {
    const services = builtin("", "services", "Service");
    const service: KubeObject = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "shop" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    };
    const admitted = admitAs(services, service);
    const spec = admitted["spec"] as Record<string, unknown>;
    expect(spec).toMatchObject({
      type: "ClusterIP",
      sessionAffinity: "None",
      ports: [{ port: 80, protocol: "TCP", targetPort: 80 }],
      internalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
    });
    expect(spec["clusterIP"]).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(spec["clusterIPs"]).toEqual([spec["clusterIP"]]);
    const updated = admitAs(
      services,
      { ...service, metadata: { ...service.metadata, name: "web" } },
      "UPDATE",
      admitted,
    );
    expect((updated["spec"] as Record<string, unknown>)["clusterIP"]).toBe(spec["clusterIP"]);
  });

  it("NetworkPolicy: policyTypes [Ingress], plus Egress when egress rules exist", () => {
    const policies = builtin("networking.k8s.io", "networkpolicies", "NetworkPolicy");
    const np = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "np", namespace: "shop" },
      spec: { podSelector: {}, ...spec },
    });
    const ingressOnly = admitAs(policies, np({}));
    expect((ingressOnly["spec"] as Record<string, unknown>)["policyTypes"]).toEqual(["Ingress"]);
    const both = admitAs(policies, np({ egress: [{ ports: [{ port: 53 }] }] }));
    expect(both["spec"]).toMatchObject({
      policyTypes: ["Ingress", "Egress"],
      egress: [{ ports: [{ port: 53, protocol: "TCP" }] }],
    });
  });

  it("Pod: enableServiceLinks, the default service account and its token volume, default tolerations", () => {
    const admitted = admitAs(builtin("", "pods", "Pod"), {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "shop" },
      spec: {
        containers: [{ name: "app", image: "nginx:1", resources: { limits: { cpu: "1" } } }],
      },
    });
    const spec = admitted["spec"] as Record<string, unknown>;
    expect(spec).toMatchObject({
      enableServiceLinks: true,
      serviceAccountName: "default",
      priority: 0,
    });
    const [container] = spec["containers"] as Record<string, unknown>[];
    expect(container?.["resources"]).toEqual({ limits: { cpu: "1" }, requests: { cpu: "1" } });
    expect(container?.["volumeMounts"]).toEqual([
      expect.objectContaining({
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
        readOnly: true,
      }),
    ]);
    expect(spec["tolerations"]).toContainEqual({
      key: "node.kubernetes.io/not-ready",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 300,
    });
  });
});

describe("Quantity canonical form (apimachinery resource/quantity.go)", () => {
  it.each([
    ["0.5", "500m"],
    ["1000m", "1"],
    ["1.5", "1500m"],
    ["2000000", "2M"],
    ["1024Mi", "1Gi"],
    ["1536Mi", "1536Mi"],
    ["0.5Gi", "512Mi"],
    ["128974848", "128974848"],
    ["0.1m", "1m"],
    ["1e3", "1e3"],
  ])("%s -> %s", (input, output) => {
    expect(canonicalQuantity(input)).toBe(output);
  });
});
