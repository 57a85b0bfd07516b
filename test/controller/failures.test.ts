/**
 * Issue 4's remaining verdicts on the simulator, through the real adapter: a sidecar or an init
 * container as the only failing one, pods that go unready within stableSeconds, a Helm-managed
 * target; then the six catalogue scenarios side by side, `kubectl get rollbackdrills -A` showing
 * their verdict columns, and the audit log proving that nothing but drills (status, finalizers)
 * and Events was written in a target's namespace.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { LABEL_DRILL_UID } from "../../src/api/vocabulary.ts";
import type { Sim } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import { DEPLOYMENTS, PODS, startSimWithDrills, waitRolledOut } from "../kit/index.ts";
import {
  ADMIN,
  createDrill,
  getDrill,
  NAMESPACES,
  outcomes,
  sandboxNamespaces,
  setUpBatch,
  startOperatorOn,
  trackSandboxes,
  waitFor,
  waitSettled,
  type OperatorHandle,
  type PlannedDrill,
} from "../reliability/harness.ts";

const REPO = "registry.example.com/shop";
const KUBECTL = "/usr/bin/kubectl";

interface PodSpec {
  containers: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
}

/** Creates or updates a Deployment with this pod spec and waits until it has rolled out. */
async function rollOut(sim: Sim, namespace: string, name: string, spec: PodSpec): Promise<void> {
  const existing = sim.store.get(DEPLOYMENTS, namespace, name);
  const body: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec },
    },
  };
  const written =
    existing === undefined
      ? sim.store.create(DEPLOYMENTS, body, ADMIN)
      : sim.store.update(DEPLOYMENTS, { ...existing, spec: body["spec"] }, ADMIN);
  const generation = written.metadata.generation ?? 0;
  await waitRolledOut(sim, namespace, name, generation);
}

function drillFor(namespace: string, name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1" as const,
    kind: "RollbackDrill" as const,
    metadata: { name, namespace },
    spec: {
      targetRef: { kind: "Deployment" as const, name },
      checks: { stableSeconds: 5, timeoutSeconds: 7200 },
      // A failed run's sandbox goes at once, so each test ends with none left.
      sandbox: { keepOnFailure: false },
      ...spec,
    },
  };
}

/** Everything written over HTTP since `fromSeq` in these namespaces, but drills and Events. */
function foreignWrites(sim: Sim, namespaces: readonly string[], fromSeq: number): string[] {
  return sim.audit
    .entries({ source: "request" })
    .filter(e => e.seq > fromSeq && namespaces.includes(e.namespace ?? ""))
    .filter(e => !["get", "list", "watch"].includes(e.verb))
    .filter(e => !(e.resource === "rollbackdrills" || e.resource === "events"))
    .map(e => `${e.verb} ${e.resource}${e.subresource === undefined ? "" : `/${e.subresource}`}`);
}

describe("verdicts on the simulator, each from its own failure", () => {
  let sim: Sim;
  let operator: OperatorHandle;
  let startSeq: number;
  const namespaces: string[] = [];

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    operator = await startOperatorOn(sim, { id: "operator" });
    startSeq = sim.audit.entries().at(-1)?.seq ?? 0;
  });
  afterAll(async () => {
    // Issue 4: the operator wrote nothing in any target namespace but drills and Events.
    expect(foreignWrites(sim, namespaces, startSeq)).toEqual([]);
    await operator.kill();
    await sim.close();
  });

  const namespace = (name: string): string => {
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      ADMIN,
    );
    namespaces.push(name);
    return name;
  };

  it("fails naming the sidecar when only the sidecar's old image is gone", async () => {
    const ns = namespace("sidecar");
    const images = sim.world.images;
    const app1 = images.push(`${REPO}/app`, "1.0");
    const app2 = images.push(`${REPO}/app`, "2.0");
    const proxy1 = images.push(`${REPO}/proxy`, "1.0");
    const proxy2 = images.push(`${REPO}/proxy`, "1.1");
    const spec = (app: string, proxy: string): PodSpec => ({
      containers: [
        { name: "app", image: `${REPO}/app@${app}` },
        { name: "proxy", image: `${REPO}/proxy@${proxy}` },
      ],
    });
    await rollOut(sim, ns, "web", spec(app1, proxy1));
    await rollOut(sim, ns, "web", spec(app2, proxy2));
    images.deleteDigest(`${REPO}/proxy`, proxy1);
    createDrill(sim, drillFor(ns, "web"));
    const run = (await waitSettled(sim, ns, "web")).status?.lastRun;
    expect({ verdict: run?.verdict, reason: run?.reason }, run?.message).toEqual({
      verdict: "Failed",
      reason: "ImagePullFailed",
    });
    expect(run?.message).toContain('sidecar container "proxy"');
    expect(run?.message).not.toContain('container "app"');
  });

  it("fails naming the init container when only it crashes after the rollback", async () => {
    const ns = namespace("init");
    const images = sim.world.images;
    images.createDatabase("init-prod", 1);
    images.createDatabase("init-staging", 1);
    const app1 = images.push(`${REPO}/ledger`, "1.0");
    const app2 = images.push(`${REPO}/ledger`, "2.0");
    // The init container runs the schema check: 1.0 refuses schema 2, 2.0 migrates to it.
    const init = { crashAfterMs: 50, exitCode: 0 };
    const m1 = images.push(`${REPO}/ledger-migrate`, "1.0", { ...init, supportsUpTo: 1 });
    const m2 = images.push(`${REPO}/ledger-migrate`, "2.0", { ...init, migratesTo: 2 });
    const spec = (app: string, migrate: string): PodSpec => ({
      initContainers: [
        {
          name: "migrate",
          image: `${REPO}/ledger-migrate@${migrate}`,
          env: [{ name: "DATABASE_URL", value: "init-prod" }],
        },
      ],
      containers: [{ name: "app", image: `${REPO}/ledger@${app}` }],
    });
    await rollOut(sim, ns, "ledger", spec(app1, m1));
    await rollOut(sim, ns, "ledger", spec(app2, m2));
    createDrill(
      sim,
      drillFor(ns, "ledger", {
        sandbox: {
          keepOnFailure: false,
          env: [{ container: "migrate", name: "DATABASE_URL", value: "init-staging" }],
        },
      }),
    );
    const run = (await waitSettled(sim, ns, "ledger")).status?.lastRun;
    expect({ verdict: run?.verdict, reason: run?.reason }, run?.message).toEqual({
      verdict: "Failed",
      reason: "CrashLoop",
    });
    expect(run?.message).toContain('init container "migrate"');
    expect(run?.message).toContain("newer than this build supports");
    expect(sim.world.images.databaseVersion("init-prod")).toBe(2);
  });

  it("fails with PodsNotReady when the rolled-back pods go unready within stableSeconds", async () => {
    const ns = namespace("flaky");
    const images = sim.world.images;
    // A slow pull, so a replaced pod stays unready long enough for the operator to see it.
    const v1 = images.push(`${REPO}/flaky`, "1.0", { pullMs: 30_000 });
    const v2 = images.push(`${REPO}/flaky`, "2.0");
    await rollOut(sim, ns, "flaky", {
      containers: [{ name: "app", image: `${REPO}/flaky@${v1}` }],
    });
    await rollOut(sim, ns, "flaky", {
      containers: [{ name: "app", image: `${REPO}/flaky@${v2}` }],
    });
    const drill = createDrill(
      sim,
      drillFor(ns, "flaky", { checks: { stableSeconds: 3000, timeoutSeconds: 7200 } }),
    );
    const sandbox = await waitFor(sim, "the rolled-back pods Ready", () => {
      const run = getDrill(sim, ns, "flaky")?.status?.currentRun;
      return run?.readyTime === undefined ? undefined : run.sandboxNamespace;
    });
    // The pod goes away within the stable window (as a node failure would take it).
    const pods = sim.store
      .list(PODS, { namespace: sandbox, labelSelector: `${LABEL_DRILL_UID}=${drill.metadata.uid}` })
      .items.filter(p => p.metadata.deletionTimestamp === undefined);
    expect(pods).toHaveLength(1);
    sim.store.delete(PODS, sandbox, pods[0]?.metadata.name ?? "", ADMIN);
    const run = (await waitSettled(sim, ns, "flaky")).status?.lastRun;
    expect({ verdict: run?.verdict, reason: run?.reason }, run?.message).toEqual({
      verdict: "Failed",
      reason: "PodsNotReady",
    });
    expect(run?.message).toContain("did not stay Ready for 3000s");
  });
});

describe("the six scenarios side by side", () => {
  let sim: Sim;
  let operator: OperatorHandle;
  let planned: PlannedDrill[];
  let drills: RollbackDrill[];
  let startSeq: number;

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    planned = await setUpBatch(sim, { count: 6, prefix: "side", stableSeconds: 5 });
    const tracker = trackSandboxes(sim);
    startSeq = sim.audit.entries().at(-1)?.seq ?? 0;
    operator = await startOperatorOn(sim, { id: "operator" });
    for (const { manifest } of planned) createDrill(sim, manifest);
    drills = [];
    for (const { manifest } of planned)
      drills.push(await waitSettled(sim, manifest.metadata.namespace, manifest.metadata.name));
    await waitFor(sim, "no sandbox left", () =>
      sandboxNamespaces(sim).length === 0 ? true : undefined,
    );
    tracker.stop();
    const results = outcomes(sim, planned, tracker.byDrill);
    expect(results.filter(r => !r.correct)).toEqual([]);
  }, 60_000);
  afterAll(async () => {
    await operator.kill();
    await sim.close();
  });

  it("reports the Helm-managed target on its merits, with the helm command as a warning", () => {
    const helm = drills.find(d => d.metadata.name === "helm-billing");
    expect(helm?.status?.lastRun?.verdict).toBe("Passed");
    const warning = helm?.status?.warnings?.find(w => w.reason === "ExternallyManaged");
    expect(warning?.message).toContain(
      `helm rollback billing <release revision> -n ${helm?.metadata.namespace ?? ""}`,
    );
  });

  it("wrote nothing in the target namespaces but the drills (status, finalizers) and Events", () => {
    const namespaces = planned.map(p => p.manifest.metadata.namespace);
    expect(foreignWrites(sim, namespaces, startSeq)).toEqual([]);
    const drillWrites = sim.audit
      .entries({ source: "request", resource: "rollbackdrills" })
      .filter(e => e.seq > startSeq && !["get", "list", "watch"].includes(e.verb));
    // The operator only ever writes a drill's status, or patches its finalizers.
    expect(drillWrites.filter(e => e.subresource !== "status" && e.verb !== "patch")).toEqual([]);
  });

  it.skipIf(!existsSync(KUBECTL))(
    "shows each verdict in `kubectl get rollbackdrills -A`",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "rbd-kubectl-"));
      try {
        const kubeconfig = join(dir, "kubeconfig");
        await sim.writeKubeconfig(kubeconfig);
        const { stdout } = await promisify(execFile)(
          KUBECTL,
          ["--kubeconfig", kubeconfig, "get", "rollbackdrills", "-A"],
          { timeout: 20_000 },
        );
        const [header, ...rows] = stdout.trim().split("\n");
        expect(header?.trim().split(/\s{2,}/)).toEqual([
          "NAMESPACE",
          "NAME",
          "TARGET",
          "PHASE",
          "VERDICT",
          "REASON",
          "FROM",
          "TO",
          "RTO",
          "LAST RUN",
          "AGE",
        ]);
        for (const { manifest, scenario } of planned) {
          const row = rows.find(
            r =>
              r.startsWith(`${manifest.metadata.namespace} `) &&
              r.includes(` ${manifest.metadata.name} `),
          );
          expect(row, `${manifest.metadata.namespace}/${manifest.metadata.name}`).toMatch(
            new RegExp(`\\s${scenario.expected.verdict}\\s+${scenario.expected.reason}\\s`),
          );
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
