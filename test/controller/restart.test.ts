/**
 * Issue 4: the operator killed at each phase of a run and restarted finishes the run once,
 * correctly, with one sandbox, and leaves none behind. The kill lands the moment the drill's
 * status enters the phase, i.e. after the status write and before that reconcile's actions run:
 * the worst moment, since the new operator must replay those actions from status alone.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunPhase } from "../../src/api/vocabulary.ts";
import { RUN_PHASES } from "../../src/api/vocabulary.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  createDrill,
  DRILLS,
  getDrill,
  phaseIndex,
  RUN_STEPS,
  runsOf,
  sandboxNamespaces,
  setUpBatch,
  startOperatorOn,
  trackSandboxes,
  waitFor,
  waitSettled,
  type OperatorHandle,
} from "../reliability/harness.ts";

describe("the operator killed at each phase of a run", () => {
  let sim: Sim | undefined;
  let operators: OperatorHandle[] = [];
  afterEach(async () => {
    for (const op of operators) await op.kill();
    operators = [];
    await sim?.close();
    sim = undefined;
  });

  // Pinned passes through every phase but SandboxKept (a passed run keeps no sandbox); the
  // :latest war story fails in Verifying (the digest is the same) and its sandbox goes in
  // CleaningUp (these drills keep no failed sandbox: keepOnFailure false).
  const cases: [RunPhase, number][] = [
    ...RUN_STEPS.filter(p => p !== "SandboxKept").map((phase): [RunPhase, number] => [phase, 0]),
    ["Verifying", 1],
    ["CleaningUp", 1],
  ];

  it.each(cases)(
    "killed on entering %s (scenario %i) -> one run, one sandbox",
    async (phase, n) => {
      const s = await startSimWithDrills({ timeScale: 1000 });
      sim = s;
      const [planned] = await setUpBatch(s, {
        count: 1,
        prefix: "restart",
        stableSeconds: 5,
        parallel: 1,
        first: n,
      });
      if (planned === undefined) throw new Error("no scenario");
      const { namespace, name } = planned.manifest.metadata;
      const sandboxes = trackSandboxes(s);
      const first = await startOperatorOn(s, { id: "operator-1" });
      operators.push(first);
      // Kill synchronously inside the store's commit of the status that enters the phase.
      let killedAt: RunPhase | "finished" | undefined;
      const target = RUN_PHASES.indexOf(phase);
      const unsubscribe = s.store.subscribe(event => {
        if (killedAt !== undefined || event.gvr.resource !== DRILLS.resource) return;
        const drill = getDrill(s, namespace, name);
        if (phaseIndex(drill) < target) return;
        killedAt = drill?.status?.currentRun?.phase ?? "finished";
        void first.kill();
      });
      createDrill(s, planned.manifest);
      await waitFor(s, `the kill in ${phase}`, () => killedAt);
      unsubscribe();
      await first.kill();
      expect(killedAt).toBe(phase);

      const second = await startOperatorOn(s, { id: "operator-2" });
      operators.push(second);
      const drill = await waitSettled(s, namespace, name);
      await waitFor(s, "no sandbox left", () =>
        sandboxNamespaces(s).length === 0 ? true : undefined,
      );
      sandboxes.stop();

      const run = drill.status?.lastRun;
      expect(
        { verdict: run?.verdict, reason: run?.reason },
        run?.message ?? JSON.stringify(drill.status),
      ).toEqual({
        verdict: planned.scenario.expected.verdict,
        reason: planned.scenario.expected.reason,
      });
      expect(runsOf(s, drill)).toBe(1);
      expect(drill.status?.history).toHaveLength(1);
      // A run that got as far as naming its sandbox made exactly one, and only the sandbox phases
      // make one at all.
      const made = sandboxes.byDrill.get(drill.metadata.uid)?.size ?? 0;
      expect(made).toBe(run?.sandboxNamespace === undefined ? 0 : 1);
      expect(second.actions()).toBeGreaterThan(0);
    },
  );
});
