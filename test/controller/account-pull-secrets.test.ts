/**
 * A target whose Pods pull a private image with the pull secret of their ServiceAccount (none in
 * the template): production pulls, so the drill must too. The sandbox's Pods run as an account of
 * the sandbox that lists the copied secret, and the rollback passes.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Sim } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import { ADMIN, SECRETS, SERVICEACCOUNTS as ACCOUNTS, waitForPass } from "../kit/index.ts";
import {
  createDrill,
  createNamespace,
  DEPLOYMENTS,
  startScenario,
  waitForVerdict,
  type Scenario,
} from "./scenario-helpers.ts";

const REPO = "registry.example.com/shop/private";

function deployment(image: string, serviceAccountName: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { serviceAccountName, containers: [{ name: "app", image }] },
      },
    },
  };
}

/** Writes the target at `image` and waits until that revision runs (its private image pulled). */
async function rollOut(sim: Sim, image: string, account: string): Promise<void> {
  const current = sim.store.get(DEPLOYMENTS, "shop", "web");
  const desired = deployment(image, account);
  const written =
    current === undefined
      ? sim.store.create(DEPLOYMENTS, desired, ADMIN)
      : sim.store.update(DEPLOYMENTS, { ...current, spec: desired["spec"] }, ADMIN);
  await waitForPass(
    sim,
    "deployment shop/web rolled out",
    () => {
      const status = (sim.store.get(DEPLOYMENTS, "shop", "web")?.["status"] ?? {}) as Record<
        string,
        number | undefined
      >;
      expect(status["observedGeneration"]).toBe(written.metadata.generation);
      expect([status["updatedReplicas"], status["availableReplicas"], status["replicas"]]).toEqual([
        1, 1, 1,
      ]);
    },
    10_000,
  );
}

function regcred(): KubeObject {
  const auths = {
    auths: { "registry.example.com": { auth: Buffer.from("u:p").toString("base64") } },
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "regcred", namespace: "shop" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify(auths)).toString("base64") },
  };
}

describe("image pull secrets from the target's ServiceAccount", () => {
  let s: Scenario;
  afterEach(async () => {
    await s.close();
  });

  it.each(["web", "default"])(
    "a private image pulled through account %s's secret: the drill passes",
    async account => {
      s = await startScenario();
      const { sim } = s;
      createNamespace(sim, "shop");
      const v1 = sim.world.images.push(REPO, "1.0.0", { logLines: ["v1"] });
      const v2 = sim.world.images.push(REPO, "1.1.0", { logLines: ["v2"] });
      sim.world.images.setPrivate(REPO, true);
      sim.store.create(SECRETS, regcred(), ADMIN);
      const body = {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: account, namespace: "shop" },
        imagePullSecrets: [{ name: "regcred" }],
      };
      const existing = sim.store.get(ACCOUNTS, "shop", account);
      if (existing === undefined) sim.store.create(ACCOUNTS, body, ADMIN);
      else
        sim.store.update(ACCOUNTS, { ...existing, imagePullSecrets: body.imagePullSecrets }, ADMIN);
      await rollOut(sim, `${REPO}@${v1}`, account);
      await rollOut(sim, `${REPO}@${v2}`, account);
      createDrill(sim, "shop", "web", {
        targetRef: { kind: "Deployment", name: "web" },
        checks: { stableSeconds: 5 },
      });
      const drill = await waitForVerdict(sim, "shop", "web");
      expect(drill.status?.lastRun?.verdict, drill.status?.lastRun?.message).toBe("Passed");
      expect(drill.status?.lastRun?.evidence?.[0]).toMatchObject({ fromDigest: v2, toDigest: v1 });
    },
  );
});
