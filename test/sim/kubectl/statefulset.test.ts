/**
 * kubectl's StatefulSet commands against the simulator: create, get (statefulsets and
 * controllerrevisions), rollout status / history / undo, set image and delete pod. What kubectl
 * prints is from kubectl's polymorphichelpers (rollout_status.go StatefulSetStatusViewer,
 * history.go StatefulSetHistoryViewer, rollback.go StatefulSetRollbacker) and the apiserver's
 * printers (printStatefulSet, printControllerRevision).
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

const REPO = "registry.example.com/shop/db";
const STATEFULSETS = { group: "apps", version: "v1", resource: "statefulsets" };
const HASH = "[bcdfghjklmnpqrstvwxz2456789]{1,10}";

const manifest = (ns: string, name: string, spec: Record<string, unknown> = {}): string =>
  appsManifest(
    { kind: "StatefulSet", image: `${REPO}:v1`, base: { replicas: 2, serviceName: name } },
    ns,
    name,
    spec,
  );

describe.skipIf(!HAS_KUBECTL)(
  `kubectl statefulset commands ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    const k = kubectlSimWithImages(REPO, ["v1", "v2", "v3"]);
    const revisionNumbers = (ns: string): Record<string, number> => revisionsIn(k, ns);
    const status = (ns: string, name: string): Record<string, unknown> =>
      (k.sim.store.get(STATEFULSETS, ns, name)?.["status"] ?? {}) as Record<string, unknown>;
    const podImages = (ns: string, name: string): Record<string, string> =>
      Object.fromEntries(liveImages(k, ns, p => p.metadata.labels?.["app"] === name));

    it("creates, rolls out, updates, lists history and undoes as kubectl does on a cluster", async () => {
      await k.kubectl("create", "namespace", "sts");
      const file = await k.file("db.json", manifest("sts", "db"));
      expect(await k.kubectl("create", "-f", file)).toBe("statefulset.apps/db created\n");
      // A defaulted RollingUpdate has rollingUpdate.partition 0: the "partitioned" wording.
      const done = lines(
        await k.kubectl("rollout", "status", "statefulset/db", "-n", "sts", "--timeout=30s"),
      );
      expect(done.at(-1)).toBe("partitioned roll out complete: 2 new pods have been updated...");
      const table = lines(await k.kubectl("get", "statefulsets", "-n", "sts"));
      expect(columns(table[0] ?? "")).toEqual(["NAME", "READY", "AGE"]);
      expect(columns(table[1] ?? "").slice(0, 2)).toEqual(["db", "2/2"]);
      const wide = lines(await k.kubectl("get", "sts", "-n", "sts", "-o", "wide"));
      expect(columns(wide[0] ?? "")).toEqual(["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]);
      expect(columns(wide[1] ?? "").slice(3)).toEqual(["app", `${REPO}:v1`]);
      const revs = lines(await k.kubectl("get", "controllerrevisions", "-n", "sts"));
      expect(columns(revs[0] ?? "")).toEqual(["NAME", "CONTROLLER", "REVISION", "AGE"]);
      expect(columns(revs[1] ?? "").slice(0, 3)).toEqual([
        status("sts", "db")["updateRevision"],
        "statefulset.apps/db",
        "1",
      ]);
      expect(status("sts", "db")["updateRevision"]).toMatch(new RegExp(`^db-${HASH}$`));
      const r1 = String(status("sts", "db")["updateRevision"]);

      expect(await k.kubectl("set", "image", "statefulset/db", `app=${REPO}:v2`, "-n", "sts")).toBe(
        "statefulset.apps/db image updated\n",
      );
      await k.kubectl("rollout", "status", "statefulset/db", "-n", "sts", "--timeout=30s");
      await waitForPass(k.sim, "both pods at v2", () => {
        expect(podImages("sts", "db")).toEqual({ "db-0": `${REPO}:v2`, "db-1": `${REPO}:v2` });
      });
      const r2 = String(status("sts", "db")["updateRevision"]);
      expect(r2).not.toBe(r1);
      expect(lines(await k.kubectl("rollout", "history", "statefulset/db", "-n", "sts"))).toEqual([
        "statefulset.apps/db",
        "REVISION  CHANGE-CAUSE",
        "1         <none>",
        "2         <none>",
      ]);
      const rev1 = await k.kubectl(
        "rollout",
        "history",
        "statefulset/db",
        "-n",
        "sts",
        "--revision=1",
      );
      expect(rev1).toContain(`Image:\t${REPO}:v1`);

      expect(await k.kubectl("rollout", "undo", "statefulset/db", "-n", "sts")).toBe(
        "statefulset.apps/db rolled back\n",
      );
      await waitForPass(k.sim, "undo rolled out", () => {
        expect(revisionNumbers("sts")).toEqual({ [r1]: 3, [r2]: 2 });
        expect(status("sts", "db")["currentRevision"]).toBe(r1);
        expect(podImages("sts", "db")).toEqual({ "db-0": `${REPO}:v1`, "db-1": `${REPO}:v1` });
      });
      expect(
        await k.kubectl("rollout", "undo", "statefulset/db", "-n", "sts", "--to-revision=2"),
      ).toBe("statefulset.apps/db rolled back\n");
      await waitForPass(k.sim, "undo to revision 2 rolled out", () => {
        expect(revisionNumbers("sts")).toEqual({ [r1]: 3, [r2]: 4 });
        expect(status("sts", "db")["currentRevision"]).toBe(r2);
      });
      // rollback.go statefulsetMatch compares the revision's bytes with kubectl's own encoding
      // of the set; kubectl v1.32 (here) writes "creationTimestamp":null in the template, v1.36
      // and the v1.36 controller do not, so its "skipped rollback" is observed by the fidelity
      // suite's kubectl v1.36 (e2e/fidelity/observations.ts, statefulset script).
      const missing = await k.run(
        "rollout",
        "undo",
        "statefulset/db",
        "-n",
        "sts",
        "--to-revision=9",
      );
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("unable to find specified revision 9 in history");
    });

    it("keeps OnDelete pods until kubectl delete pod, then brings them back updated", async () => {
      await k.kubectl("create", "namespace", "ondelete");
      const file = await k.file(
        "od.json",
        manifest("ondelete", "od", { updateStrategy: { type: "OnDelete" } }),
      );
      await k.kubectl("create", "-f", file);
      await waitForPass(k.sim, "two ready", () => {
        expect(status("ondelete", "od")["readyReplicas"]).toBe(2);
      });
      // rollout_status.go: status is only for RollingUpdate.
      const statusRun = await k.run("rollout", "status", "statefulset/od", "-n", "ondelete");
      expect(statusRun.code).not.toBe(0);
      expect(statusRun.stderr).toContain(
        "rollout status is only available for RollingUpdate strategy type",
      );
      await k.kubectl("set", "image", "statefulset/od", `app=${REPO}:v3`, "-n", "ondelete");
      await waitForPass(k.sim, "update revision recorded", () => {
        expect(status("ondelete", "od")["observedGeneration"]).toBe(2);
        expect(status("ondelete", "od")["updateRevision"]).not.toBe(
          status("ondelete", "od")["currentRevision"],
        );
      });
      expect(podImages("ondelete", "od")).toEqual({ "od-0": `${REPO}:v1`, "od-1": `${REPO}:v1` });
      // --wait=false: kubectl's wait for a deletion lists by name after its first GET, and at
      // this time scale the pod is gone and back (a new uid) in between, so it never sees the
      // DELETED event it waits for.
      expect(await k.kubectl("delete", "pod", "od-0", "-n", "ondelete", "--wait=false")).toBe(
        'pod "od-0" deleted\n',
      );
      await waitForPass(k.sim, "od-0 back at v3", () => {
        expect(podImages("ondelete", "od")).toEqual({ "od-0": `${REPO}:v3`, "od-1": `${REPO}:v1` });
        expect(status("ondelete", "od")["readyReplicas"]).toBe(2);
      });
    });
  },
);
