/**
 * ServiceAccounts as a pull depends on them: every namespace gets a "default" one (the
 * ServiceAccount controller), and a new Pod without image pull secrets takes its account's
 * (the ServiceAccount admission plugin), so they show in the Pod's spec and a private image pulls.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  waitForPass,
  NAMESPACES,
  SERVICEACCOUNTS as ACCOUNTS,
  SECRETS,
  PODS,
} from "../../kit/index.ts";
import { startSim, type Sim } from "../../../src/sim/index.ts";
import type { Actor, KubeObject } from "../../../src/sim/types.ts";
import { pullSecretObject } from "./harness.ts";

const ADMIN: Actor = { user: "kubernetes-admin", manager: "kubectl", userAgent: "kubectl/v1.36.3" };
const REPO = "registry.example.com/shop/private";

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function namespace(s: Sim, name: string): void {
  s.store.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, ADMIN);
}

function pod(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop" },
    spec: { containers: [{ name: "app", image: `${REPO}:v1` }], ...spec },
  };
}

function pullSecret(s: Sim, name: string): void {
  s.store.create(SECRETS, pullSecretObject(name, "shop"), ADMIN);
}

/** A simulator with a private repository, namespace shop and its pull secret "regcred". */
async function privateRegistry(): Promise<Sim> {
  sim = await startSim({ timeScale: 100 });
  sim.world.images.push(REPO, "v1");
  sim.world.images.setPrivate(REPO, true);
  namespace(sim, "shop");
  pullSecret(sim, "regcred");
  return sim;
}

const phase = (s: Sim, name: string): unknown =>
  (s.store.get(PODS, "shop", name)?.["status"] as { phase?: string } | undefined)?.phase;

describe("ServiceAccounts", () => {
  it("every namespace has a default ServiceAccount, made again when it is deleted", async () => {
    sim = await startSim({ timeScale: 100 });
    const s = sim;
    await waitForPass(s, "the default ServiceAccount of kube-system", () => {
      expect(s.store.get(ACCOUNTS, "kube-system", "default")).toBeDefined();
    });
    namespace(s, "shop");
    await waitForPass(s, "the default ServiceAccount of shop", () => {
      expect(s.store.get(ACCOUNTS, "shop", "default")).toBeDefined();
    });
    const first = s.store.get(ACCOUNTS, "shop", "default")?.metadata.uid;
    s.store.delete(ACCOUNTS, "shop", "default", ADMIN);
    await waitForPass(s, "the default ServiceAccount of shop made again", () => {
      const again = s.store.get(ACCOUNTS, "shop", "default");
      expect(again?.metadata.uid).toBeDefined();
      expect(again?.metadata.uid).not.toBe(first);
    });
  });

  it("a Pod without pull secrets takes its ServiceAccount's, and pulls a private image", async () => {
    const s = await privateRegistry();
    pullSecret(s, "own");
    s.store.create(
      ACCOUNTS,
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "web", namespace: "shop" },
        imagePullSecrets: [{ name: "regcred" }],
      },
      ADMIN,
    );
    const created = s.store.create(PODS, pod("web-1", { serviceAccountName: "web" }), ADMIN);
    expect((created["spec"] as { imagePullSecrets?: unknown }).imagePullSecrets).toEqual([
      { name: "regcred" },
    ]);
    // A Pod's own list wins: the account's is not added to it.
    const own = s.store.create(
      PODS,
      pod("web-2", { serviceAccountName: "web", imagePullSecrets: [{ name: "own" }] }),
      ADMIN,
    );
    expect((own["spec"] as { imagePullSecrets?: unknown }).imagePullSecrets).toEqual([
      { name: "own" },
    ]);
    await waitForPass(
      s,
      "pod web-1 Running",
      () => {
        expect(phase(s, "web-1")).toBe("Running");
      },
      10_000,
    );
    // An account that does not exist: refused, as the plugin refuses it.
    expect(() =>
      s.store.create(PODS, pod("ghost-1", { serviceAccountName: "ghost" }), ADMIN),
    ).toThrow(
      'pods "ghost-1" is forbidden: error looking up service account shop/ghost: serviceaccount "ghost" not found',
    );
  });

  it("a Pod on an account without pull secrets cannot pull a private image", async () => {
    const s = await privateRegistry();
    const created = s.store.create(PODS, pod("anon"), ADMIN);
    expect((created["spec"] as { imagePullSecrets?: unknown }).imagePullSecrets).toBeUndefined();
    await waitForPass(
      s,
      "pod anon waiting",
      () => {
        const status = s.store.get(PODS, "shop", "anon")?.["status"] as
          { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } | undefined;
        expect(status?.containerStatuses?.[0]?.state?.waiting?.reason).toMatch(
          /ErrImagePull|ImagePullBackOff/,
        );
      },
      10_000,
    );
  });
});
