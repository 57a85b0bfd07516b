/**
 * /metrics over HTTP from a running operator, after a passed and a failed run, parsed as the
 * exposition format and checked against the drills' status value by value.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { RollbackDrill } from "../../src/api/types.ts";
import { startOperator } from "../../src/cli/operator.ts";
import { createProbeServer, type ProbeServer } from "../../src/controller/server.ts";
import { ADMIN } from "../kit/index.ts";
import { parseExposition, samplesOf, valueOf, type Exposition } from "./metrics-exposition.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  DRILLS,
  getDrill,
  startScenario,
  waitForVerdict,
  type Scenario,
} from "./scenario-helpers.ts";

const NS = "shop";
const WEB = "registry.example.com/shop/web";
const API = "registry.example.com/shop/api";

function seconds(iso: string | undefined): number {
  return Date.parse(iso ?? "") / 1000;
}

describe("/metrics of a running operator", () => {
  let s: Scenario;
  let server: ProbeServer;
  let url: string;
  beforeEach(async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
    server = createProbeServer({ registry: s.operator.metrics, isReady: () => true });
    url = await server.listen(0, "127.0.0.1");
  });
  afterEach(async () => {
    await server.close();
    await s.close();
  });

  async function scrape(): Promise<{ exposition: Exposition; fromMs: number; toMs: number }> {
    const fromMs = s.sim.clock.nowMs();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const exposition = parseExposition(await response.text());
    return { exposition, fromMs, toMs: s.sim.clock.nowMs() };
  }

  /** Both drills done and cleaned up, the queue empty, no worker busy. */
  async function settled(): Promise<Exposition> {
    return vi.waitFor(
      async () => {
        const { exposition } = await scrape();
        for (const name of ["good", "bad"])
          if (getDrill(s.sim, NS, name)?.status?.currentRun !== undefined)
            throw new Error(`${name} still running`);
        expect(valueOf(exposition, "workqueue_depth", { name: "rollbackdrill" })).toBe(0);
        expect(
          valueOf(exposition, "controller_runtime_active_workers", { controller: "rollbackdrill" }),
        ).toBe(0);
        return exposition;
      },
      { timeout: 15_000, interval: 20 },
    );
  }

  it("reports runs, durations, verdicts, readiness, history and pinning per drill", async () => {
    const v1 = s.sim.world.images.push(WEB, "1.0");
    const v2 = s.sim.world.images.push(WEB, "2.0");
    await deploy(s.sim, NS, "web", `${WEB}@${v1}`);
    await deploy(s.sim, NS, "web", `${WEB}@${v2}`);
    const a1 = s.sim.world.images.push(API, "1.0");
    s.sim.world.images.push(API, "2.0");
    await deploy(s.sim, NS, "api", `${API}:1.0`);
    await deploy(s.sim, NS, "api", `${API}:2.0`);
    s.sim.world.images.deleteDigest(API, a1);
    createDrill(s.sim, NS, "good", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: 5, timeoutSeconds: 3600 },
    });
    createDrill(s.sim, NS, "bad", {
      targetRef: { kind: "Deployment", name: "api" },
      sandbox: { keepOnFailure: false },
      checks: { stableSeconds: 5, timeoutSeconds: 3600 },
    });
    const good = (await waitForVerdict(s.sim, NS, "good")).status?.lastRun;
    const bad = (await waitForVerdict(s.sim, NS, "bad")).status?.lastRun;
    expect(good?.verdict, good?.message).toBe("Passed");
    expect(bad?.reason, bad?.message).toBe("ImagePullFailed");
    await settled();
    const { exposition: m, fromMs, toMs } = await scrape();
    const goodLabels = { namespace: NS, drill: "good", target: "web" };
    const badLabels = { namespace: NS, drill: "bad", target: "api" };

    expect(m.types.get("rollbackdrill_runs_total")).toBe("counter");
    expect(m.types.get("rollbackdrill_run_duration_seconds")).toBe("histogram");
    expect(m.types.get("rollbackdrill_rollback_duration_seconds")).toBe("histogram");
    expect(m.types.get("rollbackdrill_rollback_ready")).toBe("gauge");
    expect(
      valueOf(m, "rollbackdrill_runs_total", {
        ...goodLabels,
        verdict: "Passed",
        reason: "Passed",
      }),
    ).toBe(1);
    expect(
      valueOf(m, "rollbackdrill_runs_total", {
        ...badLabels,
        verdict: "Failed",
        reason: "ImagePullFailed",
      }),
    ).toBe(1);
    expect(samplesOf(m, "rollbackdrill_runs_total")).toHaveLength(2);

    // Durations: exactly what status says, in the right buckets.
    const goodDuration = seconds(good?.completionTime) - seconds(good?.startTime);
    expect(valueOf(m, "rollbackdrill_run_duration_seconds_count", goodLabels)).toBe(1);
    expect(valueOf(m, "rollbackdrill_run_duration_seconds_sum", goodLabels)).toBeCloseTo(
      goodDuration,
      6,
    );
    expect(valueOf(m, "rollbackdrill_run_duration_seconds_count", badLabels)).toBe(1);
    const rollback = good?.rollbackSeconds ?? NaN;
    expect(valueOf(m, "rollbackdrill_rollback_duration_seconds_sum", goodLabels)).toBeCloseTo(
      rollback,
      6,
    );
    for (const le of [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600])
      expect(
        valueOf(m, "rollbackdrill_rollback_duration_seconds_bucket", {
          ...goodLabels,
          le: String(le),
        }),
      ).toBe(rollback <= le ? 1 : 0);
    // The failed run never measured a rollback.
    expect(samplesOf(m, "rollbackdrill_rollback_duration_seconds_count", badLabels)).toEqual([]);

    // State: last verdict, RollbackReady, history, pinning.
    for (const [labels, verdict] of [
      [goodLabels, "Passed"],
      [badLabels, "Failed"],
    ] as const)
      for (const v of ["Passed", "Failed", "Error"])
        expect(valueOf(m, "rollbackdrill_last_verdict", { ...labels, verdict: v })).toBe(
          v === verdict ? 1 : 0,
        );
    expect(valueOf(m, "rollbackdrill_rollback_ready", goodLabels)).toBe(1);
    expect(valueOf(m, "rollbackdrill_rollback_ready", badLabels)).toBe(0);
    expect(valueOf(m, "rollbackdrill_revisions_available", goodLabels)).toBe(1);
    expect(valueOf(m, "rollbackdrill_revisions_available", badLabels)).toBe(1);
    expect(valueOf(m, "rollbackdrill_unpinned_containers", goodLabels)).toBe(0);
    expect(valueOf(m, "rollbackdrill_unpinned_containers", badLabels)).toBe(1);

    // Staleness at scrape time, on the operator's (simulated) clock.
    const goodDrill = getDrill(s.sim, NS, "good") as RollbackDrill;
    const passedAt = seconds(goodDrill.status?.lastSuccessTime);
    expect(valueOf(m, "rollbackdrill_last_success_timestamp_seconds", goodLabels)).toBe(passedAt);
    const since = valueOf(m, "rollbackdrill_seconds_since_last_success", goodLabels);
    expect(since).toBeGreaterThanOrEqual(fromMs / 1000 - passedAt);
    expect(since).toBeLessThanOrEqual(toMs / 1000 - passedAt);
    const badCreated = seconds(getDrill(s.sim, NS, "bad")?.metadata.creationTimestamp);
    const badSince = valueOf(m, "rollbackdrill_seconds_since_last_success", badLabels);
    expect(badSince).toBeGreaterThanOrEqual(fromMs / 1000 - badCreated - 1);
    expect(badSince).toBeLessThanOrEqual(toMs / 1000 - badCreated);
    expect(samplesOf(m, "rollbackdrill_last_success_timestamp_seconds", badLabels)).toEqual([]);

    // controller-runtime's reconcile series agree with each other.
    const total = samplesOf(m, "controller_runtime_reconcile_total", {
      controller: "rollbackdrill",
    }).reduce((sum, sample) => sum + sample.value, 0);
    expect(total).toBeGreaterThan(0);
    expect(
      valueOf(m, "controller_runtime_reconcile_time_seconds_count", {
        controller: "rollbackdrill",
      }),
    ).toBe(total);
    expect(
      valueOf(m, "controller_runtime_max_concurrent_reconciles", { controller: "rollbackdrill" }),
    ).toBe(4);
    expect(
      valueOf(m, "controller_runtime_reconcile_errors_total", { controller: "rollbackdrill" }),
    ).toBe(
      valueOf(m, "controller_runtime_reconcile_total", {
        controller: "rollbackdrill",
        result: "error",
      }),
    );
  });

  it("drops a deleted drill's series", async () => {
    const v1 = s.sim.world.images.push(WEB, "1.0");
    await deploy(s.sim, NS, "web", `${WEB}@${v1}`);
    createDrill(s.sim, NS, "gone", { targetRef: { kind: "Deployment", name: "web" } });
    await waitForVerdict(s.sim, NS, "gone");
    const labels = { namespace: NS, drill: "gone", target: "web" };
    const before = await vi.waitFor(async () => {
      const { exposition } = await scrape();
      expect(
        valueOf(exposition, "rollbackdrill_runs_total", {
          ...labels,
          verdict: "Failed",
          reason: "NoRevisionHistory",
        }),
      ).toBe(1);
      return exposition;
    });
    expect(valueOf(before, "rollbackdrill_revisions_available", labels)).toBe(0);
    expect(valueOf(before, "rollbackdrill_rollback_ready", labels)).toBe(0);
    s.sim.store.delete(DRILLS, NS, "gone", ADMIN);
    await vi.waitFor(async () => {
      const { exposition } = await scrape();
      expect(exposition.samples.filter(x => x.labels["drill"] === "gone")).toEqual([]);
    });
  });

  it("reports drills' state from the leader only, never from a standby", async () => {
    createNamespace(s.sim, "ops");
    const candidates = await Promise.all(
      ["a", "b"].map(id =>
        startOperator({
          kubeconfig: s.sim.kubeconfig,
          clock: s.sim.clock,
          logger: pino({ level: "silent" }),
          registry: new Registry(),
          instance: id,
          leaderElection: {
            lease: { namespace: "ops", name: "metrics-test" },
            identity: id,
            // Long against a stalled host: no leader change during the test.
            leaseDurationMs: 3_600_000,
            renewDeadlineMs: 1_800_000,
          },
        }),
      ),
    );
    try {
      const v1 = s.sim.world.images.push(WEB, "1.0");
      await deploy(s.sim, NS, "web", `${WEB}@${v1}`);
      createDrill(s.sim, NS, "lead", { targetRef: { kind: "Deployment", name: "web" } });
      await waitForVerdict(s.sim, NS, "lead");
      const [leader, standby] = await vi.waitFor(() => {
        const leaders = candidates.filter(c => c.isLeader());
        expect(leaders).toHaveLength(1);
        return [leaders[0], candidates.find(c => !c.isLeader())];
      });
      const labels = { namespace: NS, drill: "lead", target: "web" };
      const fromLeader = parseExposition((await leader?.metrics.metrics()) ?? "");
      expect(valueOf(fromLeader, "rollbackdrill_rollback_ready", labels)).toBe(0);
      const fromStandby = parseExposition((await standby?.metrics.metrics()) ?? "");
      expect(fromStandby.samples.filter(x => x.labels["drill"] === "lead")).toEqual([]);
      expect(valueOf(fromStandby, "rollbackdrill_leader")).toBe(0);
      expect(valueOf(fromLeader, "rollbackdrill_leader")).toBe(1);
    } finally {
      await Promise.all(candidates.map(c => c.stop()));
    }
  });
});
