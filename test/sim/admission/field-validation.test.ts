/**
 * Server-side field validation on custom resources, as a real apiserver answers it: a typo in a
 * drill (`stableSecond`) is refused under kubectl's default fieldValidation=Strict, warned about
 * under Warn (the server's default), dropped silently under Ignore, for create, update, merge
 * patch and server-side apply; and through the real kubectl.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { unknownFields } from "../../../src/sim/admission/field-validation.ts";
import { ADMIN_TOKEN } from "../../../src/sim/kubeconfig.ts";
import type { Sim } from "../../../src/sim/index.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { CRD_FILE, startSimWithDrills } from "../../kit/index.ts";
import {
  HAS_KUBECTL,
  NEEDS_KUBECTL,
  startKubectlSim,
  type KubectlSim,
} from "../kubectl/harness.ts";

const DRILLS = "/apis/rollbackdrill.io/v1alpha1/namespaces/shop/rollbackdrills";

function drill(name: string, checks: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { name, namespace: "shop" },
    spec: { targetRef: { kind: "Deployment", name: "web" }, checks },
  };
}

describe("fieldValidation on custom resources", () => {
  let sim: Sim;
  const send = async (
    method: string,
    path: string,
    body: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; warnings: string | null; body: Record<string, unknown> }> => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": contentType },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return {
      status: res.status,
      warnings: res.headers.get("warning"),
      body: (await res.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    sim.store.create(
      { group: "", version: "v1", resource: "namespaces" },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      { user: "kubernetes-admin", userAgent: "test" },
    );
  });
  afterAll(async () => {
    await sim.close();
  });

  it("names unknown fields by path, as the apiserver does, from the CRD's schema", async () => {
    const crd = parse(await readFile(CRD_FILE, "utf8")) as KubeObject;
    const versions = (crd["spec"] as { versions: { schema: { openAPIV3Schema: object } }[] })
      .versions;
    const schema = versions[0]?.schema.openAPIV3Schema ?? {};
    expect(
      unknownFields(
        {
          ...drill("x", { stableSecond: 10, timeoutSeconds: 60 }),
          metadata: { name: "x", anything: 1 },
          extra: true,
          spec: {
            targetRef: { kind: "Deployment", name: "web", nmae: "w" },
            checks: { stableSecond: 10 },
            sandbox: {
              env: [
                { name: "A", value: "1" },
                { name: "B", vaule: "2" },
              ],
            },
          },
        },
        schema,
      ),
    ).toEqual([
      "spec.targetRef.nmae",
      "spec.checks.stableSecond",
      "spec.sandbox.env[1].vaule",
      "extra",
    ]);
  });

  it("Strict refuses a create with 400, naming each field", async () => {
    const r = await send(
      "POST",
      `${DRILLS}?fieldValidation=Strict`,
      drill("strict", { stableSecond: 10, timeoutSecond: 60 }),
    );
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      kind: "Status",
      reason: "BadRequest",
      code: 400,
      message:
        'RollbackDrill in version "v1alpha1" cannot be handled as a RollbackDrill: strict decoding error: unknown field "spec.checks.stableSecond", unknown field "spec.checks.timeoutSecond"',
    });
    expect(sim.store.get(DRILL_GVR, "shop", "strict")).toBeUndefined();
  });

  it("Warn (and no directive) accepts it pruned, with one Warning header per field", async () => {
    for (const [name, query] of [
      ["warn", "?fieldValidation=Warn"],
      ["default", ""],
    ] as const) {
      const r = await send("POST", `${DRILLS}${query}`, drill(name, { stableSecond: 10 }));
      expect(r.status).toBe(201);
      expect(r.warnings).toBe('299 - "unknown field \\"spec.checks.stableSecond\\""');
      const checks = (r.body["spec"] as { checks: Record<string, unknown> }).checks;
      expect(checks["stableSecond"]).toBeUndefined();
      expect(checks["stableSeconds"]).toBe(30);
    }
  });

  it("Ignore drops them silently", async () => {
    const r = await send(
      "POST",
      `${DRILLS}?fieldValidation=Ignore`,
      drill("ignore", { stableSecond: 10 }),
    );
    expect(r.status).toBe(201);
    expect(r.warnings).toBeNull();
  });

  it("Strict applies to updates, merge patches and server-side apply too", async () => {
    const created = await send("POST", DRILLS, drill("later", {}));
    expect(created.status).toBe(201);
    const update = await send("PUT", `${DRILLS}/later?fieldValidation=Strict`, {
      ...created.body,
      spec: { targetRef: { kind: "Deployment", name: "web" }, checks: { stableSecond: 1 } },
    });
    expect(update.status).toBe(400);
    expect(update.body["message"]).toMatch(
      /strict decoding error: unknown field "spec.checks.stableSecond"$/,
    );
    const merge = await send(
      "PATCH",
      `${DRILLS}/later?fieldValidation=Strict`,
      { spec: { checks: { stableSecond: 1 } } },
      "application/merge-patch+json",
    );
    expect(merge.status).toBe(400);
    expect(merge.body["message"]).toBe(
      'strict decoding error: unknown field "spec.checks.stableSecond"',
    );
    const apply = await send(
      "PATCH",
      `${DRILLS}/later?fieldValidation=Strict&fieldManager=me`,
      [
        "apiVersion: rollbackdrill.io/v1alpha1",
        "kind: RollbackDrill",
        "metadata: {name: later, namespace: shop}",
        "spec: {targetRef: {kind: Deployment, name: web}, checks: {stableSecond: 1}}",
      ].join("\n"),
      "application/apply-patch+yaml",
    );
    expect(apply.status).toBe(400);
    expect(apply.body["message"]).toBe(
      'strict decoding error: unknown field "spec.checks.stableSecond"',
    );
    const bogus = await send("POST", `${DRILLS}?fieldValidation=Loose`, drill("loose", {}));
    expect(bogus.status).toBe(400);
    expect(bogus.body["message"]).toMatch(/fieldValidation: Unsupported value: "Loose"/);
  });
});

const DRILL_GVR = { group: "rollbackdrill.io", version: "v1alpha1", resource: "rollbackdrills" };

describe.skipIf(!HAS_KUBECTL)(
  `kubectl and a typo in a drill ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    let k: KubectlSim;
    beforeAll(async () => {
      k = await startKubectlSim();
      await k.kubectl("apply", "-f", CRD_FILE.pathname);
      await k.kubectl("create", "namespace", "shop");
      await k.kubectl("wait", "--for=condition=Established", "crd/rollbackdrills.rollbackdrill.io");
    });
    afterAll(async () => {
      await k.close();
    });

    it("apply and create refuse it by default, as a real apiserver does; --validate=warn warns", async () => {
      const file = await k.file(
        "typo.yaml",
        [
          "apiVersion: rollbackdrill.io/v1alpha1",
          "kind: RollbackDrill",
          "metadata: {name: typo, namespace: shop}",
          "spec: {targetRef: {kind: Deployment, name: web}, checks: {stableSecond: 10}}",
        ].join("\n"),
      );
      for (const verb of [["apply"], ["create"], ["apply", "--server-side"]]) {
        const r = await k.run(...verb, "-f", file);
        expect(r.code, r.stderr).not.toBe(0);
        expect(r.stderr).toContain('unknown field "spec.checks.stableSecond"');
      }
      const warned = await k.run("apply", "--validate=warn", "-f", file);
      expect(warned.code, warned.stderr).toBe(0);
      expect(warned.stderr).toContain('unknown field "spec.checks.stableSecond"');
      expect(
        await k.kubectl(
          "get",
          "rollbackdrill",
          "typo",
          "-n",
          "shop",
          "-o",
          "jsonpath={.spec.checks.stableSeconds}",
        ),
      ).toBe("30");
    });
  },
);
