/**
 * The CD gate on the simulator: exit codes and outputs for Passed, Failed and the ways it cannot
 * run; --standalone against the operator on the same scenario. The gate runs on the simulator's
 * scaled clock (timeouts and progress times are simulated time).
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { RollbackDrill } from "../../src/api/types.ts";
import { RUN_NOW_ANNOTATION } from "../../src/api/vocabulary.ts";
import {
  parseDuration,
  parseRunArgs,
  parseTarget,
  runGate,
  type GateResult,
} from "../../src/cli/run.ts";
import { createClock } from "../../src/sim/clock.ts";
import { Cluster } from "../../src/scenarios/cluster.ts";
import { statefulSetManifest } from "../../src/scenarios/statefulset.ts";
import { startSim, type Sim } from "../../src/sim/index.ts";
import { main } from "../../src/cli/main.ts";
import { startOperator } from "../../src/cli/operator.ts";
import {
  ADMIN,
  capture,
  sandboxNamespaces,
  startSimWithDrills,
  waitForPass,
} from "../kit/index.ts";
import { NS, REPO, gateDrill, gateOptions, pinnedTwoRevisions } from "./gate-helpers.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  getDrill,
  startScenario,
  type Scenario,
} from "../controller/scenario-helpers.ts";

const ESC = "\u001b";

/** The :latest war story: both revisions name :latest, the tag moved with the deploy. */
async function latestWarStory(sim: Sim): Promise<void> {
  sim.world.images.push(REPO, "latest", { logLines: ["v1"] });
  await deploy(sim, NS, "web", `${REPO}:latest`);
  sim.world.images.push(REPO, "latest", { logLines: ["v2"] });
  await deploy(sim, NS, "web", `${REPO}:latest`, {
    annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" },
  });
}

describe("rollback-drill run against an operator", () => {
  let s: Scenario;
  afterEach(async () => {
    await s.close();
  });

  it("exits 0 on Passed and prints the run it asked for, with evidence, as JSON", async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
    const { v1, v2 } = await pinnedTwoRevisions(s.sim);
    gateDrill(s.sim);
    const c = capture();
    const code = await runGate(gateOptions(s.sim.kubeconfig), c.io, {
      clock: s.sim.clock,
      token: "release-42",
    });
    expect(code, c.err.join("\n")).toBe(0);
    const result = JSON.parse(c.out.join("\n")) as GateResult;
    expect(result).toMatchObject({
      drill: { namespace: NS, name: "gate-web" },
      exitCode: 0,
      run: {
        verdict: "Passed",
        reason: "Passed",
        fromRevision: 2,
        toRevision: 1,
        runNowToken: "release-42",
      },
    });
    const evidence = "evidence" in result.run ? result.run.evidence : undefined;
    expect(evidence?.[0]?.toDigest).toContain(v1);
    expect(evidence?.[0]?.fromDigest).toContain(v2);
    // The drill kept what others set (server-side apply) and carries the poke.
    const drill = getDrill(s.sim, NS, "gate-web") as RollbackDrill;
    expect(drill.spec.checks.timeoutSeconds).toBe(3600);
    expect(drill.metadata.annotations?.[RUN_NOW_ANNOTATION]).toBe("release-42");
    // Progress: plain lines off a terminal, phase by phase with elapsed time.
    expect(c.err.length).toBeGreaterThan(1);
    for (const line of c.err) {
      expect(line).toMatch(/^\[\d+\.\ds\] \S/);
      expect(line.includes(ESC)).toBe(false);
    }
    expect(c.err.some(l => l.includes("Verifying"))).toBe(true);
  });

  it("exits 1 on Failed, creating the drill itself, and prints a table", async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
    const v1 = s.sim.world.images.push(REPO, "1.0");
    await deploy(s.sim, NS, "web", `${REPO}@${v1}`, { revisionHistoryLimit: 0 });
    const c = capture();
    const code = await runGate(gateOptions(s.sim.kubeconfig, { output: "table" }), c.io, {
      clock: s.sim.clock,
      isTTY: true,
    });
    expect(code, c.err.join("\n")).toBe(1);
    const table = c.out.join("\n");
    expect(table).toMatch(/^Drill: +shop\/gate-web \(run 1, RunNow\)$/m);
    expect(table).toMatch(/^Verdict: +Failed \(NoRevisionHistory\)$/m);
    expect(table).toMatch(/^Message: +no rollout history found for deployment "web"/m);
    // On a terminal: coloured phase lines with the elapsed time in front.
    for (const line of c.err) {
      expect(line.startsWith(`${ESC}[2m`)).toBe(true);
      expect(line).toMatch(/\d+\.\ds/);
      expect(line.includes(`${ESC}[1m`)).toBe(true);
    }
    expect(getDrill(s.sim, NS, "gate-web")?.metadata.labels).toMatchObject({
      "app.kubernetes.io/created-by": "rollback-drill-gate",
    });
  });

  it("gates a StatefulSet named by statefulset/NAME: the drill targets the set, and OnDelete fails it", async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
    const cluster = new Cluster({ kubeconfig: s.sim.kubeconfig });
    const v1 = s.sim.world.images.push(REPO, "db-1.0");
    const v2 = s.sim.world.images.push(REPO, "db-2.0");
    await cluster.createStatefulSet(
      statefulSetManifest(NS, "db", `${REPO}@${v1}`, {
        replicas: 1,
        spec: { updateStrategy: { type: "OnDelete" } },
      }),
    );
    await cluster.waitStatefulSetRolledOut(NS, "db");
    await cluster.setStatefulSetImage(NS, "db", "app", `${REPO}@${v2}`);
    await cluster.rollOnDelete(NS, "db");
    const options = parseRunArgs(["-n", NS, "--target", "sts/db", "--wait", "-o", "json"], {
      KUBECONFIG: s.sim.kubeconfig,
    });
    if (options === "help") throw new Error("help");
    const c = capture();
    const code = await runGate(options, c.io, { clock: s.sim.clock });
    expect(code, c.err.join("\n")).toBe(1);
    const result = JSON.parse(c.out.join("\n")) as GateResult;
    expect(result).toMatchObject({
      drill: { namespace: NS, name: "gate-statefulset-db" },
      run: { verdict: "Failed", reason: "PodsNotReplaced", fromRevision: 2, toRevision: 1 },
    });
    expect(getDrill(s.sim, NS, "gate-statefulset-db")?.spec.targetRef).toMatchObject({
      kind: "StatefulSet",
      name: "db",
    });
  });

  it("returns once the run has started without --wait", async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
    await pinnedTwoRevisions(s.sim);
    gateDrill(s.sim);
    const c = capture();
    const code = await runGate(
      gateOptions(s.sim.kubeconfig, { wait: false, output: "yaml" }),
      c.io,
      {
        clock: s.sim.clock,
        token: "t",
      },
    );
    expect(code, c.err.join("\n")).toBe(0);
    const result = parse(c.out.join("\n")) as GateResult;
    expect(result.run).toMatchObject({ runNowToken: "t" });
    expect("phase" in result.run ? result.run.phase : undefined).toBeDefined();
  });
});

describe("rollback-drill run --standalone", () => {
  let sims: Sim[] = [];
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    await Promise.all(sims.map(x => x.close()));
    sims = [];
  });

  it("gives the operator's verdict on the same scenario, and leaves no sandbox", async () => {
    // The operator's verdict.
    s = await startScenario();
    createNamespace(s.sim, NS);
    await latestWarStory(s.sim);
    gateDrill(s.sim);
    const viaOperator = capture();
    expect(
      await runGate(gateOptions(s.sim.kubeconfig), viaOperator.io, { clock: s.sim.clock }),
    ).toBe(1);
    // The same scenario on a cluster with the CRD and no operator.
    const sim = await startSimWithDrills({ timeScale: 1000 });
    sims.push(sim);
    createNamespace(sim, NS);
    await latestWarStory(sim);
    gateDrill(sim);
    const standalone = capture();
    const code = await runGate(gateOptions(sim.kubeconfig, { standalone: true }), standalone.io, {
      clock: sim.clock,
    });
    expect(code, standalone.out.join("\n")).toBe(1);
    const a = JSON.parse(viaOperator.out.join("\n")) as GateResult;
    const b = JSON.parse(standalone.out.join("\n")) as GateResult;
    expect(b.run.reason).toBe("SameDigest");
    expect({
      verdict: b.run.verdict,
      reason: b.run.reason,
      from: b.run.fromRevision,
      to: b.run.toRevision,
    }).toEqual({
      verdict: a.run.verdict,
      reason: a.run.reason,
      from: a.run.fromRevision,
      to: a.run.toRevision,
    });
    // Nothing outlives the process: the sandbox is gone when the gate returns.
    expect(sandboxNamespaces(sim)).toEqual([]);
    expect(getDrill(sim, NS, "gate-web")?.status?.currentRun).toBeUndefined();
  });

  it("removes its drill, finalizer released, so nothing is left for an operator that is not there", async () => {
    const sim = await startSimWithDrills({ timeScale: 1000 });
    sims.push(sim);
    createNamespace(sim, NS);
    await pinnedTwoRevisions(sim);
    gateDrill(sim);
    const out = capture();
    const code = await runGate(gateOptions(sim.kubeconfig, { standalone: true }), out.io, {
      clock: sim.clock,
    });
    expect(code, out.err.join("\n")).toBe(0);
    expect((JSON.parse(out.out.join("\n")) as GateResult).run.verdict).toBe("Passed");
    expect(out.err.join("\n")).not.toContain("rollback-drill run:");
    // Gone, not merely marked for deletion with a finalizer nobody will remove.
    expect(getDrill(sim, NS, "gate-web")).toBeUndefined();
    expect(sandboxNamespaces(sim)).toEqual([]);
  });
});

describe("rollback-drill run --standalone in a namespace with other drills", () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("touches only its own drill: another's orphaned run and a never-run drill stay as they were", async () => {
    // At time scale 100, the other drill's longest stable window (3600 s) outlasts the test.
    sim = await startSimWithDrills({ timeScale: 100 });
    createNamespace(sim, NS);
    await pinnedTwoRevisions(sim);
    // An operator starts a long run of another drill, then goes away mid-run.
    const operator = await startOperator({
      kubeconfig: sim.kubeconfig,
      clock: sim.clock,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
      instance: "gone",
    });
    createDrill(sim, NS, "other", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 3600 },
    });
    const live = sim;
    await waitForPass(
      live,
      "drill other to reach Verifying",
      () => {
        expect(getDrill(live, NS, "other")?.status?.currentRun?.phase).toBe("Verifying");
      },
      20_000,
    );
    await operator.stop();
    createDrill(sim, NS, "idle", { targetRef: { kind: "Deployment", name: "web" } });
    const before = {
      other: getDrill(sim, NS, "other")?.metadata.resourceVersion,
      idle: getDrill(sim, NS, "idle")?.metadata.resourceVersion,
      sandboxes: sandboxNamespaces(sim),
    };
    expect(before.sandboxes).toHaveLength(1);
    gateDrill(sim);
    const c = capture();
    const code = await runGate(gateOptions(sim.kubeconfig, { standalone: true }), c.io, {
      clock: sim.clock,
    });
    expect(code, c.err.join("\n")).toBe(0);
    // The gate's own drill ran and went; the others were not written to at all.
    expect(getDrill(sim, NS, "gate-web")).toBeUndefined();
    expect(getDrill(sim, NS, "other")?.metadata.resourceVersion).toBe(before.other);
    expect(getDrill(sim, NS, "other")?.status?.currentRun?.phase).toBe("Verifying");
    expect(getDrill(sim, NS, "idle")?.metadata.resourceVersion).toBe(before.idle);
    expect(getDrill(sim, NS, "idle")?.status).toBeUndefined();
    expect(sandboxNamespaces(sim)).toEqual(before.sandboxes);
  });
});

describe("rollback-drill run when it cannot run", () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("exits 2 with one line when the CRD is not installed", async () => {
    sim = await startSim({ timeScale: 1000 });
    const c = capture();
    expect(await runGate(gateOptions(sim.kubeconfig), c.io, { clock: sim.clock })).toBe(2);
    expect(c.out).toEqual([]);
    expect(c.err).toEqual([
      "rollback-drill run: the RollbackDrill CRD (rollbackdrills.rollbackdrill.io) is not installed: kubectl apply -f crds/ first (--standalone needs it too)",
    ]);
  });

  it("exits 2 when the identity may not write drills (RBAC)", async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    createNamespace(sim, NS);
    sim.store.create(
      { group: "", version: "v1", resource: "serviceaccounts" },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ci", namespace: NS } },
      ADMIN,
    );
    const c = capture();
    const kubeconfig = await sim.kubeconfigFor(NS, "ci");
    expect(await runGate(gateOptions(kubeconfig), c.io, { clock: sim.clock })).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(
      /^rollback-drill run: forbidden \(apply rollbackdrill shop\/gate-web\): .*system:serviceaccount:shop:ci/,
    );
  });

  it("exits 2 when no operator answers within --timeout", async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    createNamespace(sim, NS);
    const c = capture();
    const code = await runGate(gateOptions(sim.kubeconfig, { timeoutMs: 120_000 }), c.io, {
      clock: sim.clock,
    });
    expect(code).toBe(2);
    expect(c.err.at(-1)).toBe(
      "rollback-drill run: timed out after 2m waiting for the run of rollbackdrill shop/gate-web: is the operator running? (kubectl -n shop describe rollbackdrill gate-web)",
    );
    // The drill was applied and poked; it waits for an operator.
    expect(getDrill(sim, NS, "gate-web")?.metadata.annotations?.[RUN_NOW_ANNOTATION]).toMatch(
      /^gate-/,
    );
  });

  it("exits 2 when no cluster answers", async () => {
    sim = await startSim({ timeScale: 1000 });
    const kubeconfig = sim.kubeconfig;
    await sim.close();
    const c = capture();
    const code = await runGate(gateOptions(kubeconfig), c.io, { clock: createClock(1000) });
    expect(code).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(
      /^rollback-drill run: cannot reach the cluster \(apply rollbackdrill shop\/gate-web\)/,
    );
  });
});

describe("rollback-drill run flags", () => {
  it("parses targets, durations and flags once, naming the bad one", () => {
    expect(parseTarget("deployment/web")).toEqual({ kind: "Deployment", name: "web" });
    expect(parseTarget("deploy/web")).toEqual({ kind: "Deployment", name: "web" });
    expect(parseTarget("sts/db")).toEqual({ kind: "StatefulSet", name: "db" });
    expect(parseTarget("DaemonSet.apps/agent")).toEqual({ kind: "DaemonSet", name: "agent" });
    expect(() => parseTarget("cronjob/nightly")).toThrow(
      /deployment\/NAME, statefulset\/NAME or daemonset\/NAME/,
    );
    expect(() => parseTarget("statefulset/Bad_Name")).toThrow(/not a StatefulSet name/);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("20")).toBe(20_000);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
    const parsed = parseRunArgs(["-n", "shop", "--target", "deployment/web", "--standalone"], {
      KUBECONFIG: "/k",
    });
    expect(parsed).toMatchObject({
      name: "gate-web",
      wait: true,
      timeoutMs: 1_200_000,
      output: "table",
      kubeconfig: "/k",
    });
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each([
    [["--target", "deployment/web"], /--namespace is required/],
    [["-n", "shop"], /--target is required/],
    [["-n", "shop", "--target", "deployment/web", "-o", "xml"], /--output/],
    [["-n", "shop", "--target", "deployment/web", "--timeout", "x"], /--timeout/],
    [["-n", "shop", "--target", "deployment/web", "--to-revision", "-1"], /--to-revision/],
    [["-n", "shop", "--target", "deployment/web", "--bogus"], /bogus/],
  ])("exits 2 on %j", async (argv, message) => {
    const c = capture();
    expect(await main(["run", ...argv], c.io)).toBe(2);
    expect(c.err.join("\n")).toMatch(message);
  });
});
