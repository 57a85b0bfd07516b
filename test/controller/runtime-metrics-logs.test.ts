/**
 * /metrics carries prom-client's default collectors (process and Node runtime series) on each
 * operator's own registry, two operators in one process included; and the operator's log lines
 * name each key once (pino writes a key bound on a child and passed again twice).
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startOperator, type RunningOperator } from "../../src/cli/operator.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import { createDrill, createNamespace, deploy, waitForVerdict } from "./scenario-helpers.ts";

const REPO = "registry.example.com/shop/web";

describe("the operator's runtime metrics and log lines", () => {
  let sim: Sim | undefined;
  const operators: RunningOperator[] = [];
  afterEach(async () => {
    for (const o of operators.splice(0)) await o.stop();
    await sim?.close();
    sim = undefined;
  });

  it("serves the default collectors per registry and logs each key once", async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(
          ...chunk
            .toString()
            .split("\n")
            .filter(l => l !== ""),
        );
        done();
      },
    });
    const registries = [new Registry(), new Registry()];
    for (const [i, registry] of registries.entries())
      operators.push(
        await startOperator({
          kubeconfig: sim.kubeconfig,
          clock: sim.clock,
          logger: pino({ level: i === 0 ? "info" : "silent" }, sink),
          registry,
          instance: `op-${String(i)}`,
          namespaces: [i === 0 ? "shop" : "elsewhere"],
        }),
      );
    for (const registry of registries) {
      const text = await registry.metrics();
      for (const name of [
        "process_cpu_user_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "nodejs_eventloop_lag_seconds",
        "nodejs_heap_size_used_bytes",
        "nodejs_gc_duration_seconds",
        "rollbackdrill_leader",
      ])
        expect(text).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    }
    createNamespace(sim, "shop");
    const v1 = sim.world.images.push(REPO, "1.0");
    const v2 = sim.world.images.push(REPO, "2.0");
    await deploy(sim, "shop", "web", `${REPO}@${v1}`);
    await deploy(sim, "shop", "web", `${REPO}@${v2}`);
    createDrill(sim, "shop", "web", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5 },
    });
    await waitForVerdict(sim, "shop", "web");
    // The line follows the status write the verdict is read from.
    await vi.waitFor(() => {
      expect(lines.some(l => l.includes("Finished drill run: Passed"))).toBe(true);
    });
    const runLines = lines.filter(l => l.includes('"run":'));
    expect(runLines.some(l => l.includes("Drill run entered phase Verifying"))).toBe(true);
    for (const line of lines) {
      const keys = [...line.matchAll(/[{,]"([^"]+)":/g)].map(m => m[1]);
      expect(keys.length, line).toBe(new Set(keys).size);
    }
  });
});
