import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { parseOperatorConfig } from "../../src/cli/operator.ts";
import {
  createProbeServer,
  parseBindAddress,
  type ProbeServer,
} from "../../src/controller/server.ts";

describe("operator flags", () => {
  it("parses flags and environment once into a frozen config", () => {
    const config = parseOperatorConfig(
      ["--namespaces", "a, b", "--max-concurrent-drills", "8", "--leader-elect"],
      { POD_NAME: "op-1", POD_NAMESPACE: "ops", KUBECONFIG: "/k" },
    );
    expect(config).toMatchObject({
      namespaces: ["a", "b"],
      maxConcurrentDrills: 8,
      leaderElect: true,
      leaseNamespace: "ops",
      podName: "op-1",
      kubeconfig: "/k",
      metricsBindAddress: ":8080",
      logLevel: "info",
      operator: { namespace: "ops" },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [["--max-concurrent-drills", "0"], /--max-concurrent-drills/],
    [["--namespaces", "Bad_NS"], /--namespaces/],
    [["--log-level", "loud"], /--log-level/],
    [["--metrics-bind-address", ":http"], /--metrics-bind-address/],
    [["--bogus"], /bogus/],
  ])("names the bad flag in %j", (argv, message) => {
    expect(() => parseOperatorConfig(argv, {})).toThrow(message);
  });

  it("reads bind addresses as controller-runtime does", () => {
    expect(parseBindAddress(":8080")).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseBindAddress("127.0.0.1:9")).toEqual({ host: "127.0.0.1", port: 9 });
    expect(parseBindAddress("0")).toBeUndefined();
  });
});

describe("probe server", () => {
  let server: ProbeServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it("serves /healthz, /readyz by readiness, and the injected registry on /metrics", async () => {
    const registry = new Registry();
    new Counter({ name: "rollbackdrill_test_total", help: "x", registers: [registry] }).inc(3);
    let ready = false;
    server = createProbeServer({ registry, isReady: () => ready });
    const url = await server.listen(0, "127.0.0.1");
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^rollbackdrill_test_total 3$/m);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});
