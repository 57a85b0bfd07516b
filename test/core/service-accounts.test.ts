/**
 * Image pull secrets that come from a ServiceAccount: the ServiceAccount admission plugin gives a
 * Pod without a list of its own its account's, so a private image pulls in production with no
 * secret in the template. The sandbox must give its Pods the same, or the drill would report a
 * pull failure production never has.
 */
import { describe, expect, it } from "vitest";
import type { Action } from "../../src/core/actions.ts";
import type { AccountSource } from "../../src/core/observed.ts";
import { preflight } from "../../src/core/preflight.ts";
import {
  accountPullSecrets,
  accountsToLookUp,
  objectsToLookUp,
  templateReferences,
} from "../../src/core/refs.ts";
import {
  SANDBOX_DEFAULT_ACCOUNT,
  sandboxSetupActions,
  sandboxTemplate,
} from "../../src/core/sandbox.ts";
import { aCompleteDeployment, aDrill, aTemplate, sha } from "./builders.ts";

const IMAGE = `registry.example.com/shop/web@sha256:${sha("a")}`;
const onDefault = aTemplate([{ name: "app", image: IMAGE }]);
const onWeb = aTemplate([{ name: "app", image: IMAGE }], { serviceAccountName: "web" });
const ownList = aTemplate([{ name: "app", image: IMAGE }], {
  serviceAccountName: "web",
  imagePullSecrets: [{ name: "own" }],
});
const accounts: Record<string, AccountSource> = {
  default: { state: "Present", imagePullSecrets: ["regcred"] },
  web: { state: "Present", imagePullSecrets: ["webcred", "regcred"] },
};

function setup(templates: (typeof onDefault)[], present: string[]): Action[] {
  return sandboxSetupActions(
    {
      drill: aDrill(),
      runId: "1",
      namespace: "rbd-x",
      templates,
      operator: { serviceAccountName: "rollback-drill-operator", namespace: "rollback-drill" },
    },
    { configMaps: new Set(), secrets: new Set(present), accounts },
  );
}

/** The sandbox accounts created: name, namespace, token automount and pull secrets. */
const accountsCreated = (actions: Action[]): Record<string, unknown>[] =>
  actions.flatMap(a =>
    a.type === "CreateObject" && a.manifest.kind === "ServiceAccount"
      ? [
          {
            name: a.manifest.metadata.name,
            namespace: a.manifest.metadata.namespace,
            automount: a.manifest["automountServiceAccountToken"],
            pulls: a.manifest["imagePullSecrets"],
          },
        ]
      : [],
  );
const secretsCopied = (actions: Action[]): string[] =>
  actions.flatMap(a => (a.type === "CopySecret" ? [a.from.name] : []));

describe("pull secrets from a ServiceAccount", () => {
  it("are the account's only when the template has no list of its own", () => {
    expect(accountPullSecrets(onDefault, accounts)).toEqual(["regcred"]);
    expect(accountPullSecrets(onWeb, accounts)).toEqual(["webcred", "regcred"]);
    expect(accountPullSecrets(ownList, accounts)).toEqual([]);
    expect(accountPullSecrets(onWeb, undefined)).toEqual([]);
    expect(
      accountPullSecrets(onWeb, { web: { state: "Forbidden", imagePullSecrets: [] } }),
    ).toEqual([]);
  });

  it("are looked up and referenced, naming the account they come from", () => {
    expect(accountsToLookUp([onWeb, onDefault, ownList])).toEqual(["default", "web"]);
    expect(objectsToLookUp(aDrill(), [onWeb], accounts).secrets).toEqual(["regcred", "webcred"]);
    expect(objectsToLookUp(aDrill(), [onWeb]).secrets).toEqual([]);
    expect(templateReferences(onWeb, accounts)).toEqual([
      {
        kind: "Secret",
        name: "webcred",
        from: 'serviceAccount "web"',
        optional: false,
        pull: true,
      },
      {
        kind: "Secret",
        name: "regcred",
        from: 'serviceAccount "web"',
        optional: false,
        pull: true,
      },
    ]);
  });

  it("are copied and listed on the sandbox's account, the default one stood in for", () => {
    const actions = setup([onDefault, onWeb], ["regcred", "webcred"]);
    expect(secretsCopied(actions)).toEqual(["regcred", "webcred"]);
    expect(accountsCreated(actions)).toEqual([
      {
        name: SANDBOX_DEFAULT_ACCOUNT,
        namespace: "rbd-x",
        automount: false,
        pulls: [{ name: "regcred" }],
      },
      {
        name: "web",
        namespace: "rbd-x",
        automount: false,
        pulls: [{ name: "regcred" }, { name: "webcred" }],
      },
    ]);
  });

  it("that could not be copied are not listed, and a template's own list adds none", () => {
    const missing = setup([onWeb], ["regcred"]);
    expect(secretsCopied(missing)).toEqual(["regcred"]);
    expect(accountsCreated(missing).map(a => a["pulls"])).toEqual([[{ name: "regcred" }]]);
    const own = setup([ownList], ["own", "regcred", "webcred"]);
    expect(secretsCopied(own)).toEqual(["own"]);
    expect(accountsCreated(own).map(a => a["pulls"])).toEqual([undefined]);
  });

  it("reach the sandbox's Pods through the account the clone's template names", () => {
    // Both fields, as the apiserver stores a template, so the clone read back equals what was sent.
    expect(sandboxTemplate(onDefault, aDrill(), "1").spec).toMatchObject({
      serviceAccountName: SANDBOX_DEFAULT_ACCOUNT,
      serviceAccount: SANDBOX_DEFAULT_ACCOUNT,
    });
    expect(sandboxTemplate(onWeb, aDrill(), "1").spec).toMatchObject({
      serviceAccountName: "web",
      serviceAccount: "web",
    });
    const alias = aTemplate([{ name: "app", image: IMAGE }], { serviceAccount: "default" });
    expect(sandboxTemplate(alias, aDrill(), "1").spec).toMatchObject({
      serviceAccountName: SANDBOX_DEFAULT_ACCOUNT,
      serviceAccount: SANDBOX_DEFAULT_ACCOUNT,
    });
  });

  it("that the operator may not read stop the run before the sandbox, naming them and the account", () => {
    const input = {
      drill: aDrill(),
      target: aCompleteDeployment(onWeb),
      toTemplate: onWeb,
      fromTemplate: onWeb,
      toRevision: 1,
      secrets: { webcred: "Present", regcred: "Forbidden" } as const,
    };
    expect(preflight(input).blocked).toBeUndefined();
    const blocked = preflight({ ...input, accounts }).blocked;
    expect(blocked?.reason).toBe("SandboxError");
    expect(blocked?.message).toContain('Secret "regcred" (serviceAccount "web" of revision 1)');
    expect(blocked?.message).toContain("rollback-drill-secret-reader");
  });
});
