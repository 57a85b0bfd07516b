/**
 * rollback-drill plan on the simulator (no operator: every API request in the audit log is the
 * plan's own): what a drill would do, from the core's own functions, and not one write.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { runPlan, type Plan, type PlanOptions } from "../../src/cli/plan.ts";
import type { Sim } from "../../src/sim/index.ts";
import { createNamespace, deploy, DRILLS } from "../controller/scenario-helpers.ts";
import { capture, startSimWithDrills } from "../kit/index.ts";

const REPO = "registry.example.com/shop/web";
const NS = "shop";

describe("rollback-drill plan", () => {
  let sim: Sim;
  let options: PlanOptions;
  beforeEach(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    createNamespace(sim, NS);
    options = {
      namespace: NS,
      target: "web",
      targetKind: "Deployment",
      name: "gate-web",
      toRevision: undefined,
      output: "json",
      kubeconfig: sim.kubeconfig,
    };
  });
  afterEach(async () => {
    await sim.close();
  });

  /** The plan's requests: everything over HTTP since `from` (no operator runs here). */
  function requestsSince(from: number): string[] {
    return sim.audit
      .entries({ source: "request" })
      .filter(e => e.seq > from)
      .map(e => `${e.verb} ${e.resource}${e.subresource === undefined ? "" : `/${e.subresource}`}`);
  }

  function lastSeq(): number {
    return sim.audit.entries().at(-1)?.seq ?? 0;
  }

  it("shows kubectl's revisions, the images, the sandbox and the findings, writing nothing", async () => {
    sim.world.images.push(REPO, "1.0");
    const v2 = sim.world.images.push(REPO, "2.0");
    await deploy(sim, NS, "web", `${REPO}:1.0`);
    await deploy(sim, NS, "web", `${REPO}@${v2}`);
    const from = lastSeq();
    const c = capture();
    expect(await runPlan(options, c.io), c.err.join("\n")).toBe(0);
    const plan = JSON.parse(c.out.join("\n")) as Plan;
    expect(plan.revisions).toEqual([1, 2]);
    expect(plan.drill).toEqual({ name: "gate-web", exists: false });
    expect(plan.current).toMatchObject({
      revision: 2,
      images: [{ container: "app", image: `${REPO}@${v2}`, pinned: true, init: false }],
    });
    expect(plan.current?.runningDigests).toEqual([{ name: "app", digest: v2 }]);
    expect(plan.rollbackTo).toMatchObject({
      revision: 1,
      images: [{ container: "app", image: `${REPO}:1.0`, pinned: false }],
    });
    expect(plan.rollbackTo?.expectedDigests).toBeUndefined();
    expect(plan.warnings.map(w => w.reason)).toEqual(["UnpinnedImage"]);
    expect(plan.blocked).toBeUndefined();
    expect(plan.sandbox?.namespace).toBe("rbd-gate-web-<uid>-<run>");
    expect(plan.sandbox?.objects).toEqual([
      "Namespace rbd-gate-web-<uid>-<run>",
      "RoleBinding rollback-drill-sandbox",
      "NetworkPolicy rollback-drill-isolation",
      "ResourceQuota rollback-drill-quota",
      "ServiceAccount rollback-drill-default",
      "Deployment web (1 replica(s), imagePullPolicy Always)",
    ]);
    expect(plan.sandbox?.steps).toHaveLength(5);
    // Reads only, as the audit log shows; and no drill appeared.
    const requests = requestsSince(from);
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(r).toMatch(/^(get|list|watch) /);
    expect(sim.store.list(DRILLS).items).toEqual([]);
  });

  it("prints a table, and follows --to-revision", async () => {
    const v1 = sim.world.images.push(REPO, "1.0");
    const v2 = sim.world.images.push(REPO, "2.0");
    const v3 = sim.world.images.push(REPO, "3.0");
    for (const v of [v1, v2, v3]) await deploy(sim, NS, "web", `${REPO}@${v}`);
    const c = capture();
    const code = await main(
      [
        "plan",
        "-n",
        NS,
        "--target",
        "deployment/web",
        "--to-revision",
        "1",
        "--kubeconfig",
        sim.kubeconfig,
      ],
      c.io,
    );
    expect(code, c.err.join("\n")).toBe(0);
    const table = c.out.join("\n");
    expect(table).toMatch(/^Revisions: +1, 2, 3$/m);
    expect(table).toMatch(/^Current: +revision 3 \(ReplicaSet web-\w+\): app=\S+@sha256:/m);
    expect(table).toMatch(new RegExp(`^Roll back to: +revision 1 .*app=${REPO}@${v1}$`, "m"));
    expect(table).toMatch(new RegExp(`^ {2}must run: +app ${v1}$`, "m"));
    expect(table).toMatch(
      /^Step 3: +Undo as kubectl rollout undo does, back to revision 1's template$/m,
    );
    expect(table).not.toMatch(/^Warning:/m);
  });

  it("exits 1 when the drill would fail before a sandbox: no history, or no target", async () => {
    const v1 = sim.world.images.push(REPO, "1.0");
    await deploy(sim, NS, "web", `${REPO}@${v1}`, { revisionHistoryLimit: 0 });
    const c = capture();
    expect(await runPlan(options, c.io)).toBe(1);
    const plan = JSON.parse(c.out.join("\n")) as Plan;
    expect(plan.blocked?.reason).toBe("NoRevisionHistory");
    expect(plan.blocked?.message).toContain("revisionHistoryLimit is 0");
    expect(plan.sandbox).toBeUndefined();
    const missing = capture();
    expect(await runPlan({ ...options, target: "nope", output: "yaml" }, missing.io)).toBe(1);
    expect(missing.out.join("\n")).toMatch(/^ {2}reason: TargetNotFound$/m);
  });

  it("exits 2 with one line when no cluster answers", async () => {
    const kubeconfig = sim.kubeconfig;
    await sim.close();
    const c = capture();
    expect(await runPlan({ ...options, kubeconfig }, c.io)).toBe(2);
    expect(c.out).toEqual([]);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^rollback-drill plan: cannot reach the cluster/);
  });
});
