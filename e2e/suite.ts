/**
 * The scenarios of src/scenarios/catalog.ts, written once and run on a backend: set up side by side
 * in a fresh namespace, drilled at once, then each asserted on its own: verdict, reason and
 * warnings, the evidence digests, and its sandbox (gone after a pass, kept and labelled after a
 * failure, never made when the run ends before one).
 */
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCrd } from "../src/api/crd.ts";
import type { RollbackDrill } from "../src/api/types.ts";
import {
  CRD_NAME,
  LABEL_DRILL_NAME,
  LABEL_DRILL_NAMESPACE,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from "../src/api/vocabulary.ts";
import { startOperator, type RunningOperator } from "../src/cli/operator.ts";
import { SAVED_LOGS_CONFIGMAP } from "../src/core/run.ts";
import { SCENARIOS, type Scenario, type ScenarioOptions } from "../src/scenarios/catalog.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import {
  applyDrills,
  expectedDigests,
  isSettled,
  judge,
  judgeEvidence,
  setupScenarios,
  type Digests,
} from "../src/scenarios/outcome.ts";
import { statusCode } from "../src/scenarios/sim-registry.ts";
import type { Availability, Backend, StartedBackend } from "./backends/backend.ts";

interface Running {
  backend: StartedBackend;
  cluster: Cluster;
  operator: RunningOperator | undefined;
  options: ScenarioOptions;
  digests: Map<string, Digests | undefined>;
}

/** The capability a scenario needs that the backend lacks, if any. */
const missing = (scenario: Scenario, backend: { capabilities: readonly string[] }): string[] =>
  (scenario.requires ?? []).filter(c => !backend.capabilities.includes(c));

async function namespaceLabels(
  cluster: Cluster,
  name: string,
): Promise<Record<string, string> | undefined> {
  try {
    return (await cluster.core.readNamespace({ name })).metadata?.labels ?? {};
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw error;
  }
}

async function start(backend: Backend): Promise<Running> {
  const started = await backend.start();
  const cluster = new Cluster({
    kubeconfig: started.kubeconfig,
    registry: c => started.registry(c),
    timeoutMs: started.timeoutMs,
  });
  if (started.operator === "in-process") await cluster.applyCrd(buildCrd());
  else
    await cluster.custom
      .getClusterCustomObject({
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        name: CRD_NAME,
      })
      .catch((error: unknown) => {
        throw new Error(
          `E2E_OPERATOR=deployed but the CRD ${CRD_NAME} is not installed: kubectl apply -k config/`,
          { cause: error },
        );
      });
  const id = randomBytes(3).toString("hex");
  const options: ScenarioOptions = {
    namespace: `e2e-${id}`,
    stableSeconds: started.stableSeconds,
    suffix: `-${id}`,
    ...(started.imageRegistry === undefined ? {} : { registry: started.imageRegistry }),
  };
  await cluster.ensureNamespace(options.namespace);
  const runnable = SCENARIOS.filter(s => missing(s, started).length === 0);
  const prepared = await setupScenarios(cluster, runnable, options);
  const digests = new Map<string, Digests | undefined>();
  for (const s of runnable) digests.set(s.name, await expectedDigests(cluster, s, options));
  const operator =
    started.operator === "in-process"
      ? await startOperator({
          kubeconfig: started.kubeconfig,
          ...(started.clock === undefined ? {} : { clock: started.clock }),
          logger: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
          registry: new Registry(),
          maxConcurrentDrills: runnable.length,
          instance: `e2e-${backend.name}`,
        })
      : undefined;
  await applyDrills(cluster, prepared);
  return { backend: started, cluster, operator, options, digests };
}

/** Deletes the drills (their finalizers take the sandboxes), then the namespace, then the backend. */
async function stop(running: Running | undefined): Promise<void> {
  if (running === undefined) return;
  const { cluster, options } = running;
  try {
    const drills = await cluster.listDrills(options.namespace);
    await Promise.all(
      drills.map(d =>
        cluster.custom.deleteNamespacedCustomObject({
          group: "rollbackdrill.io",
          version: "v1alpha1",
          plural: "rollbackdrills",
          namespace: options.namespace,
          name: d.metadata.name,
        }),
      ),
    );
    await cluster.until("drills deleted", async () =>
      (await cluster.listDrills(options.namespace)).length === 0 ? true : undefined,
    );
    await cluster.deleteNamespace(options.namespace);
  } finally {
    await running.operator?.stop();
    await running.backend.stop();
  }
}

async function assertSandbox(running: Running, scenario: Scenario, drill: RollbackDrill) {
  const { cluster, options } = running;
  const sandbox = drill.status?.lastRun?.sandboxNamespace;
  if (scenario.expected.sandbox === false) {
    expect(sandbox, "no sandbox for a run that ends before one").toBeUndefined();
    return;
  }
  expect(sandbox, "the run names its sandbox").toBeDefined();
  const name = sandbox ?? "";
  if (drill.status?.lastRun?.verdict === "Passed") {
    // A passed run's sandbox is deleted at once (the namespace may take a moment to terminate).
    await cluster.until(`sandbox ${name} gone`, async () =>
      (await namespaceLabels(cluster, name)) === undefined ? true : undefined,
    );
    return;
  }
  // A failed run's sandbox is kept for debugging, labelled with the drill that owns it, and the
  // drill says so: phase SandboxKept, and until when.
  expect(await namespaceLabels(cluster, name)).toMatchObject({
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_DRILL_NAME]: scenario.name,
    [LABEL_DRILL_NAMESPACE]: options.namespace,
  });
  expect(drill.status?.phase).toBe("SandboxKept");
  const until = Date.parse(drill.status?.lastRun?.sandboxKeptUntil ?? "");
  expect(until).toBeGreaterThan(Date.parse(drill.status?.lastRun?.completionTime ?? ""));
  if (scenario.expected.sandboxStopped === true) await assertStopped(cluster, name);
}

/** A stopped sandbox (an Error run): no pod left running, the containers' logs in a ConfigMap. */
async function assertStopped(cluster: Cluster, namespace: string): Promise<void> {
  await cluster.until(`no pods in ${namespace}`, async () => {
    const pods = await cluster.core.listNamespacedPod({ namespace });
    return pods.items.length === 0 ? true : undefined;
  });
  const logs = await cluster.core.readNamespacedConfigMap({
    namespace,
    name: SAVED_LOGS_CONFIGMAP,
  });
  expect(Object.keys(logs.data ?? {}).length).toBeGreaterThan(0);
  const deployments = await cluster.apps.listNamespacedDeployment({ namespace });
  expect(deployments.items.map(d => d.spec?.replicas)).toEqual([0]);
}

/**
 * Registers the suite for one backend: skipped as a whole, with the reason in its name, when the
 * backend is not available; a scenario the backend cannot host is skipped by name too.
 */
export function scenarioSuite(backend: Backend, availability: Availability, timeoutMs = 120_000) {
  const title = availability.ok
    ? `e2e scenarios on the ${backend.name} backend`
    : `${backend.name} backend skipped: ${availability.reason}`;
  describe.skipIf(!availability.ok)(title, () => {
    let running: Running | undefined;
    beforeAll(async () => {
      running = await start(backend);
    }, timeoutMs);
    afterAll(async () => {
      await stop(running);
    }, timeoutMs);

    for (const scenario of SCENARIOS) {
      const { verdict, reason } = scenario.expected;
      it(
        `${scenario.name}: ${scenario.title} -> ${verdict} ${reason}`,
        async ctx => {
          if (running === undefined) throw new Error("the backend did not start");
          const lacks = missing(scenario, running.backend);
          if (lacks.length > 0) {
            ctx.skip(`the ${backend.name} backend lacks ${lacks.join(", ")}`);
            return;
          }
          const drill = await running.cluster.waitForDrill(
            running.options.namespace,
            scenario.name,
            isSettled,
          );
          expect(judge(scenario.expected, drill), drill.status?.lastRun?.message).toEqual([]);
          expect(
            judgeEvidence(scenario.expected, running.digests.get(scenario.name), drill),
          ).toEqual([]);
          await assertSandbox(running, scenario, drill);
        },
        timeoutMs,
      );
    }
  });
}
