/**
 * Captures what the real kubectl sends: a bare node:http server answers version and discovery
 * (plain APIResourceList, see docs/KUBE-SIM.md "kubectl on the wire") and records every POST body, so tests can
 * decode the protobuf kubectl's imperative generators send.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const KUBECTL = "/usr/bin/kubectl";
export const hasKubectl = existsSync(KUBECTL);

export interface CapturedRequest {
  method: string;
  path: string;
  contentType: string;
  body: Uint8Array;
}

const coreResources = [
  ["namespaces", "Namespace", false],
  ["configmaps", "ConfigMap", true],
  ["secrets", "Secret", true],
  ["serviceaccounts", "ServiceAccount", true],
  ["services", "Service", true],
  ["pods", "Pod", true],
] as const;

function resourceList(groupVersion: string, rows: readonly (readonly [string, string, boolean])[]) {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: rows.map(([name, kind, namespaced]) => ({
      name,
      singularName: kind.toLowerCase(),
      namespaced,
      kind,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    })),
  };
}

const discovery: Record<string, unknown> = {
  "/version": { major: "1", minor: "32", gitVersion: "v1.32.4", platform: "linux/amd64" },
  "/api": {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:0" }],
  },
  "/apis": {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [
      {
        name: "apps",
        versions: [{ groupVersion: "apps/v1", version: "v1" }],
        preferredVersion: { groupVersion: "apps/v1", version: "v1" },
      },
    ],
  },
  "/api/v1": resourceList("v1", coreResources),
  "/apis/apps/v1": resourceList("apps/v1", [["deployments", "Deployment", true]]),
};

const kindByResource: Record<string, [string, string]> = {
  namespaces: ["v1", "Namespace"],
  configmaps: ["v1", "ConfigMap"],
  secrets: ["v1", "Secret"],
  serviceaccounts: ["v1", "ServiceAccount"],
  services: ["v1", "Service"],
  pods: ["v1", "Pod"],
  deployments: ["apps/v1", "Deployment"],
};

function answer(
  req: IncomingMessage,
  res: ServerResponse,
  body: Uint8Array,
  log: CapturedRequest[],
) {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const known = discovery[path];
  res.setHeader("Content-Type", "application/json");
  if (req.method === "GET" && known !== undefined) {
    res.end(JSON.stringify(known));
    return;
  }
  if (req.method === "POST") {
    log.push({
      method: "POST",
      path,
      contentType: req.headers["content-type"] ?? "",
      body,
    });
    const resource = path.split("/").at(-1) ?? "";
    const [apiVersion, kind] = kindByResource[resource] ?? ["v1", "Status"];
    res.statusCode = 201;
    res.end(
      JSON.stringify({ apiVersion, kind, metadata: { name: "captured", namespace: "default" } }),
    );
    return;
  }
  res.statusCode = 404;
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
    }),
  );
}

export interface Capturer {
  /** Runs kubectl with these args against the server; resolves with the POSTs it sent. */
  run(args: string[]): Promise<CapturedRequest[]>;
  close(): Promise<void>;
}

export async function startCapture(): Promise<Capturer> {
  let log: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      answer(req, res, new Uint8Array(Buffer.concat(chunks)), log);
    });
  });
  await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const dir = await mkdtemp(join(tmpdir(), "kubectl-capture-"));
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: sim, cluster: {server: 'http://127.0.0.1:" + String(port) + "'}}]",
      "users: [{name: sim, user: {}}]",
      "contexts: [{name: sim, context: {cluster: sim, user: sim, namespace: default}}]",
      "current-context: sim",
    ].join("\n"),
  );
  return {
    async run(args) {
      log = [];
      await new Promise<void>((resolve, reject) => {
        execFile(
          KUBECTL,
          args,
          { env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, "cache") } },
          (error, _stdout, stderr) => {
            if (error) reject(new Error(`kubectl ${args.join(" ")} failed: ${stderr}`));
            else resolve();
          },
        );
      });
      return log;
    },
    async close() {
      await new Promise<void>(resolve =>
        server.close(() => {
          resolve();
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
