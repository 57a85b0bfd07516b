/**
 * Benchmarks of the Kubernetes API simulator alone: how fast it answers, fans out watches, holds
 * objects and rolls out a Deployment. Prints figures; asserts nothing. Each figure is the median of
 * several runs. All traffic goes to 127.0.0.1.
 */
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { startSim, type Sim } from "../src/sim/index.ts";
import { ADMIN_TOKEN } from "../src/sim/kubeconfig.ts";
import {
  CONFIGMAPS,
  DEPLOYMENTS,
  NAMESPACES,
  deploymentObject,
  namespaceObject,
  waitFor,
} from "../test/kit/index.ts";

const ADMIN = { user: "bench", manager: "bench" };

export interface Figure {
  name: string;
  value: number;
  unit: string;
  runs: number[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function get(agent: Agent, url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, res => {
      res.resume();
      res.on("end", () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Requests per second for one URL: `concurrency` clients in a loop for `ms` real milliseconds. */
async function requestsPerSecond(url: string, ms: number, concurrency = 8): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = performance.now() + ms;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const code = await get(agent, url, ADMIN_TOKEN);
        if (code !== 200) throw new Error(`GET ${url} answered ${code}`);
        done++;
      }
    }),
  );
  agent.destroy();
  return done / ((performance.now() - start) / 1000);
}

function seedNamespace(sim: Sim, name: string, configMaps: number): void {
  sim.store.create(NAMESPACES, namespaceObject(name), ADMIN);
  for (let i = 0; i < configMaps; i++) {
    sim.store.create(
      CONFIGMAPS,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm-${i}`, namespace: name, labels: { app: "bench", i: String(i % 10) } },
        data: { key: `value-${i}`, other: "x".repeat(64) },
      },
      ADMIN,
    );
  }
}

/** Opens `watchers` HTTP watches, writes `events` updates, and measures delivered events/s. */
async function watchFanOut(sim: Sim, watchers: number, events: number): Promise<number> {
  const ns = `watch-${Math.random().toString(36).slice(2, 8)}`;
  seedNamespace(sim, ns, 1);
  const rv = sim.store.currentResourceVersion();
  const agent = new Agent({ keepAlive: true, maxSockets: watchers + 4 });
  let delivered = 0;
  const target = watchers * events;
  let finish: () => void = () => undefined;
  const allDelivered = new Promise<void>(resolve => {
    finish = resolve;
  });
  const requests = Array.from({ length: watchers }, () =>
    request(
      `${sim.url}/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`,
      { agent, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      res => {
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl = buffered.indexOf("\n");
          while (nl >= 0) {
            buffered = buffered.slice(nl + 1);
            delivered++;
            if (delivered === target) finish();
            nl = buffered.indexOf("\n");
          }
        });
      },
    ),
  );
  for (const req of requests) {
    req.on("error", () => undefined);
    req.end();
  }
  // Let every watch register before writing.
  await new Promise(resolve => setTimeout(resolve, 200));
  const start = performance.now();
  for (let i = 0; i < events; i++) {
    sim.store.patch(CONFIGMAPS, ns, "cm-0", "merge", { data: { key: `v${i}` } }, ADMIN);
  }
  await allDelivered;
  const seconds = (performance.now() - start) / 1000;
  for (const req of requests) req.destroy();
  agent.destroy();
  return target / seconds;
}

/** Real milliseconds from creating a 3-replica Deployment to all 3 replicas available. */
async function rolloutWallTime(sim: Sim, n: number): Promise<number> {
  const ns = `rollout-${n}`;
  sim.store.create(NAMESPACES, namespaceObject(ns), ADMIN);
  sim.world.images.push("registry.example.com/bench/app", "v1", {
    pullMs: 2000,
    startMs: 1000,
    readyAfterMs: 3000,
  });
  const start = performance.now();
  sim.store.create(
    DEPLOYMENTS,
    deploymentObject(ns, "app", "registry.example.com/bench/app:v1", { replicas: 3 }),
    ADMIN,
  );
  await waitFor(sim, `deployment ${ns}/app available`, () => {
    const d = sim.store.get(DEPLOYMENTS, ns, "app") as {
      status?: { availableReplicas?: number };
    };
    return (d.status?.availableReplicas ?? 0) === 3 ? true : undefined;
  });
  return performance.now() - start;
}

function heapMb(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

export async function benchSim(runs = 3): Promise<Figure[]> {
  const figures: Figure[] = [];
  const record = (name: string, unit: string, values: number[]): void => {
    figures.push({ name, unit, value: median(values), runs: values });
  };
  const getRps: number[] = [];
  const listRps: number[] = [];
  const watchRate: number[] = [];
  const memory: number[] = [];
  const rollout: number[] = [];
  for (let run = 0; run < runs; run++) {
    const sim = await startSim({ timeScale: 1000 });
    try {
      seedNamespace(sim, "bench", 100);
      getRps.push(
        await requestsPerSecond(`${sim.url}/api/v1/namespaces/bench/configmaps/cm-7`, 1500),
      );
      listRps.push(await requestsPerSecond(`${sim.url}/api/v1/namespaces/bench/configmaps`, 1500));
      watchRate.push(await watchFanOut(sim, 50, 400));
      rollout.push(await rolloutWallTime(sim, run));
      const before = heapMb();
      seedNamespace(sim, "memory", 10_000);
      memory.push(heapMb() - before);
    } finally {
      await sim.close();
    }
  }
  record("GET one object (8 clients)", "req/s", getRps);
  record("LIST 100 objects (8 clients)", "req/s", listRps);
  record("watch events delivered to 50 watchers", "events/s", watchRate);
  record("heap growth for 10,000 ConfigMaps (with their watch log)", "MB", memory);
  record("3-replica rollout at time scale 1000 (6 s simulated)", "ms", rollout);
  return figures;
}
