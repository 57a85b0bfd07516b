/**
 * Issue 7 (c): over 200 generated malformed or hostile drills, sent over HTTP as a user would.
 * Each is rejected by the CRD schema with a message naming the field, or is admitted and ends
 * with an Error (InvalidSpec naming the field; TargetNotFound for a target that pruning left in
 * the drill's own namespace) or, for a toRevision that does not exist, NoRevisionHistory. The
 * operator never crashes and never acts on them: no sandbox namespace is created, nothing is
 * written in the target's namespace but drills and Events, nothing at all in anyone else's; and
 * a good drill afterwards still passes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GROUP,
  LABEL_DRILL_NAME,
  LABEL_DRILL_NAMESPACE,
  LABEL_DRILL_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  PLURAL,
  VERSION,
} from "../../src/api/vocabulary.ts";
import { ADMIN_TOKEN } from "../../src/sim/kubeconfig.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  badNames,
  FOREIGN,
  generate,
  NS,
  OTHER_SANDBOX,
  type Case,
  type Json,
} from "./hostile-drills.ts";
import {
  ADMIN,
  createDrill,
  getDrill,
  NAMESPACES,
  setUpBatch,
  startOperatorOn,
  trackSandboxes,
  waitFor,
  waitSettled,
  type OperatorHandle,
  type PlannedDrill,
} from "./harness.ts";

async function post(sim: Sim, body: Record<string, Json>): Promise<{ code: number; text: string }> {
  const res = await fetch(`${sim.url}/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { code: res.status, text: await res.text() };
}

describe("malformed and hostile drills", () => {
  let sim: Sim;
  let operator: OperatorHandle;
  let target: PlannedDrill;
  let startSeq: number;
  const tracker: { current?: ReturnType<typeof trackSandboxes> } = {};

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    [target] = (await setUpBatch(sim, { count: 1, prefix: "hostile" })) as [PlannedDrill];
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: FOREIGN } },
      ADMIN,
    );
    // Another drill's sandbox, as its labels say.
    sim.store.create(
      NAMESPACES,
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: OTHER_SANDBOX,
          labels: {
            [LABEL_MANAGED_BY]: MANAGED_BY,
            [LABEL_DRILL_UID]: "7f3a2c00-0000-4000-8000-000000000000",
            [LABEL_DRILL_NAMESPACE]: "team-b",
            [LABEL_DRILL_NAME]: "other",
          },
        },
      },
      ADMIN,
    );
    startSeq = sim.audit.entries().at(-1)?.seq ?? 0;
    tracker.current = trackSandboxes(sim);
    operator = await startOperatorOn(sim, { id: "operator" });
  });
  afterAll(async () => {
    tracker.current?.stop();
    await operator.kill();
    await sim.close();
  });

  it("rejects each with a field message, or ends it as an Error naming the field", async () => {
    const cases = [...generate(), ...badNames()];
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const admitted: Case[] = [];
    const problems: string[] = [];
    for (let i = 0; i < cases.length; i += 25) {
      const chunk = cases.slice(i, i + 25);
      const answers = await Promise.all(chunk.map(c => post(sim, c.body)));
      chunk.forEach((c, k) => {
        const { code, text } = answers[k] ?? { code: 0, text: "" };
        if (code === 201) {
          if (c.admitted.length === 0) problems.push(`${c.id} (${c.field}) was admitted`);
          else admitted.push(c);
        } else if (code !== 422 && code !== 400) {
          problems.push(`${c.id}: HTTP ${code} ${text.slice(0, 200)}`);
        } else if (!text.includes(c.field)) {
          problems.push(`${c.id}: the rejection does not name ${c.field}: ${text.slice(0, 300)}`);
        }
      });
    }
    expect(problems).toEqual([]);
    for (const c of admitted) {
      const name = c.id;
      const drill = await waitSettled(sim, NS, name);
      const run = drill.status?.lastRun;
      expect(c.admitted, `${name}: ${run?.reason ?? "?"} ${run?.message ?? ""}`).toContain(
        run?.reason,
      );
      expect(run?.verdict).toBe(run?.reason === "NoRevisionHistory" ? "Failed" : "Error");
      if (run?.reason === "InvalidSpec") expect(run.message).toContain(c.field);
      expect(run?.sandboxNamespace).toBeUndefined();
    }
    // Pruned, not obeyed: no drill names a namespace other than its own for its target.
    const pruned = getDrill(sim, NS, admitted.find(c => c.field === "spec")?.id ?? "");
    expect(JSON.stringify(pruned?.spec)).not.toContain("kube-system");

    // The operator acted on none of them.
    expect([...(tracker.current?.byDrill.keys() ?? [])]).toEqual([]);
    const writes = sim.audit
      .entries({ source: "request" })
      .filter(e => e.seq > startSeq && !["get", "list", "watch"].includes(e.verb))
      .filter(e => e.resource !== "rollbackdrills" && e.resource !== "events")
      .map(e => `${e.verb} ${e.namespace ?? ""}/${e.resource}/${e.name ?? ""}`);
    expect(writes).toEqual([]);
  }, 60_000);

  it("still drills a good drill afterwards", async () => {
    createDrill(sim, target.manifest);
    const drill = await waitSettled(sim, NS, target.manifest.metadata.name);
    expect(drill.status?.lastRun?.reason, drill.status?.lastRun?.message).toBe("Passed");
    await waitFor(sim, "its sandbox gone", () =>
      sim.store.list(NAMESPACES, { labelSelector: `${LABEL_DRILL_UID}=${drill.metadata.uid}` })
        .items.length === 0
        ? true
        : undefined,
    );
  });
});
