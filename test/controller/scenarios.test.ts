import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createDrill,
  createNamespace,
  deploy,
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
