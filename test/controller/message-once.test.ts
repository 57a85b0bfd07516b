/**
 * `kubectl describe drill` says a failed run's message once: in status.lastRun.message. The
 * headline status.message, the Ready condition and the DrillFailed Event name the run, verdict,
 * reason and revisions, and point there; the kept run in currentRun carries no copy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EVENTS, waitForPass } from "../kit/index.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  getDrill,
  startScenario,
  waitForVerdict,
  type Scenario,
} from "./scenario-helpers.ts";

const REPO = "registry.example.com/shop/web";

describe("a failed run's message", () => {
  let s: Scenario;
  afterEach(async () => {
    await s.close();
  });

  it("is said once, in status.lastRun.message, and pointed to elsewhere", async () => {
    s = await startScenario();
    createNamespace(s.sim, "shop");
    s.sim.world.images.push(REPO, "latest", { logLines: ["v1"] });
    await deploy(s.sim, "shop", "web", `${REPO}:latest`);
    s.sim.world.images.push(REPO, "latest", { logLines: ["v2"] });
    await deploy(s.sim, "shop", "web", `${REPO}:latest`, {
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" },
    });
    createDrill(s.sim, "shop", "web", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5 },
    });
    await waitForVerdict(s.sim, "shop", "web");
    const drill = getDrill(s.sim, "shop", "web");
    const status = drill?.status;
    const message = status?.lastRun?.message ?? "";
    expect(status?.lastRun?.reason).toBe("SameDigest");
    expect(message.length).toBeGreaterThan(100);
    const pointer =
      /^Run 1 ended Failed \(SameDigest\), revision 2 -> 1(, rolled back in [\d.]+s)?: see status\.lastRun\.message\.$/;
    expect(status?.message).toMatch(
      /^Run 1 ended Failed \(SameDigest\): see status\.lastRun\.message\.$/,
    );
    const ready = status?.conditions?.find(c => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "SameDigest" });
    expect(ready?.message).toBe(status?.message);
    expect(status?.currentRun?.phase).toBe("SandboxKept");
    expect(status?.currentRun).not.toHaveProperty("message");
    const eventsOfDrill = () =>
      s.sim.store
        .list(EVENTS, { namespace: "shop" })
        .items.filter(e => (e["involvedObject"] as { name?: string }).name === "web");
    // The Event follows the status write that holds the verdict.
    await waitForPass(s.sim, "one DrillFailed Event on drill web", () => {
      expect(eventsOfDrill().filter(e => e["reason"] === "DrillFailed")).toHaveLength(1);
    });
    const events = eventsOfDrill();
    const failed = events.filter(e => e["reason"] === "DrillFailed");
    expect(failed[0]?.["message"]).toMatch(pointer);
    // Nothing in describe's sources repeats the message itself.
    const copies = [
      status?.message,
      ...(status?.conditions ?? []).map(c => c.message),
      ...events.map(e => e["message"] as string),
    ].filter(m => m?.includes(message.slice(0, 60)) === true);
    expect(copies).toEqual([]);
  });
});
