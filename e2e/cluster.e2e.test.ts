/**
 * The e2e scenarios on the real cluster (e2e/cluster/): once with the operator started in this
 * process, once with `rollback-drill operator` as a separate process on the admin kubeconfig, as
 * a user runs it from a workstation. `npm run test:cluster` brings the cluster up and runs this
 * file with E2E_CLUSTER=required; in `npm test` it is skipped by name with the reason.
 */
import { request as httpsRequest } from "node:https";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCrd } from "../src/api/crd.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { clusterBackend, clusterMode } from "./backends/cluster.ts";
import { operatorArgs, startCli, type Cli } from "./cli-process.ts";
import { runPodScript } from "./cluster/node.ts";
import { readInfo } from "./cluster/state.ts";
import { HOST_IP, HOST_LINK, NODE_IP } from "./cluster/topology.ts";
import { ADMIN_TOKEN } from "../src/sim/kubeconfig.ts";
import { startSimWithCrd } from "../test/kube/sim-helpers.ts";
import { badNames, generate, NS as HOSTILE_NS } from "../test/reliability/hostile-drills.ts";
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
      operator = startCli(operatorArgs(info.kubeconfig));
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
      const { phase, log: stdout } = await runPodScript(info, "egress-check", probes.join("; "));
      expect(phase, stdout).toBe("Succeeded");
      expect(stdout, "the node answers (so the probe can tell)").toMatch(/refused/i);
      for (const a of [HOST_IP, ...others])
        expect(stdout, `${a} is dropped by the node's guard`).toMatch(
          new RegExp(`timed out[\\s\\S]*?${a.replace(/\./g, "\\.")} 1`),
        );
      expect(stdout.match(/refused/gi)?.length, stdout).toBe(1);
    },
    TIMEOUT_MS,
  );
});

/** What an API server answered a create: the code and the fields its causes name. */
interface Answer {
  code: number;
  fields: string[];
}

type Post = (path: string, body: string) => Promise<{ status: number; text: string }>;

async function dryRunCreate(post: Post, body: Record<string, unknown>): Promise<Answer> {
  const path = `/apis/rollbackdrill.io/v1alpha1/namespaces/${HOSTILE_NS}/rollbackdrills?dryRun=All`;
  const res = await post(path, JSON.stringify(body));
  const status = JSON.parse(res.text) as { details?: { causes?: { field?: string }[] } };
  const fields = [...new Set((status.details?.causes ?? []).map(c => c.field ?? ""))].sort();
  return { code: res.status, fields };
}

/** POSTs to the real API server with the admin kubeconfig's client certificate. */
function realPost(cluster: Cluster): Post {
  const user = cluster.kc.getCurrentUser();
  const server = cluster.kc.getCurrentCluster();
  if (user === null || server === null)
    throw new Error("the admin kubeconfig has no user or cluster");
  const decode = (data: string | undefined) =>
    data === undefined ? undefined : Buffer.from(data, "base64");
  const base = new URL(server.server);
  return (path, body) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: base.hostname,
          port: base.port,
          path,
          method: "POST",
          headers: { "Content-Type": "application/json" },
          cert: decode(user.certData),
          key: decode(user.keyData),
          ca: decode(server.caData),
        },
        res => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, text });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

describe.skipIf(!availability.ok)("the CRD on the real API server: the hostile drills", () => {
  it(
    "are rejected (or admitted) as the simulator does, with the same field paths",
    async () => {
      const info = readInfo();
      if (info === undefined) throw new Error("no cluster is up");
      const real = new Cluster({ kubeconfig: info.kubeconfig });
      await real.applyCrd(buildCrd());
      await real.ensureNamespace(HOSTILE_NS);
      const sim = await startSimWithCrd({ timeScale: 1 });
      try {
        await fetch(`${sim.url}/api/v1/namespaces`, {
          method: "POST",
          headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
          body: JSON.stringify({ metadata: { name: HOSTILE_NS } }),
        });
        const onRealServer = realPost(real);
        const onSimulator: Post = async (path, body) => {
          const res = await fetch(`${sim.url}${path}`, {
            method: "POST",
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
            body,
          });
          return { status: res.status, text: await res.text() };
        };
        const cases = [...generate(), ...badNames()];
        const differences: string[] = [];
        for (const c of cases) {
          const [onReal, onSim] = await Promise.all([
            dryRunCreate(onRealServer, c.body),
            dryRunCreate(onSimulator, c.body),
          ]);
          if (JSON.stringify(onReal) !== JSON.stringify(onSim))
            differences.push(
              `${c.id} (${c.field}): real ${JSON.stringify(onReal)}, simulator ${JSON.stringify(onSim)}`,
            );
        }
        console.log(
          `hostile drills: ${String(cases.length - differences.length)} of ${String(cases.length)} answered alike by the real API server and the simulator`,
        );
        expect(differences).toEqual([]);
      } finally {
        await sim.close();
        await real.deleteNamespace(HOSTILE_NS);
        // Gone, not terminating, so a next run can create it again at once.
        await real.until(`namespace ${HOSTILE_NS} gone`, async () => {
          try {
            await real.core.readNamespace({ name: HOSTILE_NS });
            return undefined;
          } catch {
            return true;
          }
        });
      }
    },
    TIMEOUT_MS,
  );
});
