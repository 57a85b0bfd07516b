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
import type { Reason } from "../../src/api/vocabulary.ts";
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
import { startSimWithCrd } from "../kube/sim-helpers.ts";
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

const NS = "hostile-0";
const FOREIGN = "payments";
const OTHER_SANDBOX = "rbd-other-7f3a2c-1";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

interface Case {
  id: string;
  /** The field a rejection must name. */
  field: string;
  /** What an admitted drill may end with. */
  admitted: readonly Reason[];
  body: Record<string, Json>;
}

const BASE_SPEC = (): Record<string, Json> => ({
  targetRef: { kind: "Deployment", name: "pinned-web" },
  checks: { stableSeconds: 5, timeoutSeconds: 7200 },
  sandbox: { keepOnFailure: false },
});

function setPath(obj: Record<string, Json>, path: readonly string[], value: Json): void {
  let at: Record<string, Json> = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, Json>;
  }
  at[path.at(-1) ?? ""] = value;
}

const HUGE = "a".repeat(20_000);
const UNICODE = "ⓡⓞⓛⓛⓑⓐⓒⓚ-💥";
const BAD_PATTERNED: Json[] = [
  123,
  true,
  {},
  [],
  "",
  UNICODE,
  HUGE,
  "has space",
  "UPPER",
  "../etc",
];
const BAD_ENUM: Json[] = [123, "", UNICODE, "Bogus", HUGE];
const BAD_INT: Json[] = ["1", 1.5, -1, 1e13, true, {}, [], UNICODE];
const BAD_BOOL: Json[] = ["true", 1, {}, [], UNICODE];
const BAD_ARRAY: Json[] = ["x", 5, {}, [5], [UNICODE], Array.from({ length: 100 }, () => "a")];

const TYPED_FIELDS: [string, Json[]][] = [
  ["targetRef.name", BAD_PATTERNED],
  ["schedule", BAD_PATTERNED],
  ["sandbox.namespace", BAD_PATTERNED],
  ["timeZone", BAD_PATTERNED],
  ["targetRef.kind", BAD_ENUM],
  ["targetRef.apiVersion", BAD_ENUM],
  ["sandbox.networkIsolation", BAD_ENUM],
  ["checks.digestPolicy", BAD_ENUM],
  ["checks.pinnedImages", BAD_ENUM],
  ["toRevision", BAD_INT],
  ["historyLimit", BAD_INT],
  ["sandbox.replicas", BAD_INT],
  ["sandbox.ttlSecondsAfterFinished", BAD_INT],
  ["checks.stableSeconds", BAD_INT],
  ["checks.timeoutSeconds", BAD_INT],
  ["checks.maxRollbackSeconds", BAD_INT],
  ["suspend", BAD_BOOL],
  ["rerunOnNewRevision", BAD_BOOL],
  ["sandbox.keepOnFailure", BAD_BOOL],
  ["sandbox.copyReferencedConfigMaps", BAD_BOOL],
  ["sandbox.copySecrets", BAD_ARRAY],
  ["sandbox.env", BAD_ARRAY],
];

function drillBody(name: string, spec: Record<string, Json>): Record<string, Json> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "RollbackDrill",
    metadata: { name, namespace: NS },
    spec,
  };
}

/** A spec with one field changed; `field` is relative to spec. */
function withField(field: string, value: Json, base = BASE_SPEC()): Record<string, Json> {
  setPath(base, field.split("."), value);
  return base;
}

function generate(): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const add = (field: string, admitted: readonly Reason[], spec: Record<string, Json>): void => {
    const id = `bad-${String(n++).padStart(3, "0")}`;
    cases.push({ id, field, admitted, body: drillBody(id, spec) });
  };
  // Wrong types, huge and unicode strings, out-of-range numbers: the schema's to reject.
  for (const [field, values] of TYPED_FIELDS)
    for (const value of values) add(`spec.${field}`, [], withField(field, value));
  // Hostile sandbox namespaces.
  for (const ns of ["kube-system", "default", "kube-public", "kube-node-lease", "kube-anything"])
    add("spec.sandbox.namespace", [], withField("sandbox.namespace", ns));
  add("spec.sandbox.namespace", [], withField("sandbox.namespace", "a".repeat(64)));
  for (const ns of [NS, FOREIGN, OTHER_SANDBOX])
    add("spec.sandbox.namespace", ["InvalidSpec"], withField("sandbox.namespace", ns));
  // Cron that never fires (or cannot be parsed), and unknown time zones.
  for (const day of ["30", "31"])
    for (const minute of ["0", "5", "15", "30", "45"])
      add("spec.schedule", ["InvalidSpec"], withField("schedule", `${minute} 0 ${day} 2 *`));
  for (const month of ["4", "6", "9", "11"])
    add("spec.schedule", ["InvalidSpec"], withField("schedule", `0 0 31 ${month} *`));
  for (const cron of ["61 * * * *", "0 25 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 9"])
    add("spec.schedule", ["InvalidSpec"], withField("schedule", cron));
  for (const tz of ["Mars/Olympus_Mons", "Etc/Nowhere", "Europe/Atlantis"]) {
    const spec = withField("schedule", "0 3 * * *");
    add("spec.timeZone", ["InvalidSpec"], withField("timeZone", tz, spec));
  }
  // Cross-field rules the CRD carries as CEL.
  add("spec.timeZone", [], withField("timeZone", "UTC"));
  for (const stable of [7200, 9000])
    add("spec.checks.stableSeconds", [], withField("checks.stableSeconds", stable));
  add("spec.checks.maxRollbackSeconds", [], withField("checks.maxRollbackSeconds", 8000));
  // Duplicate env overrides.
  for (const container of ["", "app"]) {
    const env = [
      { container, name: "DATABASE_URL", value: "a" },
      { container, name: "DATABASE_URL", value: "b" },
    ];
    add("spec.sandbox.env", ["InvalidSpec"], withField("sandbox.env", env));
  }
  // Revisions that do not exist.
  for (const revision of [3, 99, 2147483647])
    add("spec.toRevision", ["NoRevisionHistory"], withField("toRevision", revision));
  // Fields naming other namespaces: not in the schema, pruned; the target stays in NS.
  for (const path of ["targetRef.namespace", "namespace", "sandbox.targetNamespace"]) {
    const spec = withField("targetRef.name", "coredns");
    add("spec", ["TargetNotFound"], withField(path, "kube-system", spec));
  }
  return cases;
}

/** Bad names, sent with a valid spec. */
function badNames(): Case[] {
  return ["a".repeat(254), "Bad_Name", "名前", "-lead", "trail-", "a.b..c", ""].map((name, i) => ({
    id: `name-${i}`,
    field: "metadata.name",
    admitted: [],
    body: drillBody(name, BASE_SPEC()),
  }));
}

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
    sim = await startSimWithCrd({ timeScale: 1000 });
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
