/**
 * Issue 7 (d), containment, proven on a running sandbox: its NetworkPolicy, evaluated rule by
 * rule, lets the clone reach DNS and nothing else; the clone has no service account token; it
 * gets only the Secrets it must (image pull secrets, and those the spec lists), and without the
 * list the run ends SandboxError naming the Secret; it runs under the sandbox's ResourceQuota;
 * and nothing in the target's namespace is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { LABEL_DRILL_UID } from "../../src/api/vocabulary.ts";
import type { Sim } from "../../src/sim/index.ts";
import type { GVR, KubeObject } from "../../src/sim/types.ts";
import {
  CONFIGMAPS,
  DEPLOYMENTS,
  PODS,
  SECRETS,
  SERVICEACCOUNTS,
  deploy as deployTarget,
  startSimWithDrills,
} from "../kit/index.ts";
import {
  ADMIN,
  createDrill,
  getDrill,
  NAMESPACES,
  startOperatorOn,
  waitFor,
  waitSettled,
  type OperatorHandle,
} from "./harness.ts";
import { egressAllowed, type Destination, type Policy } from "./netpol.ts";

const gvr = (group: string, resource: string): GVR => ({
  group,
  version: "v1",
  resource,
});
const POLICIES = gvr("networking.k8s.io", "networkpolicies");
const QUOTAS = gvr("", "resourcequotas");
const NS = "shop";
const REPO = "registry.example.com/shop/web";

function create(sim: Sim, resource: GVR, object: KubeObject): void {
  sim.store.create(resource, object, ADMIN);
}

/** The target: pods that reference a ConfigMap, a Secret, a ServiceAccount and a pull secret. */
async function deploy(sim: Sim, image: string): Promise<void> {
  await deployTarget(sim, NS, "web", image, {
    replicas: 2,
    pod: { serviceAccountName: "web", imagePullSecrets: [{ name: "regcred" }] },
    container: {
      envFrom: [{ configMapRef: { name: "web-config" } }],
      env: [
        {
          name: "DB_PASSWORD",
          valueFrom: { secretKeyRef: { name: "db-password", key: "password" } },
        },
      ],
    },
  });
}

function drill(name: string, sandbox: Record<string, unknown>) {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1" as const,
    kind: "RollbackDrill" as const,
    metadata: { name, namespace: NS },
    spec: {
      targetRef: { kind: "Deployment" as const, name: "web" },
      checks: { stableSeconds: 3000, timeoutSeconds: 7200 },
      sandbox: { keepOnFailure: false, ...sandbox },
    },
  };
}

function names(sim: Sim, resource: GVR, namespace: string): string[] {
  return sim.store
    .list(resource, { namespace })
    .items.map(o => o.metadata.name ?? "")
    .sort();
}

describe("a sandbox's containment", () => {
  let sim: Sim;
  let operator: OperatorHandle;
  let startSeq: number;
  let running: RollbackDrill;
  let sandbox: string;

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    create(sim, NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    create(sim, SERVICEACCOUNTS, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "web", namespace: NS },
    });
    create(sim, CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "web-config", namespace: NS },
      data: { MODE: "prod" },
    });
    for (const name of ["regcred", "db-password", "stripe-live-key"])
      create(sim, SECRETS, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: NS },
        data: { password: Buffer.from(`${name}-value`).toString("base64") },
      });
    const v1 = sim.world.images.push(REPO, "1.0");
    const v2 = sim.world.images.push(REPO, "2.0");
    await deploy(sim, `${REPO}@${v1}`);
    await deploy(sim, `${REPO}@${v2}`);
    startSeq = sim.audit.entries().at(-1)?.seq ?? 0;
    operator = await startOperatorOn(sim, { id: "operator" });
    running = createDrill(sim, drill("contained", { copySecrets: ["db-password"] }));
    sandbox = await waitFor(sim, "the clone rolled back and Ready", () => {
      const run = getDrill(sim, NS, "contained")?.status?.currentRun;
      return run?.readyTime === undefined ? undefined : run.sandboxNamespace;
    });
  });
  afterAll(async () => {
    await operator.kill();
    await sim.close();
  });

  it("denies every egress but DNS, evaluated rule by rule", () => {
    const policies: Policy[] = sim.store
      .list(POLICIES, { namespace: sandbox })
      .items.map(p => ({ namespace: sandbox, spec: p["spec"] as Policy["spec"] }));
    expect(policies.length).toBeGreaterThan(0);
    const pods = sim.store.list(PODS, { namespace: sandbox }).items;
    expect(pods.length).toBeGreaterThan(0);
    const system = { "kubernetes.io/metadata.name": "kube-system" };
    const shop = { "kubernetes.io/metadata.name": NS };
    const dns = (protocol: "TCP" | "UDP", port: number): Destination => ({
      kind: "pod",
      namespace: "kube-system",
      namespaceLabels: system,
      labels: { "k8s-app": "kube-dns" },
      protocol,
      port,
    });
    const denied: [string, Destination][] = [
      ["kube-dns on a port but 53", dns("TCP", 8080)],
      [
        "production's pods",
        {
          kind: "pod",
          namespace: NS,
          namespaceLabels: shop,
          labels: { app: "web" },
          protocol: "TCP",
          port: 8080,
        },
      ],
      [
        "production's database",
        {
          kind: "pod",
          namespace: NS,
          namespaceLabels: shop,
          labels: { app: "postgres" },
          protocol: "TCP",
          port: 5432,
        },
      ],
      [
        "the sandbox's own pods",
        {
          kind: "pod",
          namespace: sandbox,
          namespaceLabels: {},
          labels: { app: "web" },
          protocol: "TCP",
          port: 8080,
        },
      ],
      [
        "another kube-system pod on 53",
        {
          kind: "pod",
          namespace: "kube-system",
          namespaceLabels: system,
          labels: { app: "metrics" },
          protocol: "UDP",
          port: 53,
        },
      ],
      ["the apiserver", { kind: "ip", ip: "10.96.0.1", protocol: "TCP", port: 443 }],
      [
        "the cloud metadata service",
        { kind: "ip", ip: "169.254.169.254", protocol: "TCP", port: 80 },
      ],
      ["the internet", { kind: "ip", ip: "93.184.216.34", protocol: "TCP", port: 443 }],
      ["a public resolver", { kind: "ip", ip: "8.8.8.8", protocol: "UDP", port: 53 }],
    ];
    for (const pod of pods) {
      const source = { namespace: sandbox, labels: pod.metadata.labels ?? {} };
      expect(egressAllowed(policies, source, dns("UDP", 53))).toBe(true);
      expect(egressAllowed(policies, source, dns("TCP", 53))).toBe(true);
      for (const [what, dest] of denied)
        expect(egressAllowed(policies, source, dest), what).toBe(false);
    }
    // The evaluator is not vacuous: without the policy everything is allowed.
    expect(
      egressAllowed([], { namespace: sandbox, labels: {} }, denied[0]?.[1] ?? dns("TCP", 1)),
    ).toBe(true);
  });

  it("gives the clone no service account token", () => {
    const clone = sim.store.get(DEPLOYMENTS, sandbox, "web");
    const template = (clone?.["spec"] as { template: { spec: Record<string, unknown> } }).template;
    expect(template.spec["automountServiceAccountToken"]).toBe(false);
    for (const pod of sim.store.list(PODS, { namespace: sandbox }).items)
      expect((pod["spec"] as Record<string, unknown>)["automountServiceAccountToken"]).toBe(false);
    const accounts = sim.store.list(SERVICEACCOUNTS, { namespace: sandbox }).items;
    const web = accounts.find(a => a.metadata.name === "web");
    expect(web?.["automountServiceAccountToken"]).toBe(false);
    // No token Secret was minted for any of them.
    const tokens = sim.store
      .list(SECRETS, { namespace: sandbox })
      .items.filter(s => s["type"] === "kubernetes.io/service-account-token");
    expect(tokens).toEqual([]);
  });

  it("copies only the pull secret and the listed Secret, and the referenced ConfigMap", () => {
    expect(names(sim, SECRETS, sandbox)).toEqual(["db-password", "regcred"]);
    expect(names(sim, CONFIGMAPS, sandbox)).toContain("web-config");
  });

  it("runs under the sandbox's ResourceQuota", () => {
    const quotas = sim.store.list(QUOTAS, { namespace: sandbox }).items;
    expect(quotas).toHaveLength(1);
    const hard = (quotas[0]?.["spec"] as { hard: Record<string, string> }).hard;
    expect(hard["services"]).toBe("0");
    const pods = sim.store
      .list(PODS, { namespace: sandbox })
      .items.filter(p => p.metadata.deletionTimestamp === undefined);
    expect(pods.length).toBeLessThanOrEqual(Number(hard["pods"]));
    // One replica, whatever production runs.
    const clone = sim.store.get(DEPLOYMENTS, sandbox, "web");
    expect((clone?.["spec"] as { replicas: number }).replicas).toBe(1);
  });

  it("without the Secret listed, ends SandboxError naming it, and copies no Secret", async () => {
    createDrill(sim, drill("no-secrets", {}));
    const done = await waitSettled(sim, NS, "no-secrets");
    expect(done.status?.lastRun?.reason).toBe("SandboxError");
    expect(done.status?.lastRun?.message).toContain('Secret "db-password"');
    const secretsMade = sim.audit
      .entries({ source: "request", resource: "secrets", verb: "create" })
      .filter(e => e.seq > startSeq && e.namespace !== sandbox);
    expect(secretsMade).toEqual([]);
  });

  it("writes nothing in the target's namespace but drills and Events", () => {
    const writes = sim.audit
      .entries({ source: "request", namespace: NS })
      .filter(e => e.seq > startSeq && !["get", "list", "watch"].includes(e.verb))
      .filter(e => e.resource !== "rollbackdrills" && e.resource !== "events")
      .map(e => `${e.verb} ${e.resource}/${e.name ?? ""}`);
    expect(writes).toEqual([]);
    expect(running.metadata.uid).not.toBe("");
    expect(
      sim.store.list(NAMESPACES, { labelSelector: `${LABEL_DRILL_UID}=${running.metadata.uid}` })
        .items,
    ).toHaveLength(1);
  });
});
