/**
 * The operator installed in the real cluster the way users install it (`kubectl apply -k` of an
 * overlay of config/ that swaps only the image, built from the Dockerfile without Docker), and its
 * security promises proved where a real authorizer and a real admission chain enforce them: every
 * e2e scenario against the in-cluster operator; RBAC equal to what the code needs; no write in a
 * target's namespace; the admission policy; the restricted namespace; probes and metrics;
 * sandbox containment; leader election with two replicas; an upgrade with a drill running.
 * Part of `npm run test:cluster`; skipped by name elsewhere.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RollbackDrill } from "../src/api/types.ts";
import {
  LABEL_DRILL_NAME,
  LABEL_DRILL_NAMESPACE,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from "../src/api/vocabulary.ts";
import { SCENARIOS, type ScenarioOptions } from "../src/scenarios/catalog.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { isSettled } from "../src/scenarios/outcome.ts";
import { clusterBackend, clusterMode } from "./backends/cluster.ts";
import { OciRegistry } from "./backends/oci-registry.ts";
import {
  install,
  OPERATOR_DEPLOYMENT,
  OPERATOR_NAMESPACE,
  OPERATOR_SERVICE_ACCOUNT,
  uninstall,
  type Installed,
} from "./cluster/install.ts";
import { BUSYBOX_IMAGE, runPodScript } from "./cluster/node.ts";
import { readInfo, type ClusterInfo } from "./cluster/state.ts";
import { PUSH_REGISTRY, PULL_REGISTRY } from "./cluster/topology.ts";
import { adapterNeeds, EVERYONE, needKey, parseCanIList, type Need } from "./rbac-needs.ts";
import { scenarioSuite } from "./suite.ts";

const exec = promisify(execFile);
const mode = clusterMode(process.env);
const backend = clusterBackend({ mode, operator: "deployed" });
const availability = await backend.available();
const TIMEOUT_MS = 300_000;

async function kubectl(info: ClusterInfo, args: string[], kubeconfig = info.kubeconfig) {
  return exec(info.kubectl, ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 64 << 20 });
}

/** kubectl's exit and output, for commands expected to fail (a denial). */
async function attempt(info: ClusterInfo, args: string[], kubeconfig = info.kubeconfig) {
  try {
    const { stdout, stderr } = await kubectl(info, args, kubeconfig);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** The image reference the overlay installs: the built repository, pinned by digest. */
function pinned(built: Installed): string {
  return `${built.image.slice(0, built.image.lastIndexOf(":"))}@${built.digest}`;
}

/** The operator's live pods (a reinstall's rollout may still be terminating the previous ones). */
async function operatorPods(info: ClusterInfo): Promise<Pod[]> {
  const { stdout } = await kubectl(info, ["-n", OPERATOR_NAMESPACE, "get", "pods", "-o", "json"]);
  return (JSON.parse(stdout) as { items: Pod[] }).items.filter(
    p => p.metadata.deletionTimestamp === undefined,
  );
}

/** A kubeconfig holding a real token of the operator's ServiceAccount (TokenRequest). */
async function operatorKubeconfig(info: ClusterInfo): Promise<string> {
  const { stdout: token } = await kubectl(info, [
    "-n",
    OPERATOR_NAMESPACE,
    "create",
    "token",
    "rollback-drill-operator",
    "--duration=1h",
  ]);
  const admin = readFileSync(info.kubeconfig, "utf8");
  const server = /server: (\S+)/.exec(admin)?.[1] ?? "";
  const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1] ?? "";
  const path = `${info.kubeconfig}.operator`;
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: " +
        server +
        ", certificate-authority-data: " +
        ca +
        "}}]",
      `users: [{name: op, user: {token: ${token.trim()}}}]`,
      "contexts: [{name: op, context: {cluster: c, user: op}}]",
      "current-context: op",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return path;
}

/**
 * The audit log's requests by the operator's ServiceAccount, as needs (verb, resource, group), and
 * the requests the authorizer refused: `forbidden` those never granted, `lagged` those granted
 * when sent again (the RBAC authorizer sees a fresh RoleBinding a moment after it is created; the
 * operator retries its sandbox writes through that lag, src/controller/reconcile.ts).
 */
function auditedNeeds(
  info: ClusterInfo,
  /** Only requests received from then on (the log also holds earlier runs' deliberate denials). */
  since: Date,
): { needs: Need[]; forbidden: string[]; lagged: string[] } {
  const needs = new Map<string, Need>();
  const refused: string[] = [];
  const granted = new Set<string>();
  for (const line of readFileSync(info.auditLog, "utf8").split("\n")) {
    if (!line.includes(OPERATOR_SERVICE_ACCOUNT)) continue;
    const event = JSON.parse(line) as {
      user: { username: string };
      verb: string;
      objectRef?: {
        resource?: string;
        subresource?: string;
        apiGroup?: string;
        namespace?: string;
      };
      responseStatus?: { code?: number };
      requestURI: string;
      requestReceivedTimestamp: string;
    };
    if (event.user.username !== OPERATOR_SERVICE_ACCOUNT || event.objectRef?.resource === undefined)
      continue;
    if (Date.parse(event.requestReceivedTimestamp) < since.getTime()) continue;
    const ref = event.objectRef;
    const need = {
      group: ref.apiGroup ?? "",
      resource: `${ref.resource ?? ""}${ref.subresource === undefined ? "" : `/${ref.subresource}`}`,
      verb: event.verb,
    };
    needs.set(needKey(need), need);
    const request = `${event.verb} ${event.requestURI}`;
    const code = event.responseStatus?.code ?? 0;
    if (code === 403) refused.push(request);
    else if (refused.includes(request) && code >= 200 && code < 300) granted.add(request);
  }
  return {
    needs: [...needs.values()],
    forbidden: refused.filter(r => !granted.has(r)),
    lagged: refused.filter(r => granted.has(r)),
  };
}

const keys = (needs: readonly Need[]): string[] =>
  [...new Set(needs.map(needKey).filter(k => !EVERYONE.has(k)))].sort();

describe.skipIf(!availability.ok)(
  `the operator installed in the real cluster from config/${availability.ok ? "" : ` (skipped: ${availability.reason})`}`,
  () => {
    let info: ClusterInfo;
    let installed: Installed | undefined;
    const began = new Date();

    beforeAll(async () => {
      const found = readInfo();
      if (found === undefined) throw new Error("no cluster is up");
      info = found;
      installed = await install(line => {
        console.log(line);
      });
    }, 1_200_000);

    afterAll(async () => {
      if (installed === undefined) return;
      await uninstall(line => {
        console.log(line);
      });
      // Nothing of the operator's is left: no sandbox namespace, no CRD, no operator namespace.
      const { stdout } = await kubectl(info, [
        "get",
        "namespaces",
        "-l",
        `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
        "-o",
        "name",
      ]);
      expect(stdout.trim()).toBe("");
      expect(
        (await attempt(info, ["get", "crd", "rollbackdrills.rollbackdrill.io"])).code,
      ).not.toBe(0);
    }, 600_000);

    it("runs as the README promises: 2 replicas Ready, restricted namespace, hardened pods", async () => {
      const pods = await operatorPods(info);
      expect(pods).toHaveLength(2);
      for (const pod of pods) {
        expect(
          pod.status.conditions?.find(c => c.type === "Ready")?.status,
          pod.metadata.name,
        ).toBe("True");
        const c = pod.spec.containers[0];
        expect(c?.image).toBe(installed === undefined ? "installed" : pinned(installed));
        expect(c?.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(pod.spec.securityContext).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(pod.status.containerStatuses?.[0]?.imageID).toContain(
          installed?.digest ?? "no digest",
        );
      }
      // Pod Security `restricted` is enforced there by the real API server: a privileged pod is refused.
      const privileged = await attempt(info, [
        "-n",
        OPERATOR_NAMESPACE,
        "run",
        "privileged-probe",
        `--image=${BUSYBOX_IMAGE}`,
        "--restart=Never",
        "--overrides",
        JSON.stringify({
          spec: {
            containers: [
              { name: "p", image: BUSYBOX_IMAGE, securityContext: { privileged: true } },
            ],
          },
        }),
      ]);
      expect(privileged.code).not.toBe(0);
      expect(privileged.output).toMatch(/violates PodSecurity "restricted:latest"/);
    });

    scenarioSuite(backend, { ok: true }, TIMEOUT_MS);

    describe("a failed drill's sandbox, kept for debugging", () => {
      const kept = { namespace: `contain-${String(Date.now() % 100000)}`, drill: "", sandbox: "" };
      let cluster: Cluster;

      beforeAll(async () => {
        const registry = new OciRegistry(`http://${PUSH_REGISTRY}`, {
          garbageCollect: async () => {
            const [gc = "", ...args] = info.registry.garbageCollect;
            await exec(gc, args);
          },
        });
        cluster = new Cluster({
          kubeconfig: info.kubeconfig,
          timeoutMs: 240_000,
          registry: () => registry,
        });
        const scenario = SCENARIOS.find(x => x.name === "retention-cart");
        if (scenario === undefined) throw new Error("no retention-cart scenario");
        const options: ScenarioOptions = {
          namespace: kept.namespace,
          stableSeconds: 3,
          suffix: `-${kept.namespace}`,
          registry: `${PULL_REGISTRY}/shop`,
        };
        await cluster.ensureNamespace(kept.namespace);
        // A Secret the drill does not list: it must not reach the sandbox.
        await kubectl(info, [
          "-n",
          kept.namespace,
          "create",
          "secret",
          "generic",
          "not-listed",
          "--from-literal=k=v",
        ]);
        const drill = await scenario.setup(cluster, options);
        kept.drill = drill.metadata.name;
        await cluster.applyDrill(drill as Parameters<Cluster["applyDrill"]>[0]);
        const done = await cluster.waitForDrill(kept.namespace, kept.drill, d => isSettled(d));
        expect(done.status?.lastRun?.reason).toBe("ImagePullFailed");
        kept.sandbox = done.status?.lastRun?.sandboxNamespace ?? "";
        expect(kept.sandbox).not.toBe("");
      }, TIMEOUT_MS);

      afterAll(async () => {
        await cluster.custom.deleteNamespacedCustomObject({
          group: "rollbackdrill.io",
          version: "v1alpha1",
          plural: "rollbackdrills",
          namespace: kept.namespace,
          name: kept.drill,
        });
        await cluster.until("drill deleted", async () =>
          (await cluster.listDrills(kept.namespace)).length === 0 ? true : undefined,
        );
        await cluster.deleteNamespace(kept.namespace);
      }, TIMEOUT_MS);

      it("contains the clone: no service-account token, default-deny NetworkPolicy, a ResourceQuota, no unlisted Secret", async () => {
        const { stdout } = await kubectl(info, [
          "-n",
          kept.sandbox,
          "get",
          "pods,networkpolicies,resourcequotas,secrets",
          "-o",
          "json",
        ]);
        const items = (
          JSON.parse(stdout) as {
            items: {
              kind: string;
              metadata: { name: string };
              spec?: Record<string, unknown>;
              status?: Record<string, unknown>;
            }[];
          }
        ).items;
        const pods = items.filter(i => i.kind === "Pod");
        expect(pods.length).toBeGreaterThan(0);
        for (const pod of pods) {
          expect(pod.spec?.["automountServiceAccountToken"], pod.metadata.name).toBe(false);
          const volumes = (pod.spec?.["volumes"] ?? []) as { name: string }[];
          expect(
            volumes.filter(v => v.name.startsWith("kube-api-access")),
            "no token volume",
          ).toEqual([]);
        }
        const policies = items.filter(i => i.kind === "NetworkPolicy");
        expect(policies.length).toBeGreaterThan(0);
        expect(policies.some(p => JSON.stringify(p.spec?.["policyTypes"]).includes("Egress"))).toBe(
          true,
        );
        // Note: this cluster's bridge CNI does not enforce NetworkPolicy; the object is checked, not its effect.
        const quotas = items.filter(i => i.kind === "ResourceQuota");
        expect(quotas.length).toBe(1);
        const used = (quotas[0]?.status?.["used"] ?? {}) as Record<string, string>;
        const hard = (quotas[0]?.status?.["hard"] ?? {}) as Record<string, string>;
        expect(
          Object.keys(hard).length,
          "the API server enforces the quota it reports",
        ).toBeGreaterThan(0);
        expect(Number(used["pods"] ?? "0")).toBeLessThanOrEqual(Number(hard["pods"] ?? "Infinity"));
        expect(items.filter(i => i.kind === "Secret").map(i => i.metadata.name)).not.toContain(
          "not-listed",
        );
        // The sandbox is labelled with the drill that owns it, as `kubectl get ns -l` shows users.
        const { stdout: labels } = await kubectl(info, [
          "get",
          "namespace",
          kept.sandbox,
          "-o",
          "jsonpath={.metadata.labels}",
        ]);
        expect(JSON.parse(labels)).toMatchObject({
          [LABEL_DRILL_NAME]: kept.drill,
          [LABEL_DRILL_NAMESPACE]: kept.namespace,
        });
      });

      it("RBAC: the real authorizer grants exactly what the code requests, and the operator sent nothing else", async () => {
        const source = readFileSync(new URL("../src/kube/client.ts", import.meta.url), "utf8");
        const needed = keys(adapterNeeds(source));
        const sandbox = kept.sandbox;
        const secretsNs = "rbac-secrets-probe";
        await kubectl(info, ["create", "namespace", secretsNs]);
        await kubectl(info, [
          "-n",
          secretsNs,
          "create",
          "rolebinding",
          "rollback-drill-secrets",
          "--clusterrole=rollback-drill-secret-reader",
          `--serviceaccount=${OPERATOR_NAMESPACE}:rollback-drill-operator`,
        ]);
        try {
          const granted: Need[] = [];
          for (const ns of [OPERATOR_NAMESPACE, sandbox, secretsNs, "default"]) {
            const { stdout } = await kubectl(info, [
              "auth",
              "can-i",
              "--list",
              "-n",
              ns,
              `--as=${OPERATOR_SERVICE_ACCOUNT}`,
            ]);
            granted.push(...parseCanIList(stdout));
          }
          expect(keys(granted)).toEqual(needed);
          const audited = auditedNeeds(info, began);
          expect(audited.needs.length, "the audit log has the operator's requests").toBeGreaterThan(
            10,
          );
          expect(
            keys(audited.needs).filter(k => !needed.includes(k)),
            "requests outside the code's needs",
          ).toEqual([]);
          expect(audited.forbidden, "requests the authorizer refused").toEqual([]);
          // A refusal granted on the retry is only ever a write in a sandbox the run just bound.
          for (const request of audited.lagged)
            expect(request, "refused, then granted").toMatch(
              /^create \/\S+\/namespaces\/rbd-[^/]+\//,
            );
          console.log(
            `RBAC: ${String(audited.lagged.length)} sandbox write(s) refused once while the fresh RoleBinding reached the authorizer, granted on the retry`,
          );
        } finally {
          await kubectl(info, ["delete", "namespace", secretsNs, "--wait=false"]);
        }
      });
    });

    it("cannot write in a target's namespace: can-i says no and a real attempt is refused", async () => {
      const op = await operatorKubeconfig(info);
      await kubectl(info, ["create", "namespace", "target-probe"]);
      try {
        for (const [verb, resource] of [
          ["create", "deployments.apps"],
          ["patch", "deployments.apps"],
          ["delete", "pods"],
          ["create", "configmaps"],
          ["create", "secrets"],
        ] as const) {
          const can = await attempt(
            info,
            ["auth", "can-i", verb, resource, "-n", "target-probe"],
            op,
          );
          expect(can.output.trim(), `${verb} ${resource}`).toBe("no");
        }
        const real = await attempt(
          info,
          ["-n", "target-probe", "create", "deployment", "intruder", `--image=${BUSYBOX_IMAGE}`],
          op,
        );
        expect(real.code).not.toBe(0);
        expect(real.output).toMatch(
          /forbidden: User "system:serviceaccount:rollback-drill-system:rollback-drill-operator" cannot create resource "deployments"/,
        );
      } finally {
        await kubectl(info, ["delete", "namespace", "target-probe", "--wait=false"]);
      }
    });

    it("the admission policy denies binding roles and deleting namespaces outside sandboxes, and allows them inside", async () => {
      const op = await operatorKubeconfig(info);
      const binding = (ns: string) => [
        "-n",
        ns,
        "create",
        "rolebinding",
        "probe",
        "--clusterrole=rollback-drill-sandbox",
        `--serviceaccount=${OPERATOR_NAMESPACE}:rollback-drill-operator`,
      ];
      await kubectl(info, ["create", "namespace", "policy-target"]);
      await kubectl(info, ["create", "namespace", "policy-sandbox"]);
      await kubectl(info, [
        "label",
        "namespace",
        "policy-sandbox",
        `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
      ]);
      try {
        // RBAC alone would allow both (rolebindings: create and bind on the sandbox role are cluster-wide).
        expect(
          (
            await attempt(
              info,
              ["auth", "can-i", "create", "rolebindings", "-n", "policy-target"],
              op,
            )
          ).output.trim(),
        ).toBe("yes");
        const outside = await attempt(info, binding("policy-target"), op);
        expect(outside.code).not.toBe(0);
        expect(outside.output).toContain(
          "rollback-drill may bind roles only inside its own sandbox namespaces",
        );
        expect(outside.output).toMatch(/ValidatingAdmissionPolicy 'rollback-drill-sandbox-only'/);
        const inside = await attempt(info, binding("policy-sandbox"), op);
        expect(inside.code, inside.output).toBe(0);
        const del = await attempt(
          info,
          ["delete", "namespace", "policy-target", "--wait=false"],
          op,
        );
        expect(del.code).not.toBe(0);
        expect(del.output).toContain("rollback-drill may delete only its own sandbox namespaces");
        const delSandbox = await attempt(
          info,
          ["delete", "namespace", "policy-sandbox", "--wait=false"],
          op,
        );
        expect(delSandbox.code, delSandbox.output).toBe(0);
      } finally {
        await attempt(info, [
          "delete",
          "namespace",
          "policy-target",
          "policy-sandbox",
          "--wait=false",
          "--ignore-not-found",
        ]);
      }
    });

    it("probes pass and the metrics Service serves every metric family the README lists", async () => {
      const { stdout: ip } = await kubectl(info, [
        "-n",
        OPERATOR_NAMESPACE,
        "get",
        "service",
        "rollback-drill-metrics",
        "-o",
        "jsonpath={.spec.clusterIP}",
      ]);
      const scraped = await runPodScript(
        info,
        "metrics-scrape",
        `wget -q -O - http://${ip.trim()}:8080/metrics`,
      );
      expect(scraped.phase, scraped.log).toBe("Succeeded");
      const metrics = scraped.log;
      const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
      const section = readme.slice(
        readme.indexOf("## Metrics and alerts"),
        readme.indexOf("## Configuration"),
      );
      const families = [
        ...section.matchAll(
          /`(rollbackdrill_[a-z_]+|controller_runtime_[a-z_]+|workqueue_[a-z_]+)/g,
        ),
      ].map(m => m[1] ?? "");
      expect(families.length).toBeGreaterThan(8);
      for (const family of families)
        expect(metrics, family).toMatch(new RegExp(`^# TYPE ${family} `, "m"));
    });

    it(
      "a private registry behind htpasswd: the clone pulls with the copied imagePullSecret once the team grants the Secret",
      async () => {
        const priv = info.registry.private;
        const ns = `private-${String(Date.now() % 100000)}`;
        const cluster = new Cluster({ kubeconfig: info.kubeconfig, timeoutMs: 240_000 });
        const registry = new OciRegistry(`http://${priv.push}`, { credentials: priv });
        const repository = `${priv.pull}/shop/private-web-${ns}`;
        // Without credentials the private registry refuses even to list tags.
        expect(
          (await fetch(`http://${priv.push}/v2/shop/private-web-${ns}/tags/list`)).status,
        ).toBe(401);
        const v1 = await registry.pushImage(repository, "1.0.0", { logLines: ["private 1.0.0"] });
        const v2 = await registry.pushImage(repository, "1.1.0", { logLines: ["private 1.1.0"] });
        await cluster.ensureNamespace(ns);
        await kubectl(info, [
          "-n",
          ns,
          "create",
          "secret",
          "docker-registry",
          "regcred",
          `--docker-server=${priv.pull}`,
          `--docker-username=${priv.username}`,
          `--docker-password=${priv.password}`,
        ]);
        await cluster.createDeployment({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "private-web", namespace: ns },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "private-web" } },
            template: {
              metadata: { labels: { app: "private-web" } },
              spec: {
                imagePullSecrets: [{ name: "regcred" }],
                containers: [{ name: "app", image: `${repository}@${v1}` }],
              },
            },
          },
        });
        await cluster.waitRolledOut(ns, "private-web");
        await cluster.setImage(ns, "private-web", "app", `${repository}@${v2}`);
        await cluster.waitRolledOut(ns, "private-web");
        const drill = (name: string) => ({
          apiVersion: "rollbackdrill.io/v1alpha1" as const,
          kind: "RollbackDrill" as const,
          metadata: { name, namespace: ns },
          spec: {
            targetRef: { kind: "Deployment" as const, name: "private-web" },
            checks: { stableSeconds: 3 },
            sandbox: { keepOnFailure: false },
          },
        });
        try {
          // The operator may read no Secret in this namespace yet: the run names the one it needs.
          await cluster.applyDrill(drill("without-grant") as Parameters<Cluster["applyDrill"]>[0]);
          const refused = await cluster.waitForDrill(ns, "without-grant", d => isSettled(d));
          expect(refused.status?.lastRun?.verdict, refused.status?.lastRun?.message).not.toBe(
            "Passed",
          );
          expect(refused.status?.lastRun?.message).toContain("regcred");
          await kubectl(info, [
            "-n",
            ns,
            "create",
            "rolebinding",
            "rollback-drill-secrets",
            "--clusterrole=rollback-drill-secret-reader",
            `--serviceaccount=${OPERATOR_NAMESPACE}:rollback-drill-operator`,
          ]);
          await cluster.applyDrill(drill("with-grant") as Parameters<Cluster["applyDrill"]>[0]);
          const passed = await cluster.waitForDrill(ns, "with-grant", d => isSettled(d));
          expect(passed.status?.lastRun?.verdict, passed.status?.lastRun?.message).toBe("Passed");
          const evidence = passed.status?.lastRun?.evidence?.[0];
          expect(evidence?.fromDigest).toBe(v2);
          expect(evidence?.toDigest).toBe(v1);
          // The same secret attached to the Pods' ServiceAccount instead of their template: the
          // admission plugin gives it to production's Pods, and the sandbox's must get it too.
          await kubectl(info, ["-n", ns, "create", "serviceaccount", "puller"]);
          await kubectl(info, [
            "-n",
            ns,
            "patch",
            "serviceaccount",
            "puller",
            "--type=merge",
            "-p",
            JSON.stringify({ imagePullSecrets: [{ name: "regcred" }] }),
          ]);
          await cluster.createDeployment({
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "via-account", namespace: ns },
            spec: {
              replicas: 1,
              selector: { matchLabels: { app: "via-account" } },
              template: {
                metadata: { labels: { app: "via-account" } },
                spec: {
                  serviceAccountName: "puller",
                  containers: [{ name: "app", image: `${repository}@${v1}` }],
                },
              },
            },
          });
          await cluster.waitRolledOut(ns, "via-account");
          await cluster.setImage(ns, "via-account", "app", `${repository}@${v2}`);
          await cluster.waitRolledOut(ns, "via-account");
          await cluster.applyDrill({
            ...drill("via-account"),
            spec: {
              ...drill("via-account").spec,
              targetRef: { kind: "Deployment", name: "via-account" },
            },
          } as Parameters<Cluster["applyDrill"]>[0]);
          const viaAccount = await cluster.waitForDrill(ns, "via-account", d => isSettled(d));
          expect(viaAccount.status?.lastRun?.verdict, viaAccount.status?.lastRun?.message).toBe(
            "Passed",
          );
          expect(viaAccount.status?.lastRun?.evidence?.[0]?.toDigest).toBe(v1);
        } finally {
          for (const name of ["without-grant", "with-grant", "via-account"])
            await cluster.custom
              .deleteNamespacedCustomObject({
                group: "rollbackdrill.io",
                version: "v1alpha1",
                plural: "rollbackdrills",
                namespace: ns,
                name,
              })
              .catch(() => undefined);
          await cluster.until("drills deleted", async () =>
            (await cluster.listDrills(ns)).length === 0 ? true : undefined,
          );
          await cluster.deleteNamespace(ns);
        }
      },
      TIMEOUT_MS,
    );

    it(
      "leader election: the leader pod deleted mid-drill, the other replica finishes it once, with one sandbox",
      async () => {
        const cluster = new Cluster({ kubeconfig: info.kubeconfig, timeoutMs: 240_000 });
        const options: ScenarioOptions = {
          namespace: `leader-${String(Date.now() % 100000)}`,
          stableSeconds: 20,
          suffix: `-le${String(Date.now() % 1000)}`,
          registry: `${PULL_REGISTRY}/shop`,
        };
        const registry = new OciRegistry(`http://${PUSH_REGISTRY}`);
        const scenario = SCENARIOS.find(s => s.name === "pinned-web");
        if (scenario === undefined) throw new Error("no pinned-web scenario");
        const withRegistry = new Cluster({
          kubeconfig: info.kubeconfig,
          timeoutMs: 240_000,
          registry: () => registry,
        });
        await withRegistry.ensureNamespace(options.namespace);
        const drill = await scenario.setup(withRegistry, options);
        const lease = async () =>
          (
            await kubectl(info, [
              "-n",
              OPERATOR_NAMESPACE,
              "get",
              "lease",
              "rollback-drill-leader",
              "-o",
              "jsonpath={.spec.holderIdentity}",
            ])
          ).stdout.trim();
        const leader = await lease();
        expect(leader).toMatch(/^rollback-drill-operator-/);
        await cluster.applyDrill(drill as Parameters<Cluster["applyDrill"]>[0]);
        // Mid-drill: once its sandbox exists and before the verdict.
        await cluster.waitForDrill(
          options.namespace,
          drill.metadata.name,
          d => d.status?.currentRun?.sandboxNamespace !== undefined,
        );
        await kubectl(info, ["-n", OPERATOR_NAMESPACE, "delete", "pod", leader, "--wait=false"]);
        const deletedAt = Date.now();
        let next = leader;
        while (next === leader || next === "") {
          next = await lease();
          if (Date.now() - deletedAt > 60_000)
            throw new Error(`no new leader 60 s after deleting ${leader}`);
          await new Promise(r => setTimeout(r, 500));
        }
        const takeoverSeconds = (Date.now() - deletedAt) / 1000;
        expect(takeoverSeconds, "within the lease duration and a retry period").toBeLessThan(20);
        const done = await cluster.waitForDrill(options.namespace, drill.metadata.name, d =>
          isSettled(d),
        );
        expect(done.status?.lastRun?.verdict, done.status?.lastRun?.message).toBe("Passed");
        expect(done.status?.history ?? [], "one run").toHaveLength(1);
        const sandboxes = await kubectl(info, [
          "get",
          "namespaces",
          "-l",
          `${LABEL_DRILL_NAME}=${drill.metadata.name},${LABEL_DRILL_NAMESPACE}=${options.namespace}`,
          "-o",
          "name",
        ]);
        expect(
          sandboxes.stdout
            .trim()
            .split("\n")
            .filter(l => l !== "").length,
          "no sandbox left, none made twice",
        ).toBe(0);
        const events = (
          await kubectl(info, [
            "-n",
            options.namespace,
            "get",
            "events",
            "--field-selector",
            `involvedObject.name=${drill.metadata.name}`,
            "-o",
            "jsonpath={.items[*].reason}",
          ])
        ).stdout;
        expect(
          events.split(" ").filter(r => r === "SandboxCreated").length,
          events,
        ).toBeLessThanOrEqual(1);
        await cluster.custom.deleteNamespacedCustomObject({
          group: "rollbackdrill.io",
          version: "v1alpha1",
          plural: "rollbackdrills",
          namespace: options.namespace,
          name: drill.metadata.name,
        });
        await cluster.until("drill deleted", async () =>
          (await cluster.listDrills(options.namespace)).length === 0 ? true : undefined,
        );
        await cluster.deleteNamespace(options.namespace);
      },
      TIMEOUT_MS,
    );

    it(
      "upgrade: a new operator version rolled out with a drill running loses no drill and runs none twice",
      async () => {
        const cluster = new Cluster({ kubeconfig: info.kubeconfig, timeoutMs: 240_000 });
        const registry = new OciRegistry(`http://${PUSH_REGISTRY}`);
        const withRegistry = new Cluster({
          kubeconfig: info.kubeconfig,
          timeoutMs: 240_000,
          registry: () => registry,
        });
        const options: ScenarioOptions = {
          namespace: `upgrade-${String(Date.now() % 100000)}`,
          stableSeconds: 20,
          suffix: `-up${String(Date.now() % 1000)}`,
          registry: `${PULL_REGISTRY}/shop`,
        };
        await withRegistry.ensureNamespace(options.namespace);
        const names: string[] = [];
        for (const s of SCENARIOS.filter(
          x => x.name === "pinned-web" || x.name === "no-history-search",
        )) {
          const drill = await s.setup(withRegistry, options);
          await cluster.applyDrill(drill as Parameters<Cluster["applyDrill"]>[0]);
          names.push(drill.metadata.name);
        }
        await cluster.waitForDrill(
          options.namespace,
          "pinned-web",
          d => d.status?.currentRun?.sandboxNamespace !== undefined,
        );
        // The next version: the same sources built as version "next" (a new image, by its label),
        // the CRD and the overlay re-applied with it; the install waits for the rollout.
        const next = await install(line => {
          console.log(line);
        }, "next");
        expect(next.digest).not.toBe(installed?.digest);
        const { stdout } = await kubectl(info, [
          "-n",
          OPERATOR_NAMESPACE,
          "get",
          "deployment",
          OPERATOR_DEPLOYMENT,
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        ]);
        expect(stdout).toBe(pinned(next));
        const pods = await operatorPods(info);
        expect(pods.length).toBeGreaterThan(0);
        for (const pod of pods)
          expect(pod.status.containerStatuses?.[0]?.imageID ?? "", pod.metadata.name).toContain(
            next.digest,
          );
        for (const name of names) {
          const done: RollbackDrill = await cluster.waitForDrill(options.namespace, name, d =>
            isSettled(d),
          );
          expect(done.status?.history ?? [], `${name} ran once`).toHaveLength(1);
        }
        expect(
          (await cluster.listDrills(options.namespace)).map(d => d.metadata.name).sort(),
        ).toEqual([...names].sort());
        for (const name of names)
          await cluster.custom.deleteNamespacedCustomObject({
            group: "rollbackdrill.io",
            version: "v1alpha1",
            plural: "rollbackdrills",
            namespace: options.namespace,
            name,
          });
        await cluster.until("drills deleted", async () =>
          (await cluster.listDrills(options.namespace)).length === 0 ? true : undefined,
        );
        await cluster.deleteNamespace(options.namespace);
      },
      TIMEOUT_MS,
    );
  },
);

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: {
    securityContext?: Record<string, unknown>;
    containers: { image: string; securityContext?: Record<string, unknown> }[];
  };
  status: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { imageID: string }[];
  };
}
