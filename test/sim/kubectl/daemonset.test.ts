/**
 * kubectl's DaemonSet commands against the simulator: create, get daemonsets, rollout status /
 * history / undo and set image. What kubectl prints is from kubectl's polymorphichelpers
 * (rollout_status.go DaemonSetStatusViewer, history.go DaemonSetHistoryViewer, rollback.go
 * DaemonSetRollbacker) and the apiserver's printer (printDaemonSet).
 */
import { describe, expect, it } from "vitest";
import { waitForPass } from "../../kit/index.ts";
import {
  HAS_KUBECTL,
  NEEDS_KUBECTL,
  appsManifest,
  columns,
  kubectlSimWithImages,
  liveImages,
  lines,
  revisionNumbers as revisionsIn,
} from "./harness.ts";

const REPO = "registry.example.com/shop/agent";

const manifest = (ns: string, name: string, spec: Record<string, unknown> = {}): string =>
  appsManifest({ kind: "DaemonSet", image: `${REPO}:v1` }, ns, name, spec);

describe.skipIf(!HAS_KUBECTL)(
  `kubectl daemonset commands ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    const k = kubectlSimWithImages(REPO, ["v1", "v2"]);
    const revisionNumbers = (ns: string): Record<string, number> => revisionsIn(k, ns);
    const podImages = (ns: string): string[] =>
      liveImages(k, ns)
        .map(([, image]) => image)
        .sort();

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
