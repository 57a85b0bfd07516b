/**
 * Decoding what kubectl 1.32's imperative generators send as application/vnd.kubernetes.protobuf.
 * Field numbers: k8s.io/api core/v1 and apps/v1 generated.proto, k8s.io/apimachinery
 * pkg/apis/meta/v1/generated.proto and pkg/runtime/generated.proto (message Unknown); the magic
 * prefix: k8s.io/apimachinery pkg/runtime/serializer/protobuf/protobuf.go (protoEncodingPrefix).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../../src/sim/errors.ts";
import { decodeKubeProtobuf } from "../../../src/sim/protobuf.ts";
import { hasKubectl, startCapture, type Capturer } from "./kubectl-capture.ts";

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`./fixtures/${name}.bin`, import.meta.url)));

const expected = {
  namespace: {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "x" },
    spec: {},
    status: {},
  },
  deployment: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "nginx", image: "nginx:1.25", resources: {} }] },
      },
      strategy: {},
    },
    status: {},
  },
  configmap: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } },
  // Secret.data is map<string, bytes>: base64 in JSON ("v" -> "dg==").
  secret: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "dg==" } },
  serviceaccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa" } },
  // kubectl create service clusterip svc --tcp=80:8080 (ServicePort.targetPort is an IntOrString).
  service: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svc", labels: { app: "svc" } },
    spec: {
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector: { app: "svc" },
      type: "ClusterIP",
    },
    status: { loadBalancer: {} },
  },
} as const;

const commands: Record<keyof typeof expected, string[]> = {
  namespace: ["create", "namespace", "x"],
  deployment: ["create", "deployment", "web", "--image=nginx:1.25", "--replicas=2"],
  configmap: ["create", "configmap", "c", "--from-literal=a=b"],
  secret: ["create", "secret", "generic", "s", "--from-literal=k=v"],
  serviceaccount: ["create", "serviceaccount", "sa"],
  service: ["create", "service", "clusterip", "svc", "--tcp=80:8080"],
};

describe("decodeKubeProtobuf (committed kubectl 1.32 captures)", () => {
  for (const [name, object] of Object.entries(expected)) {
    it(`decodes ${name}`, () => {
      expect(decodeKubeProtobuf(fixture(name))).toEqual(object);
    });
  }

  it("rejects a body without the k8s\\0 prefix as a bad request", () => {
    expect(() => decodeKubeProtobuf(new TextEncoder().encode("{}"))).toThrow(
      expect.objectContaining({ code: 400 }) as unknown,
    );
  });

  it("answers 415 for a kind it cannot decode", () => {
    // runtime.Unknown{typeMeta{apiVersion "batch/v1", kind "Job"}}
    const typeMeta = [0x0a, 8, ...Buffer.from("batch/v1"), 0x12, 3, ...Buffer.from("Job")];
    const body = new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, typeMeta.length, ...typeMeta]);
    let error: unknown;
    try {
      decodeKubeProtobuf(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(415);
    expect((error as ApiError).reason).toBe("UnsupportedMediaType");
  });

  it("rejects a truncated body", () => {
    const body = fixture("deployment").subarray(0, 60);
    expect(() => decodeKubeProtobuf(body)).toThrow(ApiError);
  });
});

describe.skipIf(!hasKubectl)(
  "decodeKubeProtobuf on live kubectl captures (kubectl not installed)",
  () => {
    let capture: Capturer;
    beforeAll(async () => {
      capture = await startCapture();
    });
    afterAll(async () => {
      await capture.close();
    });

    for (const [name, args] of Object.entries(commands)) {
      it(`decodes what kubectl ${args.slice(0, 2).join(" ")} sends`, async () => {
        const requests = await capture.run(args);
        expect(requests).toHaveLength(1);
        const [request] = requests;
        expect(request?.contentType).toBe("application/vnd.kubernetes.protobuf");
        expect(decodeKubeProtobuf(request?.body ?? new Uint8Array())).toEqual(
          expected[name as keyof typeof expected],
        );
      });
    }
  },
);
