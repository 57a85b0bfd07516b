/**
 * The e2e scenarios on the real cluster (e2e/cluster/): once with the operator started in this
 * process, once with `rollback-drill operator` as a separate process on the admin kubeconfig, as
 * a user runs it from a workstation. `npm run test:cluster` brings the cluster up and runs this
 * file with E2E_CLUSTER=required; in `npm test` it is skipped by name with the reason.
 */
import { execFile } from "node:child_process";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCrd } from "../src/api/crd.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { clusterBackend, clusterMode } from "./backends/cluster.ts";
import { startCli, type Cli } from "./cli-process.ts";
import { BUSYBOX_IMAGE } from "./cluster/node.ts";
import { readInfo } from "./cluster/state.ts";
import { HOST_IP, HOST_LINK, NODE_IP } from "./cluster/topology.ts";
import { scenarioSuite } from "./suite.ts";

const mode = clusterMode(process.env);
const inProcess = clusterBackend({ mode, operator: "in-process" });
const availability = await inProcess.available();
const TIMEOUT_MS = 240_000;

scenarioSuite(inProcess, availability, TIMEOUT_MS);

describe.skipIf(!availability.ok)(
  "the real cluster with `rollback-drill operator` as a process",
  () => {
    let operator: Cli | undefined;

    beforeAll(async () => {
      const info = readInfo();
      if (info === undefined) throw new Error("no cluster is up");
      // What `kubectl apply -k config/crd` does before an operator is started.
      await new Cluster({ kubeconfig: info.kubeconfig }).applyCrd(buildCrd());
      operator = startCli([
        "operator",
        "--kubeconfig",
        info.kubeconfig,
        "--metrics-bind-address",
        "0",
        "--health-probe-bind-address",
        "0",
        "--log-level",
        "warn",
      ]);
    }, 60_000);

    afterAll(async () => {
      const code = await operator?.stop();
      // It shuts down cleanly on SIGTERM.
      expect(code, operator?.output()).toBe(0);
    }, 60_000);

    scenarioSuite(
      clusterBackend({ mode, operator: "deployed" }),
      availability.ok ? { ok: true } : availability,
      TIMEOUT_MS,
    );
  },
);

const exec = promisify(execFile);

/** This machine's own addresses other than loopback and the node link's: none a pod may reach. */
function hostAddresses(): string[] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => name !== HOST_LINK && name !== "lo")
    .flatMap(([, addrs]) => (addrs ?? []).filter(a => a.family === "IPv4").map(a => a.address));
}

describe.skipIf(!availability.ok)("the real cluster's network stays on this machine", () => {
  it(
    "a pod reaches the node, and nothing past it: not the host's end of the link, not the host",
    async () => {
      const info = readInfo();
      if (info === undefined) throw new Error("no cluster is up");
      const others = hostAddresses();
      expect(others.length, "this machine has an address besides loopback").toBeGreaterThan(0);
      // Port 1 is closed everywhere: an address that is reached refuses at once, one behind the
      // guard never answers. Every address tried is this machine's own.
      const probes = [NODE_IP, HOST_IP, ...others].map(
        a => `echo | nc -w 3 ${a} 1 2>&1; echo "${a} $?"`,
      );
      const kubectl = (args: string[]) =>
        exec(info.kubectl, ["--kubeconfig", info.kubeconfig, "-n", "default", ...args]);
      const name = `egress-check-${String(Date.now())}`;
      await kubectl([
        "run",
        name,
        `--image=${BUSYBOX_IMAGE}`,
        "--restart=Never",
        "--command",
        "--",
        "sh",
        "-c",
        probes.join("; "),
      ]);
      try {
        await kubectl([
          "wait",
          `pod/${name}`,
          "--for=jsonpath={.status.phase}=Succeeded",
          "--timeout=90s",
        ]);
        const { stdout } = await kubectl(["logs", name]);
        expect(stdout, "the node answers (so the probe can tell)").toMatch(/refused/i);
        for (const a of [HOST_IP, ...others])
          expect(stdout, `${a} is dropped by the node's guard`).toMatch(
            new RegExp(`timed out[\\s\\S]*?${a.replace(/\./g, "\\.")} 1`),
          );
        expect(stdout.match(/refused/gi)?.length, stdout).toBe(1);
      } finally {
        await kubectl(["delete", "pod", name, "--wait=false"]);
      }
    },
    TIMEOUT_MS,
  );
});
