/**
 * kubectl's DaemonSet commands against the simulator: create, get daemonsets, rollout status /
 * history / undo and set image. What kubectl prints is from kubectl's polymorphichelpers
 * (rollout_status.go DaemonSetStatusViewer, history.go DaemonSetHistoryViewer, rollback.go
 * DaemonSetRollbacker) and the apiserver's printer (printDaemonSet).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/sim/types.ts";
import { PODS, waitForPass } from "../../kit/index.ts";
import {
  HAS_KUBECTL,
  NEEDS_KUBECTL,
  columns,
  lines,
  startKubectlSim,
  type KubectlSim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/agent";
const REVISIONS = { group: "apps", version: "v1", resource: "controllerrevisions" };

function manifest(ns: string, name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: `${REPO}:v1` }] },
      },
      ...spec,
    },
  });
}

describe.skipIf(!HAS_KUBECTL)(
  `kubectl daemonset commands ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    let k: KubectlSim;
    const revisionNumbers = (ns: string): Record<string, number> =>
      Object.fromEntries(
        k.sim.store
          .list(REVISIONS, { namespace: ns })
          .items.map((r): [string, number] => [r.metadata.name ?? "", r["revision"] as number]),
      );
    const podImages = (ns: string): string[] =>
      k.sim.store
        .list(PODS, { namespace: ns })
        .items.filter((p: KubeObject) => p.metadata.deletionTimestamp === undefined)
        .map(p => (p["spec"] as { containers: { image: string }[] }).containers[0]?.image ?? "")
        .sort();

    beforeAll(async () => {
      k = await startKubectlSim();
      for (const tag of ["v1", "v2"]) k.sim.world.images.push(REPO, tag, {});
    });
    afterAll(async () => {
      await k.close();
    });

    it("creates, rolls out, updates, lists history and undoes as kubectl does on a cluster", async () => {
      await k.kubectl("create", "namespace", "ds");
      const file = await k.file("agent.json", manifest("ds", "agent"));
      expect(await k.kubectl("create", "-f", file)).toBe("daemonset.apps/agent created\n");
      const done = lines(
        await k.kubectl("rollout", "status", "daemonset/agent", "-n", "ds", "--timeout=30s"),
      );
      expect(done.at(-1)).toBe('daemon set "agent" successfully rolled out');
      const nodes = k.sim.store.list({ group: "", version: "v1", resource: "nodes" }).items.length;
      const table = lines(await k.kubectl("get", "daemonsets", "-n", "ds"));
      expect(columns(table[0] ?? "")).toEqual([
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
      ]);
      const n = String(nodes);
      expect(columns(table[1] ?? "").slice(0, 7)).toEqual(["agent", n, n, n, n, n, "<none>"]);
      const wide = lines(await k.kubectl("get", "ds", "-n", "ds", "-o", "wide"));
      expect(columns(wide[1] ?? "").slice(8)).toEqual(["app", `${REPO}:v1`, "app=agent"]);
      const r1 = Object.keys(revisionNumbers("ds"))[0] ?? "";

      expect(await k.kubectl("set", "image", "daemonset/agent", `app=${REPO}:v2`, "-n", "ds")).toBe(
        "daemonset.apps/agent image updated\n",
      );
      await k.kubectl("rollout", "status", "daemonset/agent", "-n", "ds", "--timeout=30s");
      await waitForPass(k.sim, "every pod at v2", () => {
        expect(podImages("ds")).toEqual(Array.from({ length: nodes }, () => `${REPO}:v2`));
      });
      const r2 = Object.keys(revisionNumbers("ds")).find(r => r !== r1) ?? "";
      expect(lines(await k.kubectl("rollout", "history", "daemonset/agent", "-n", "ds"))).toEqual([
        "daemonset.apps/agent",
        "REVISION  CHANGE-CAUSE",
        "1         <none>",
        "2         <none>",
      ]);
      expect(await k.kubectl("rollout", "undo", "daemonset/agent", "-n", "ds")).toBe(
        "daemonset.apps/agent rolled back\n",
      );
      await waitForPass(k.sim, "undo rolled out", () => {
        expect(revisionNumbers("ds")).toEqual({ [r1]: 3, [r2]: 2 });
        expect(podImages("ds")).toEqual(Array.from({ length: nodes }, () => `${REPO}:v1`));
      });
    });
  },
);
