/**
 * kubectl's Deployment commands against the simulator: create, get (default, wide, yaml, watch),
 * describe, set image, rollout status/history/undo/pause/resume/restart, scale and wait. Every
 * expectation is what kubectl prints against a real cluster, from the kubectl source under
 * staging/src/k8s.io/kubectl in kubernetes/kubernetes (cited per check) and the Kubernetes docs
 * (concepts/workloads/controllers/deployment.md).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waitForPass, DEPLOYMENTS as DEPLOY, REPLICASETS as RS } from "../../kit/index.ts";
import { parse } from "yaml";
import type { KubeObject } from "../../../src/sim/types.ts";
import {
  HAS_KUBECTL,
  NEEDS_KUBECTL,
  WAIT,
  columns,
  createDeployment,
  lines,
  startKubectlSim,
  type KubectlSim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/web";
/** pod-template-hash: SafeEncodeString's alphabet, at most 10 characters (k8s.io/apimachinery/pkg/util/rand). */
const HASH = "[bcdfghjklmnpqrstvwxz2456789]{1,10}";
/** The Waiting lines of polymorphichelpers/rollout_status.go DeploymentStatusViewer.Status. */
const WAITING = [
  /^Waiting for deployment "[a-z-]+" rollout to finish: \d+ out of \d+ new replicas have been updated\.\.\.$/,
  /^Waiting for deployment "[a-z-]+" rollout to finish: \d+ old replicas are pending termination\.\.\.$/,
  /^Waiting for deployment "[a-z-]+" rollout to finish: \d+ of \d+ updated replicas are available\.\.\.$/,
  /^Waiting for deployment spec update to be observed\.\.\.$/,
];

function expectRolledOut(out: string, name: string): void {
  const ls = lines(out);
  // rollout_status.go: the last line once done; every earlier one a Waiting line.
  expect(ls.at(-1)).toBe(`deployment "${name}" successfully rolled out`);
  for (const l of ls.slice(0, -1))
    expect(
      WAITING.some(re => re.test(l)),
      l,
    ).toBe(true);
}

describe.skipIf(!HAS_KUBECTL)(
  `kubectl rollout commands ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    let k: KubectlSim;
    const revisionsOf = (ns: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const rs of k.sim.store.list(RS, { namespace: ns }).items) {
        const rev = rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "";
        out.set(rev, rs.metadata.name ?? "");
      }
      return out;
    };
    const deployment = (ns: string, name: string): KubeObject => {
      const d = k.sim.store.get(DEPLOY, ns, name);
      if (!d) throw new Error(`no deployment ${ns}/${name}`);
      return d;
    };
    /** Creates a namespace and a Deployment of `replicas` running web:v1, and waits for it. */
    const ready = async (ns: string, replicas: number): Promise<void> => {
      expect(await k.kubectl("create", "namespace", ns)).toBe(`namespace/${ns} created\n`);
      // create_deployment.go: the generator's object, printed with the "created" operation.
      expect(await createDeployment(k, ns, "web", `${REPO}:v1`, replicas)).toBe(
        "deployment.apps/web created\n",
      );
      expectRolledOut(
        await k.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s"),
        "web",
      );
    };

    beforeAll(async () => {
      k = await startKubectlSim();
      k.sim.world.images.push(REPO, "v1", {});
      k.sim.world.images.push(REPO, "v2", {});
      k.sim.world.images.push(REPO, "v3", {});
    });
    afterAll(async () => {
      await k.close();
    });

    it("creates a deployment, waits for its rollout and prints it with get", async () => {
      await ready("a", 3);

      // printers.go printDeployment: NAME READY UP-TO-DATE AVAILABLE AGE (+ wide CONTAINERS IMAGES SELECTOR).
      const table = lines(await k.kubectl("get", "deployment", "web", "-n", "a"));
      expect(columns(table[0] ?? "")).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
      const row = columns(table[1] ?? "");
      expect(row.slice(0, 4)).toEqual(["web", "3/3", "3", "3"]);
      expect(row[4]).toMatch(/^\d+[smhd]/);
      const wide = lines(await k.kubectl("get", "deployments", "-o", "wide", "-n", "a"));
      expect(columns(wide[0] ?? "")).toEqual([
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
      ]);
      // create_deployment.go names the container after the image's last path segment.
      expect(columns(wide[1] ?? "").slice(5)).toEqual(["web", `${REPO}:v1`, "app=web"]);

      // printers.go printReplicaSet: NAME DESIRED CURRENT READY AGE; the RS is <deployment>-<hash>.
      const rs = lines(await k.kubectl("get", "rs", "-n", "a"));
      expect(columns(rs[0] ?? "")).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
      expect(columns(rs[1] ?? "")[0]).toMatch(new RegExp(`^web-${HASH}$`));
      expect(columns(rs[1] ?? "").slice(1, 4)).toEqual(["3", "3", "3"]);

      // printers.go printPod: NAME READY STATUS RESTARTS AGE; pods are <rs>-<5 chars>.
      const pods = lines(await k.kubectl("get", "pods", "-n", "a"));
      expect(columns(pods[0] ?? "")).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
      expect(pods).toHaveLength(4);
      for (const p of pods.slice(1)) {
        expect(columns(p)[0]).toMatch(new RegExp(`^web-${HASH}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
        expect(columns(p).slice(1, 4)).toEqual(["1/1", "Running", "0"]);
      }

      // -o yaml prints the stored object: defaults (apps/v1 SetDefaults_Deployment), the revision
      // annotation (deployment_util.go SetDeploymentRevision) and the conditions of a finished rollout
      // (deployment_util.go: MinimumReplicasAvailable, NewReplicaSetAvailable).
      const obj = parse(await k.kubectl("get", "deployment", "web", "-n", "a", "-o", "yaml")) as {
        apiVersion: string;
        kind: string;
        metadata: { generation: number; annotations: Record<string, string> };
        spec: { revisionHistoryLimit: number; progressDeadlineSeconds: number; strategy: unknown };
        status: {
          observedGeneration: number;
          replicas: number;
          readyReplicas: number;
          availableReplicas: number;
          updatedReplicas: number;
          conditions: { type: string; status: string; reason: string }[];
        };
      };
      expect([obj.apiVersion, obj.kind]).toEqual(["apps/v1", "Deployment"]);
      expect(obj.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("1");
      expect(obj.spec.revisionHistoryLimit).toBe(10);
      expect(obj.spec.progressDeadlineSeconds).toBe(600);
      expect(obj.spec.strategy).toEqual({
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      });
      expect(obj.status.observedGeneration).toBe(obj.metadata.generation);
      expect(obj.status).toMatchObject({
        replicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        updatedReplicas: 3,
      });
      expect(obj.status.conditions.map(c => [c.type, c.status, c.reason])).toEqual(
        expect.arrayContaining([
          ["Available", "True", "MinimumReplicasAvailable"],
          ["Progressing", "True", "NewReplicaSetAvailable"],
        ]),
      );
    });

    it("reports a rollout that cannot finish, and wait times out on Available", async () => {
      await k.kubectl("create", "namespace", "b");
      // No such tag: the pods never run (kubelet: ErrImagePull, then ImagePullBackOff).
      await createDeployment(k, "b", "slow", `${REPO}:missing`, 2);
      await waitForPass(k.sim, "deployment b/slow updated at its generation", () => {
        const d = deployment("b", "slow");
        const status = d.status as { observedGeneration?: number; updatedReplicas?: number };
        expect(status.updatedReplicas).toBe(2);
        expect(status.observedGeneration).toBe(d.metadata.generation);
      });
      // printers.go printPod: STATUS is the waiting reason (pkg/kubelet/images/types.go
      // ErrImagePull, ImagePullBackOff).
      await vi.waitFor(async () => {
        const pods = lines(await k.kubectl("get", "pods", "-n", "b"))
          .slice(1)
          .map(columns);
        expect(pods).toHaveLength(2);
        for (const p of pods) expect(p.slice(1, 4)).toEqual(["0/1", "ImagePullBackOff", "0"]);
      }, WAIT);
      // rollout_status.go: all updated, none available.
      expect(
        await k.kubectl("rollout", "status", "deployment/slow", "-n", "b", "--watch=false"),
      ).toBe(
        'Waiting for deployment "slow" rollout to finish: 0 of 2 updated replicas are available...\n',
      );
      // cmd/wait/wait.go: the condition never becomes True within the timeout.
      const timedOut = await k.run(
        "wait",
        "--for=condition=Available",
        "deployment/slow",
        "-n",
        "b",
        "--timeout=1s",
      );
      expect(timedOut.code).toBe(1);
      expect(timedOut.stderr).toBe(
        "error: timed out waiting for the condition on deployments/slow\n",
      );
      // cmd/set/set_image.go prints "image updated"; cmd/wait/wait.go "condition met".
      expect(await k.kubectl("set", "image", "deployment/slow", `web=${REPO}:v1`, "-n", "b")).toBe(
        "deployment.apps/slow image updated\n",
      );
      expect(
        await k.kubectl(
          "wait",
          "--for=condition=Available",
          "deployment/slow",
          "-n",
          "b",
          "--timeout=30s",
        ),
      ).toBe("deployment.apps/slow condition met\n");
    });

    it("keeps history, rolls back re-using the old ReplicaSet and skips a no-op undo", async () => {
      await ready("c", 2);
      await k.kubectl("set", "image", "deployment/web", `web=${REPO}:v2`, "-n", "c");
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "c"), "web");
      await k.kubectl("set", "image", "deployment/web", `web=${REPO}:v3`, "-n", "c");
      // The Kubernetes docs (concepts/workloads/controllers/deployment.md, "Checking Rollout
      // History") record a change cause this way; the controller copies it to the new ReplicaSet
      // (deployment_util.go SetNewReplicaSetAnnotations).
      expect(
        await k.kubectl(
          "annotate",
          "deployment/web",
          "kubernetes.io/change-cause=image updated to v3",
          "-n",
          "c",
        ),
      ).toBe("deployment.apps/web annotated\n");
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "c"), "web");
      await waitForPass(k.sim, "three revisions in c, the third with its change-cause", () => {
        expect(revisionsOf("c").size).toBe(3);
        const rs3 = k.sim.store.get(RS, "c", revisionsOf("c").get("3") ?? "");
        expect(rs3?.metadata.annotations?.["kubernetes.io/change-cause"]).toBe(
          "image updated to v3",
        );
      });

      // polymorphichelpers/history.go printHistory: REVISION and CHANGE-CAUSE, <none> when unset.
      const history = lines(await k.kubectl("rollout", "history", "deployment/web", "-n", "c"));
      expect(history).toEqual([
        "deployment.apps/web",
        "REVISION  CHANGE-CAUSE",
        "1         <none>",
        "2         <none>",
        "3         image updated to v3",
      ]);

      // cmd/rollout/rollout_history.go + history.go printTemplate (describe.DescribePodTemplate).
      const before = revisionsOf("c");
      const rev2 = lines(
        await k.kubectl("rollout", "history", "deployment/web", "-n", "c", "--revision=2"),
      );
      const hash2 = (before.get("2") ?? "").slice("web-".length);
      expect(rev2.slice(0, 4)).toEqual([
        "deployment.apps/web with revision #2",
        "Pod Template:",
        "  Labels:\tapp=web",
        `\tpod-template-hash=${hash2}`,
      ]);
      expect(rev2).toContain(`    Image:\t${REPO}:v2`);

      // polymorphichelpers/rollback.go DeploymentRollbacker.Rollback: "rolled back"; the controller
      // re-uses revision 2's ReplicaSet and gives it max+1 = 4, recording 2 in revision-history
      // (pkg/controller/deployment/sync.go getNewReplicaSet, deployment_util.go SetNewReplicaSetAnnotations).
      expect(await k.kubectl("rollout", "undo", "deployment/web", "-n", "c")).toBe(
        "deployment.apps/web rolled back\n",
      );
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "c"), "web");
      await waitForPass(k.sim, "revision 2 reused as revision 4", () => {
        const after = revisionsOf("c");
        expect([...after.keys()].sort()).toEqual(["1", "3", "4"]);
        expect(after.get("4")).toBe(before.get("2"));
      });
      const reused = k.sim.store.get(RS, "c", before.get("2") ?? "");
      expect(reused?.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("2");
      expect(
        deployment("c", "web").metadata.annotations?.["deployment.kubernetes.io/revision"],
      ).toBe("4");
      // rollback.go copies the RS's annotations back, so the change cause of revision 3 goes.
      expect(
        lines(await k.kubectl("rollout", "history", "deployment/web", "-n", "c")).slice(2),
      ).toEqual(["1         <none>", "3         image updated to v3", "4         <none>"]);

      // --to-revision picks that revision; the ReplicaSet of revision 1 becomes revision 5.
      expect(
        await k.kubectl("rollout", "undo", "deployment/web", "-n", "c", "--to-revision=1"),
      ).toBe("deployment.apps/web rolled back\n");
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "c"), "web");
      await waitForPass(k.sim, "revision 1 reused as revision 5", () => {
        expect(revisionsOf("c").get("5")).toBe(before.get("1"));
      });
      expect(
        await k.kubectl(
          "get",
          "deployment",
          "web",
          "-n",
          "c",
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        ),
      ).toBe(`${REPO}:v1`);

      // rollback.go: equal templates (ignoring pod-template-hash) are skipped, naming the argument.
      expect(
        await k.kubectl("rollout", "undo", "deployment/web", "-n", "c", "--to-revision=5"),
      ).toBe(
        "deployment.apps/web skipped rollback (current template already matches revision 5)\n",
      );
      // rollback.go deploymentRevision: an unknown revision.
      const missing = await k.run(
        "rollout",
        "undo",
        "deployment/web",
        "-n",
        "c",
        "--to-revision=42",
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe("error: unable to find specified revision 42 in history\n");
    });

    it("pauses, scales while paused, resumes, restarts and describes", async () => {
      await ready("d", 2);
      // cmd/rollout/rollout_pause.go and rollout_resume.go: the operation, or an error when the
      // patch would change nothing.
      expect(await k.kubectl("rollout", "pause", "deployment/web", "-n", "d")).toBe(
        "deployment.apps/web paused\n",
      );
      const again = await k.run("rollout", "pause", "deployment/web", "-n", "d");
      expect(again.code).toBe(1);
      expect(again.stderr).toBe('error: deployments.apps "web" is already paused\n');

      await k.kubectl("set", "image", "deployment/web", `web=${REPO}:v2`, "-n", "d");
      // pkg/controller/deployment/sync.go checkPausedConditions: Progressing Unknown DeploymentPaused;
      // no new ReplicaSet while paused (deployment_controller.go syncDeployment -> sync).
      await waitForPass(k.sim, "deployment d/web paused", () => {
        const d = deployment("d", "web");
        const status = d.status as {
          observedGeneration?: number;
          conditions?: { type: string; status: string; reason: string }[];
        };
        expect(status.observedGeneration).toBe(d.metadata.generation);
        expect(status.conditions?.find(c => c.type === "Progressing")).toMatchObject({
          status: "Unknown",
          reason: "DeploymentPaused",
        });
      });
      expect(
        await k.kubectl("rollout", "status", "deployment/web", "-n", "d", "--watch=false"),
      ).toBe(
        'Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...\n',
      );
      expect(revisionsOf("d").size).toBe(1);
      // rollback.go: a paused Deployment cannot be rolled back (checked once the revision is found).
      const undo = await k.run("rollout", "undo", "deployment/web", "-n", "d", "--to-revision=1");
      expect(undo.code).toBe(1);
      expect(undo.stderr).toContain(
        "error: you cannot rollback a paused deployment; resume it first",
      );

      // cmd/scale/scale.go: "scaled"; sync.go sync scales the current ReplicaSet while paused.
      // get -w (cmd/get/get.go watch) prints the header, the current row, then each change.
      const watch = k.watch(["get", "deployment", "web", "-n", "d", "-w"], out =>
        /\nweb\s+3\/3\s+0\s+3\s[^\n]*\n/.test(out),
      );
      await watch.started;
      expect(await k.kubectl("scale", "deployment", "web", "--replicas=3", "-n", "d")).toBe(
        "deployment.apps/web scaled\n",
      );
      const watched = lines(await watch.done);
      expect(columns(watched[0] ?? "")).toEqual([
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
      ]);
      expect(columns(watched[1] ?? "").slice(0, 4)).toEqual(["web", "2/2", "0", "2"]);

      expect(await k.kubectl("rollout", "resume", "deployment/web", "-n", "d")).toBe(
        "deployment.apps/web resumed\n",
      );
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "d"), "web");

      // cmd/rollout/rollout_restart.go: "restarted", by the kubectl.kubernetes.io/restartedAt
      // template annotation, which makes a new revision.
      expect(await k.kubectl("rollout", "restart", "deployment/web", "-n", "d")).toBe(
        "deployment.apps/web restarted\n",
      );
      expectRolledOut(await k.kubectl("rollout", "status", "deployment/web", "-n", "d"), "web");
      const template = deployment("d", "web").spec as {
        template: { metadata: { annotations?: Record<string, string> } };
      };
      expect(template.template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"]).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      );
      await waitForPass(k.sim, "three revisions in d", () => {
        expect([...revisionsOf("d").keys()].sort()).toEqual(["1", "2", "3"]);
      });

      // describe/describe.go DescribeDeployment: its labels, the Replicas summary, the strategy,
      // the Conditions table, Old/NewReplicaSets with "(ready/desired replicas created)" and Events.
      const described = await k.kubectl("describe", "deployment", "web", "-n", "d");
      const ls = described.split("\n");
      const field = (label: string): string | undefined =>
        ls
          .find(l => l.startsWith(`${label}:`))
          ?.slice(label.length + 1)
          .trim();
      expect(field("Name")).toBe("web");
      expect(field("Namespace")).toBe("d");
      expect(field("CreationTimestamp")).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
      expect(field("Labels")).toBe("app=web");
      expect(field("Annotations")).toBe("deployment.kubernetes.io/revision: 3");
      expect(field("Selector")).toBe("app=web");
      expect(field("Replicas")).toBe(
        "3 desired | 3 updated | 3 total | 3 available | 0 unavailable",
      );
      expect(field("StrategyType")).toBe("RollingUpdate");
      expect(field("MinReadySeconds")).toBe("0");
      expect(field("RollingUpdateStrategy")).toBe("25% max unavailable, 25% max surge");
      expect(ls).toContain("Pod Template:");
      expect(ls).toContain(`    Image:         ${REPO}:v2`);
      const conditions = ls.indexOf("Conditions:");
      expect(columns(ls[conditions + 1] ?? "")).toEqual(["Type", "Status", "Reason"]);
      expect(ls.slice(conditions + 3, conditions + 5).map(columns)).toEqual([
        ["Available", "True", "MinimumReplicasAvailable"],
        ["Progressing", "True", "NewReplicaSetAvailable"],
      ]);
      const revs = revisionsOf("d");
      expect(field("NewReplicaSet")).toBe(`${revs.get("3") ?? ""} (3/3 replicas created)`);
      expect(field("OldReplicaSets")?.split(", ").sort()).toEqual(
        [
          `${revs.get("1") ?? ""} (0/0 replicas created)`,
          `${revs.get("2") ?? ""} (0/0 replicas created)`,
        ].sort(),
      );
      const events = ls.indexOf("Events:");
      expect(columns(ls[events + 1] ?? "")).toEqual(["Type", "Reason", "Age", "From", "Message"]);
      const scaling = ls.slice(events + 3).filter(l => l.includes("ScalingReplicaSet"));
      expect(scaling.length).toBeGreaterThan(0);
      for (const l of scaling) {
        // pkg/controller/deployment/sync.go scaleReplicaSet / getNewReplicaSet event wording.
        expect(l).toMatch(
          new RegExp(
            `^  Normal  ScalingReplicaSet  .+  deployment-controller  Scaled (up|down) replica set web-${HASH} from \\d+ to \\d+$`,
          ),
        );
      }
    });
  },
);
