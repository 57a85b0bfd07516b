import { afterEach, describe, expect, it } from "vitest";
import { FaultInjector } from "../../../src/sim/faults.ts";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { admin, CM, configMap } from "./helpers.ts";

describe("faults", () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("decides deterministically with a seed and honours counts", () => {
    const pick = (seed: number): boolean[] => {
      const f = new FaultInjector({ seed });
      f.add({ verb: "get", code: 500, probability: 0.5 });
      return Array.from(
        { length: 20 },
        () => f.decide({ verb: "get", group: "", resource: "pods" }).error !== undefined,
      );
    };
    expect(pick(7)).toEqual(pick(7));
    expect(pick(7).some(Boolean) && !pick(7).every(Boolean)).toBe(true);
    const f = new FaultInjector();
    f.add({ resource: "deployments.apps", code: 409, count: 1 });
    expect(
      f.decide({ verb: "update", group: "apps", resource: "deployments", name: "web" }).error?.code,
    ).toBe(409);
    expect(
      f.decide({ verb: "update", group: "apps", resource: "deployments", name: "web" }).error,
    ).toBeUndefined();
    expect(f.decide({ verb: "update", group: "", resource: "pods" }).error).toBeUndefined();
  });

  // apimachinery/pkg/api/errors: NewTooManyRequests sets details.retryAfterSeconds and Retry-After
  it("answers HTTP requests with an injected 429 and Retry-After, only for matching user agents", async () => {
    sim = await startSim();
    sim.faults.add({ verb: "list", resource: "configmaps", code: 429, userAgent: "flaky" });
    const url = `${sim.url}/api/v1/namespaces/default/configmaps`;
    const bad = await fetch(url, { headers: { "User-Agent": "flaky-client/1" } });
    expect(bad.status).toBe(429);
    expect(bad.headers.get("retry-after")).toBe("1");
    expect(await bad.json()).toMatchObject({
      kind: "Status",
      reason: "TooManyRequests",
      code: 429,
      details: { retryAfterSeconds: 1 },
    });
    const good = await fetch(url, { headers: { "User-Agent": "steady/1" } });
    expect(good.status).toBe(200);
    expect(
      sim.audit.entries({ source: "request", resource: "configmaps" }).map(e => e.code),
    ).toEqual([429, 200]);
  });

  it("reads FaultRule objects from the store and never faults internal writes", async () => {
    sim = await startSim();
    sim.store.create(
      { group: "sim.rollbackdrill.io", version: "v1", resource: "faultrules" },
      {
        apiVersion: "sim.rollbackdrill.io/v1",
        kind: "FaultRule",
        metadata: { name: "boom" },
        spec: { verb: "create", resource: "configmaps", code: 503 },
      },
      admin,
    );
    const res = await fetch(`${sim.url}/api/v1/namespaces/default/configmaps`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(configMap("x")),
    });
    expect(res.status).toBe(503);
    expect(() => sim?.store.create(CM, configMap("internal"), admin)).not.toThrow();
  });

  it("expires the next watch resume and restarts close every watch", async () => {
    sim = await startSim();
    const rv = sim.store.currentResourceVersion();
    sim.faults.add({ verb: "watch", expireNextWatch: true, count: 1 });
    const expiredRes = await fetch(
      `${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    const line = JSON.parse((await expiredRes.text()).trim()) as {
      type: string;
      object: { code: number };
    };
    expect([line.type, line.object.code]).toEqual(["ERROR", 410]);
    const live = await fetch(
      `${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    const body = live.text();
    sim.store.create(CM, configMap("late"), admin);
    sim.faults.restart({ compact: true });
    expect(
      (await body)
        .trim()
        .split("\n")
        .map(l => (JSON.parse(l) as { type: string }).type),
    ).toEqual(["ADDED"]);
    const after = await fetch(
      `${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    expect(
      (JSON.parse((await after.text()).trim()) as { object: { reason: string } }).object.reason,
    ).toBe("Expired");
  });
});
