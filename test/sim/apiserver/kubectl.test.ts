/** The real kubectl v1.32 against a started simulator (docs/KUBE-SIM.md "kubectl on the wire"). */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";

const KUBECTL = "/usr/bin/kubectl";
const run = promisify(execFile);

describe.skipIf(!existsSync(KUBECTL))(
  "kubectl against the simulator (needs /usr/bin/kubectl)",
  () => {
    let sim: Sim;
    let dir: string;
    const kubectl = async (...args: string[]): Promise<string> => {
      const env = {
        ...process.env,
        KUBECONFIG: join(dir, "config"),
        KUBECACHEDIR: join(dir, "cache"),
      };
      const { stdout } = await run(KUBECTL, args, { env, timeout: 20_000 });
      return stdout;
    };

    beforeEach(async () => {
      sim = await startSim();
      dir = await mkdtemp(join(tmpdir(), "sim-kubectl-"));
      await sim.writeKubeconfig(join(dir, "config"));
    });
    afterEach(async () => {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    });

    // Discovery (aggregated v2) plus the server-side Table of printers.go: printNamespace.
    it("gets namespaces as a table", async () => {
      const out = await kubectl("get", "namespaces");
      expect(out.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
      expect(out).toMatch(/kube-system\s+Active\s+\d+s/);
    });

    // create namespace sends protobuf (docs/KUBE-SIM.md "kubectl on the wire"); decoded by protobuf.ts.
    it("creates a namespace with the imperative generator", async () => {
      expect(await kubectl("create", "namespace", "x")).toBe("namespace/x created\n");
      expect(
        sim.store.get({ group: "", version: "v1", resource: "namespaces" }, undefined, "x"),
      ).toBeDefined();
    });

    // apply -f (client-side: GET, POST, then strategic merge PATCH) with /openapi/v2 answered empty.
    it("applies a ConfigMap and reads it back as YAML", async () => {
      const file = join(dir, "cm.yaml");
      await writeFile(
        file,
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: "1"\n',
      );
      expect(await kubectl("apply", "-f", file)).toBe("configmap/c1 created\n");
      await writeFile(
        file,
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: "2"\n',
      );
      expect(await kubectl("apply", "-f", file)).toBe("configmap/c1 configured\n");
      const yaml = await kubectl("get", "configmaps", "c1", "-o", "yaml");
      expect(yaml).toContain('a: "2"');
      expect(yaml).toContain("kubectl.kubernetes.io/last-applied-configuration");
      expect(await kubectl("apply", "--server-side", "-f", file)).toBe(
        "configmap/c1 serverside-applied\n",
      );
    });

    // kubectl scale needs deployments/scale (autoscaling/v1 Scale) in discovery.
    it("scales and sets the image of a deployment", async () => {
      await kubectl("create", "deployment", "web", "--image=nginx:1");
      expect(await kubectl("scale", "deployment", "web", "--replicas=3")).toBe(
        "deployment.apps/web scaled\n",
      );
      await kubectl("set", "image", "deployment/web", "nginx=nginx:2");
      const out = await kubectl(
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.generation}",
      );
      expect(out).toBe("3 nginx:2 3");
      const wide = await kubectl("get", "deployments", "-o", "wide");
      expect(wide.split("\n")[0]).toMatch(
        /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/,
      );
      expect(wide).toMatch(/web\s+\d\/3\s+\d\s+\d\s+\S+\s+nginx\s+nginx:2\s+app=web/);
    });
  },
);
