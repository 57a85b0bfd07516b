/**
 * Leader election with two operators at once (issues 4 and 7): only the Lease holder acts; a
 * killed leader (no release) is replaced within the lease duration, a stopped one (release) at
 * the standby's next retry; the drills in flight finish once, with one sandbox each.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Sim } from "../../src/sim/index.ts";
import { LEASES, startSimWithDrills } from "../kit/index.ts";
import {
  ADMIN,
  createDrill,
  getDrill,
  NAMESPACES,
  outcomes,
  phaseIndex,
  sandboxNamespaces,
  setUpBatch,
  startOperatorOn,
  trackSandboxes,
  waitFor,
  waitSettled,
  type OperatorHandle,
  type PlannedDrill,
} from "../reliability/harness.ts";
import { RUN_PHASES } from "../../src/api/vocabulary.ts";

const LEASE = { namespace: "rollback-drill-system", name: "rollback-drill-leader" };
/**
 * Twice client-go's defaults, in simulated milliseconds: at a time scale of 100 the lease is
 * 300 real ms, long enough that a loaded host's stalls do not hand it over by themselves.
 */
const ELECTION = {
  lease: LEASE,
  leaseDurationMs: 30_000,
  renewDeadlineMs: 20_000,
  retryPeriodMs: 4_000,
};

/**
 * For "only one acts": a lease long against a loaded host's stalls (600 real ms), so the one
 * leader keeps it for the whole test and any write by the other would be a second actor.
 */
const STEADY = {
  lease: LEASE,
  leaseDurationMs: 60_000,
  renewDeadlineMs: 40_000,
  retryPeriodMs: 5_000,
};

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  acquireTime?: string;
  leaseTransitions?: number;
}

function leaseSpec(sim: Sim): LeaseSpec {
  const lease = sim.store.get(LEASES, LEASE.namespace, LEASE.name);
  return lease?.["spec"] ?? {};
}

function holder(sim: Sim): string | undefined {
  const spec = leaseSpec(sim);
  return spec.holderIdentity === "" ? undefined : spec.holderIdentity;
}

describe("leader election with two operators", () => {
  let sim: Sim;
  let operators: OperatorHandle[] = [];
  let planned: PlannedDrill[];
  let tracker: ReturnType<typeof trackSandboxes>;

  // A time scale of 100: a 15 s lease is 150 real ms, long against a loaded host's stalls.
  const setUp = async (count: number): Promise<void> => {
    sim = await startSimWithDrills({ timeScale: 100 });
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: LEASE.namespace } },
      ADMIN,
    );
    planned = await setUpBatch(sim, { count, prefix: "lead", stableSeconds: 5 });
    tracker = trackSandboxes(sim);
  };
  const start = async (id: string, election = ELECTION): Promise<OperatorHandle> => {
    const op = await startOperatorOn(sim, { id, leaderElection: election });
    operators.push(op);
    return op;
  };
  const settleAll = async (): Promise<void> => {
    for (const { manifest } of planned)
      await waitSettled(sim, manifest.metadata.namespace, manifest.metadata.name);
    await waitFor(sim, "no sandbox left", () =>
      sandboxNamespaces(sim).length === 0 ? true : undefined,
    );
    const results = outcomes(sim, planned, tracker.byDrill);
    expect(results.filter(r => !r.correct)).toEqual([]);
    expect(results.map(r => r.runs)).toEqual(planned.map(() => 1));
    expect(results.every(r => r.sandboxes <= 1)).toBe(true);
  };

  afterEach(async () => {
    tracker.stop();
    for (const op of operators) await op.kill();
    operators = [];
    await sim.close();
  });

  it("lets only the lease holder act", async () => {
    await setUp(3);
    const a = await start("operator-a", STEADY);
    const b = await start("operator-b", STEADY);
    await waitFor(sim, "a leader", () => holder(sim));
    for (const { manifest } of planned) createDrill(sim, manifest);
    await settleAll();
    const [leader, standby] = holder(sim) === "operator-a" ? [a, b] : [b, a];
    expect(leaseSpec(sim).leaseTransitions ?? 0).toBe(0);
    expect(leader.isLeader()).toBe(true);
    expect(standby.isLeader()).toBe(false);
    expect(leader.actions()).toBeGreaterThan(0);
    expect(standby.actions()).toBe(0);
  });

  it("hands over within the lease duration when the leader is killed mid-run", async () => {
    await setUp(2);
    const a = await start("operator-a");
    await waitFor(sim, "operator-a to lead", () =>
      holder(sim) === "operator-a" ? true : undefined,
    );
    const b = await start("operator-b");
    const midRun = RUN_PHASES.indexOf("DeployingCurrent");
    let killedAtMs: number | undefined;
    let lastRenewal: string | undefined;
    const unsubscribe = sim.store.subscribe(() => {
      if (killedAtMs !== undefined) return;
      const { namespace, name } = planned[0]?.manifest.metadata ?? { namespace: "", name: "" };
      if (phaseIndex(getDrill(sim, namespace, name)) < midRun) return;
      killedAtMs = sim.clock.nowMs();
      lastRenewal = leaseSpec(sim).renewTime;
      void a.kill();
    });
    for (const { manifest } of planned) createDrill(sim, manifest);
    await waitFor(sim, "the leader killed mid-run", () => killedAtMs);
    unsubscribe();
    expect(holder(sim)).toBe("operator-a");
    await waitFor(sim, "operator-b to take the lease", () =>
      holder(sim) === "operator-b" ? true : undefined,
    );
    const handoverMs = sim.clock.nowMs() - (killedAtMs ?? Number.NaN);
    // Never before the dead leader's lease ran out; soon after it did.
    const acquired = Date.parse(leaseSpec(sim).acquireTime ?? "");
    expect(
      acquired - Date.parse(lastRenewal ?? ""),
      `acquired ${leaseSpec(sim).acquireTime ?? "?"}, renewed ${lastRenewal ?? "?"}`,
    ).toBeGreaterThanOrEqual(ELECTION.leaseDurationMs);
    expect(handoverMs).toBeLessThanOrEqual(ELECTION.leaseDurationMs + 5 * ELECTION.retryPeriodMs);
    await settleAll();
    expect(b.isLeader()).toBe(true);
    expect(b.actions()).toBeGreaterThan(0);
  });

  it("hands over at the standby's next retry when the leader stops and releases", async () => {
    await setUp(1);
    const a = await start("operator-a");
    await waitFor(sim, "operator-a to lead", () =>
      holder(sim) === "operator-a" ? true : undefined,
    );
    const b = await start("operator-b");
    const { manifest } = planned[0] as PlannedDrill;
    createDrill(sim, manifest);
    await waitFor(sim, "the run to start", () =>
      phaseIndex(getDrill(sim, manifest.metadata.namespace, manifest.metadata.name)) >=
      RUN_PHASES.indexOf("CreatingSandbox")
        ? true
        : undefined,
    );
    // Stopping drains the reconciles in flight first; the lease is released at the end.
    await a.stop();
    const releasedAtMs = sim.clock.nowMs();
    await waitFor(sim, "operator-b to take the lease", () =>
      holder(sim) === "operator-b" ? true : undefined,
    );
    // Well before the lease would have run out.
    expect(sim.clock.nowMs() - releasedAtMs).toBeLessThan(
      ELECTION.leaseDurationMs - ELECTION.retryPeriodMs,
    );
    await settleAll();
    expect(b.actions()).toBeGreaterThan(0);
  });
});
