/**
 * A sandbox write the apiserver refused for good (Forbidden, Invalid) ends the run SandboxError
 * at once, naming the write and where the fix lies; anything else about the refusal (another
 * run's, a write to the drill itself, a finished run) leaves the run to go on as before.
 */
import { describe, expect, it } from "vitest";
import type { CurrentRun, RollbackDrill } from "../../src/api/types.ts";
import type { Action } from "../../src/core/actions.ts";
import { decide } from "../../src/core/decide.ts";
import type { ActionFailure, ObservedSandbox } from "../../src/core/observed.ts";
import { REFUSAL_MAX_CHARS } from "../../src/core/phases.ts";
import {
  aSandbox,
  anObserved,
  at,
  iso,
  PINNED_M as M,
  PINNED_TARGET as target,
  RUN1_SANDBOX as SANDBOX,
  inPhase,
} from "./builders.ts";

/** As the builders' inPhase, the phase entered at t=10 s. */
const inPhaseAt10 = (phase: CurrentRun["phase"], run: Partial<CurrentRun> = {}): RollbackDrill =>
  inPhase(phase, { phaseStartTime: iso(10), ...run });

const labels = { "app.kubernetes.io/managed-by": "rollback-drill" };
const roleBinding: Action = {
  type: "CreateObject",
  manifest: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "rollback-drill-operator", namespace: SANDBOX, labels },
  },
};
const forbidden = (action: Action, runId = "1"): ActionFailure => ({
  runId,
  action,
  kind: "Forbidden",
  message: "user cannot bind",
});

/** The namespace exists, the clone does not (the set-up went part-way). */
function namespaceOnly(drill: RollbackDrill): ObservedSandbox {
  const full = aSandbox(drill, "1", { deployed: [{ template: M }] });
  return { namespace: full.namespace, replicaSets: [], pods: [] };
}

describe("a sandbox write refused for good", () => {
  const refusedWrites: {
    name: string;
    phase: CurrentRun["phase"];
    failure: ActionFailure;
    says: string;
  }[] = [
    {
      name: "the sandbox RoleBinding (no bind on the sandbox role)",
      phase: "CreatingSandbox",
      failure: forbidden(roleBinding),
      says: `create RoleBinding rollback-drill-operator in the sandbox ${SANDBOX} (Forbidden: user cannot bind)`,
    },
    {
      name: "the sandbox namespace (an admission policy)",
      phase: "CreatingSandbox",
      failure: forbidden({ type: "CreateNamespace", name: SANDBOX, labels }),
      says: `create the sandbox Namespace ${SANDBOX} (Forbidden`,
    },
    {
      name: "a copied Secret",
      phase: "CreatingSandbox",
      failure: forbidden({
        type: "CopySecret",
        from: { namespace: "shop", name: "regcred" },
        to: { namespace: SANDBOX, name: "regcred" },
        labels,
      }),
      says: `copy Secret regcred from shop into the sandbox ${SANDBOX}`,
    },
    {
      name: "the undo, rejected as Invalid",
      phase: "CreatingSandbox",
      failure: {
        runId: "1",
        kind: "Invalid",
        message: "spec.template: denied by policy",
        action: {
          type: "UndoDeployment",
          target: { namespace: SANDBOX, name: "web" },
          patch: [],
        },
      },
      says: `undo the clone Deployment web in the sandbox ${SANDBOX} (Invalid: spec.template: denied by policy): the object was rejected`,
    },
  ];

  it.each(refusedWrites)("ends the run SandboxError: $name", ({ phase, failure, says }) => {
    const drill = inPhaseAt10(phase);
    const d = decide(
      drill,
      anObserved({ target, sandbox: namespaceOnly(drill), actionFailure: failure }),
      at(11),
    );
    expect(d.status.lastRun).toMatchObject({ verdict: "Error", reason: "SandboxError" });
    // The message is in lastRun only; the headline points to it.
    expect(d.status.message).toMatch(
      /^Run \d+ ended Error \(SandboxError\).*: see status\.lastRun\.message\.$/,
    );
    expect(d.status.lastRun?.message).toContain(says);
    expect(d.status.lastRun?.message).toContain("config/rbac and config/policy");
    expect(d.status.currentRun?.phase).toBe("SandboxKept");
    // Not the set-up again: the write would only be refused again.
    expect(d.actions.map(a => a.type)).not.toContain("CreateObject");
  });

  it("says what the Forbidden means: rights in config/rbac (bind included) or a policy", () => {
    const drill = inPhaseAt10("CreatingSandbox");
    const d = decide(drill, anObserved({ target, actionFailure: forbidden(roleBinding) }), at(11));
    expect(d.status.lastRun?.message).toMatch(/bind on the rollback-drill-sandbox ClusterRole/);
    expect(d.status.lastRun?.message).toMatch(
      /admission policy denies the write \(config\/policy\)/,
    );
  });

  it("quotes a long apiserver message only in part, so the status stays within its limits", () => {
    const drill = inPhaseAt10("CreatingSandbox");
    const long = { ...forbidden(roleBinding), message: "x".repeat(REFUSAL_MAX_CHARS * 3) };
    const d = decide(drill, anObserved({ target, actionFailure: long }), at(11));
    expect(d.status.lastRun?.message).toContain(`${"x".repeat(REFUSAL_MAX_CHARS)}...)`);
    expect(d.status.lastRun?.message?.length).toBeLessThan(4096);
  });

  const ignored: { name: string; drill: RollbackDrill; failure: ActionFailure }[] = [
    {
      name: "another run's refusal",
      drill: inPhaseAt10("CreatingSandbox"),
      failure: forbidden(roleBinding, "7"),
    },
    {
      name: "a refused write to the drill itself",
      drill: inPhaseAt10("CreatingSandbox"),
      failure: forbidden({ type: "EnsureFinalizer" }),
    },
    {
      name: "a refused delete of the sandbox",
      drill: inPhaseAt10("CreatingSandbox"),
      failure: forbidden({ type: "DeleteNamespace", name: SANDBOX, expectLabels: labels }),
    },
  ];

  it.each(ignored)("goes on as without it: $name", ({ drill, failure }) => {
    const observed = anObserved({ target, sandbox: namespaceOnly(drill) });
    const without = decide(drill, observed, at(11));
    const withIt = decide(drill, { ...observed, actionFailure: failure }, at(11));
    expect(withIt).toEqual(without);
    expect(withIt.status.lastRun).toBeUndefined();
  });

  it("leaves a finished run's verdict alone", () => {
    const drill = inPhaseAt10("CleaningUp", {
      verdict: "Failed",
      reason: "SameDigest",
      message: "same digest",
      completionTime: iso(10),
    });
    const observed = anObserved({ target, sandbox: namespaceOnly(drill) });
    const withIt = decide(drill, { ...observed, actionFailure: forbidden(roleBinding) }, at(11));
    expect(withIt).toEqual(decide(drill, observed, at(11)));
  });
});
