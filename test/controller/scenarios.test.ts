import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN, waitForPass } from "../kit/index.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  DRILLS,
  getDrill,
  NAMESPACES,
  startScenario,
  waitForVerdict,
  type Scenario,
} from "./scenario-helpers.ts";

const REPO = "registry.example.com/shop/web";

describe("the operator on the simulator", () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await startScenario();
    createNamespace(s.sim, "shop");
  });
  afterEach(async () => {
    await s.close();
  });

  it("passes a pinned, healthy target and reports revisions, digests and rollback time", async () => {
    const v1 = s.sim.world.images.push(REPO, "1.0");
    const v2 = s.sim.world.images.push(REPO, "2.0");
    await deploy(s.sim, "shop", "web", `${REPO}@${v1}`);
    await deploy(s.sim, "shop", "web", `${REPO}@${v2}`);
    createDrill(s.sim, "shop", "web-drill", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5 },
    });
    const drill = await waitForVerdict(s.sim, "shop", "web-drill");
    const run = drill.status?.lastRun;
    expect(run?.message).toMatch(/from revision 2 to 1/);
    expect({ verdict: run?.verdict, reason: run?.reason }).toEqual({
      verdict: "Passed",
      reason: "Passed",
    });
    expect(run?.fromRevision).toBe(2);
    expect(run?.toRevision).toBe(1);
    expect(run?.rollbackSeconds).toBeGreaterThanOrEqual(0);
    expect(run?.evidence?.[0]?.toDigest).toContain(v1);
    expect(run?.evidence?.[0]?.fromDigest).toContain(v2);
  });
});

/** Everything the operator wrote over HTTP in a namespace other than a sandbox. */
function writesOutsideSandboxes(s: Scenario, namespace: string): string[] {
  return s.sim.audit
    .entries({ source: "request", namespace })
    .filter(e => !["get", "list", "watch"].includes(e.verb))
    .filter(e => !(e.resource === "rollbackdrills" || e.resource === "events"))
    .map(e => `${e.verb} ${e.resource}/${e.subresource ?? ""} ${e.name ?? ""}`);
}

function sandboxNamespaces(s: Scenario): string[] {
  return s.sim.store
    .list(NAMESPACES, { labelSelector: "app.kubernetes.io/managed-by=rollback-drill" })
    .items.map(n => n.metadata.name ?? "");
}

describe("drill verdicts on the simulator", () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await startScenario();
    createNamespace(s.sim, "shop");
  });
  afterEach(async () => {
    // Containment: in the target's namespace, only the drill (status, finalizers) and Events.
    expect(writesOutsideSandboxes(s, "shop")).toEqual([]);
    await s.close();
  });

  it("fails the :latest war story with SameDigest, naming the container and digest", async () => {
    const broken1 = s.sim.world.images.push(REPO, "latest", { logLines: ["v1"] });
    await deploy(s.sim, "shop", "web", `${REPO}:latest`);
    // The deploy pushes a new build to :latest and restarts the Deployment onto it.
    const broken2 = s.sim.world.images.push(REPO, "latest", { logLines: ["v2"] });
    expect(broken2).not.toBe(broken1);
    await deploy(s.sim, "shop", "web", `${REPO}:latest`, {
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" },
    });
    createDrill(s.sim, "shop", "latest", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5 },
    });
    const run = (await waitForVerdict(s.sim, "shop", "latest")).status?.lastRun;
    expect(run?.reason, run?.message).toBe("SameDigest");
    expect(run?.verdict).toBe("Failed");
    expect(run?.message).toContain("app");
    expect(run?.message).toContain(broken2.slice(7, 19));
  });

  it("fails with ImagePullFailed when the previous image was deleted from the registry", async () => {
    const v1 = s.sim.world.images.push(REPO, "1.0");
    s.sim.world.images.push(REPO, "2.0");
    await deploy(s.sim, "shop", "web", `${REPO}:1.0`);
    await deploy(s.sim, "shop", "web", `${REPO}:2.0`);
    s.sim.world.images.deleteDigest(REPO, v1);
    createDrill(s.sim, "shop", "pull", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5, pinnedImages: "Ignore" },
    });
    const run = (await waitForVerdict(s.sim, "shop", "pull")).status?.lastRun;
    expect(run?.reason, run?.message).toBe("ImagePullFailed");
  });

  it("fails with CrashLoop and the old version's log lines after a forward-only migration", async () => {
    s.sim.world.images.createDatabase("prod-db", 1);
    s.sim.world.images.createDatabase("staging-db", 1);
    const v1 = s.sim.world.images.push(REPO, "1.0", { supportsUpTo: 1 });
    const v2 = s.sim.world.images.push(REPO, "2.0", { migratesTo: 2 });
    const env = [{ name: "DATABASE_URL", value: "prod-db" }];
    await deploy(s.sim, "shop", "web", `${REPO}@${v1}`, { env });
    await deploy(s.sim, "shop", "web", `${REPO}@${v2}`, { env });
    createDrill(s.sim, "shop", "migration", {
      targetRef: { kind: "Deployment", name: "web" },
      sandbox: { env: [{ name: "DATABASE_URL", value: "staging-db" }] },
      checks: { stableSeconds: 5 },
    });
    const run = (await waitForVerdict(s.sim, "shop", "migration")).status?.lastRun;
    expect(run?.reason, run?.message).toBe("CrashLoop");
    expect(run?.message).toContain("newer than this build supports");
    // Production's database was never touched by the sandbox.
    expect(s.sim.world.images.databaseVersion("prod-db")).toBe(2);
    expect(s.sim.world.images.databaseVersion("staging-db")).toBe(2);
  });

  it("fails with NoRevisionHistory without creating a sandbox when there is one revision", async () => {
    const v1 = s.sim.world.images.push(REPO, "1.0");
    await deploy(s.sim, "shop", "web", `${REPO}@${v1}`, { revisionHistoryLimit: 0 });
    createDrill(s.sim, "shop", "history", { targetRef: { kind: "Deployment", name: "web" } });
    const run = (await waitForVerdict(s.sim, "shop", "history")).status?.lastRun;
    expect(run?.reason, run?.message).toBe("NoRevisionHistory");
    expect(run?.sandboxNamespace).toBeUndefined();
    expect(
      s.sim.audit.entries({ source: "request", resource: "namespaces", verb: "create" }),
    ).toEqual([]);
  });

  it("fails with TargetNotFound when the Deployment does not exist", async () => {
    createDrill(s.sim, "shop", "missing", { targetRef: { kind: "Deployment", name: "nope" } });
    const run = (await waitForVerdict(s.sim, "shop", "missing")).status?.lastRun;
    expect(run?.reason).toBe("TargetNotFound");
    expect(run?.message).toContain('"nope"');
  });

  it("removes the sandbox when the drill is deleted mid-run, then lets the drill go", async () => {
    const v1 = s.sim.world.images.push(REPO, "1.0");
    const v2 = s.sim.world.images.push(REPO, "2.0");
    await deploy(s.sim, "shop", "web", `${REPO}@${v1}`);
    await deploy(s.sim, "shop", "web", `${REPO}@${v2}`);
    createDrill(s.sim, "shop", "slow", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 3000, timeoutSeconds: 3600 },
    });
    await waitForPass(
      s.sim,
      "drill shop/slow to reach Verifying",
      () => {
        expect(getDrill(s.sim, "shop", "slow")?.status?.currentRun?.phase).toBe("Verifying");
      },
      10_000,
    );
    expect(sandboxNamespaces(s)).toHaveLength(1);
    s.sim.store.delete(DRILLS, "shop", "slow", ADMIN);
    await waitForPass(
      s.sim,
      "drill shop/slow and its sandbox gone",
      () => {
        expect(getDrill(s.sim, "shop", "slow")).toBeUndefined();
        expect(sandboxNamespaces(s)).toEqual([]);
      },
      10_000,
    );
  });

  it("keeps a passed drill within its API request budget, with no polling", async () => {
    const v1 = s.sim.world.images.push(REPO, "1.0");
    const v2 = s.sim.world.images.push(REPO, "2.0");
    await deploy(s.sim, "shop", "web", `${REPO}@${v1}`);
    await deploy(s.sim, "shop", "web", `${REPO}@${v2}`);
    const before = s.sim.audit.entries({ source: "request" }).length;
    createDrill(s.sim, "shop", "budget", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5 },
    });
    await waitForVerdict(s.sim, "shop", "budget");
    await waitForPass(s.sim, "no sandbox left", () => {
      expect(sandboxNamespaces(s)).toEqual([]);
    });
    const requests = s.sim.audit.entries({ source: "request" }).slice(before);
    const calls = requests.filter(e => e.verb !== "watch" && e.verb !== "list");
    expect(calls.length, calls.map(e => `${e.verb} ${e.resource}`).join("\n")).toBeLessThanOrEqual(
      40,
    );
    expect(requests.filter(e => e.verb === "list")).toEqual([]);
  });
});
