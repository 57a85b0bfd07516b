/**
 * Setting the scenarios up side by side and judging what their drills reached, shared by the demo
 * and the e2e suite so both hold a drill to the same expectation.
 */
import type { RollbackDrill } from "../api/types.ts";
import {
  repositoryFor,
  type DrillManifest,
  type Expectation,
  type Scenario,
  type ScenarioOptions,
} from "./catalog.ts";
import type { Cluster } from "./cluster.ts";

export interface Prepared {
  scenario: Scenario;
  drill: DrillManifest;
}

/** Sets every scenario up at once (each waits on its own rollouts) and returns their drills. */
export async function setupScenarios(
  cluster: Cluster,
  scenarios: readonly Scenario[],
  options: ScenarioOptions,
): Promise<Prepared[]> {
  return Promise.all(
    scenarios.map(async scenario => ({
      scenario,
      drill: await scenario.setup(cluster, options),
    })),
  );
}

/**
 * Creates (server-side applies) the drills, then plays what happens in production while they run
 * (Scenario.duringRun), returning once that is done. The operator must already be running.
 */
export async function applyDrills(cluster: Cluster, prepared: readonly Prepared[]): Promise<void> {
  await Promise.all(
    prepared.map(({ drill }) => cluster.applyDrill(drill as Parameters<Cluster["applyDrill"]>[0])),
  );
  await Promise.all(
    prepared.map(async ({ scenario, drill }) => {
      if (scenario.duringRun !== undefined) await scenario.duringRun(cluster, drill);
    }),
  );
}

/**
 * A drill's run has finished and settled: it has a verdict, and a passed run's sandbox is gone
 * (phase back to Idle). A failed run may keep its sandbox for its TTL (phase CleaningUp).
 */
export const isSettled = (drill: RollbackDrill | undefined): boolean => {
  const verdict = drill?.status?.lastRun?.verdict;
  if (verdict === undefined) return false;
  return verdict !== "Passed" || drill?.status?.phase !== "CleaningUp";
};

const sorted = (values: readonly string[]): string[] => [...values].sort();

/**
 * What differs between the drill's last run and the expectation: verdict, reason, warnings (as a
 * set) and the words its message must contain. Empty when the drill reached what it should.
 */
export function judge(expected: Expectation, drill: RollbackDrill | undefined): string[] {
  const run = drill?.status?.lastRun;
  if (run?.verdict === undefined) return ["no verdict"];
  const problems: string[] = [];
  if (run.verdict !== expected.verdict || run.reason !== expected.reason)
    problems.push(
      `expected ${expected.verdict}/${expected.reason}, got ${run.verdict}/${run.reason ?? "-"}`,
    );
  const want = sorted(expected.warnings ?? []);
  const got = sorted((drill?.status?.warnings ?? []).map(w => w.reason));
  if (want.join(",") !== got.join(","))
    problems.push(`expected warnings [${want.join(", ")}], got [${got.join(", ")}]`);
  for (const words of expected.messageIncludes ?? [])
    if (!(run.message ?? "").includes(words)) problems.push(`message lacks "${words}"`);
  if (
    expected.revisionsAvailable !== undefined &&
    run.revisionsAvailable !== expected.revisionsAvailable
  )
    problems.push(
      `expected revisionsAvailable ${expected.revisionsAvailable}, got ${run.revisionsAvailable ?? "-"}`,
    );
  const over = expected.rollbackSecondsOver;
  if (over !== undefined && !((run.rollbackSeconds ?? 0) > over))
    problems.push(`expected rollbackSeconds over ${over}, got ${run.rollbackSeconds ?? "-"}`);
  return problems;
}

export interface Digests {
  from: string;
  to: string;
}

/** The digests the scenario's evidence must show, read from the registry after setup. */
export async function expectedDigests(
  cluster: Cluster,
  scenario: Scenario,
  options: ScenarioOptions,
): Promise<Digests | undefined> {
  const evidence = scenario.expected.evidence;
  if (evidence === undefined) return undefined;
  const repository = repositoryFor(evidence.app, options);
  const [from, to] = await Promise.all([
    cluster.imageDigest(repository, evidence.fromTag),
    cluster.imageDigest(repository, evidence.toTag),
  ]);
  if (from === undefined || to === undefined)
    throw new Error(
      `${scenario.name}: ${repository}:${evidence.fromTag} or :${evidence.toTag} has no digest`,
    );
  return { from, to };
}

/**
 * An imageID is a digest ("sha256:...") or names it ("repo@sha256:..."); it matches when the
 * digest is its whole or its tail.
 */
const sameDigest = (imageId: string | undefined, digest: string): boolean =>
  imageId !== undefined && (imageId === digest || imageId.endsWith(`@${digest}`));

/** What differs between the run's per-container evidence and the expected digests. */
export function judgeEvidence(
  expected: Expectation,
  digests: Digests | undefined,
  drill: RollbackDrill | undefined,
): string[] {
  const evidence = drill?.status?.lastRun?.evidence ?? [];
  if (expected.evidence === undefined || digests === undefined) return [];
  const { container } = expected.evidence;
  const found = evidence.find(e => e.name === container);
  if (found === undefined) return [`no evidence for container "${container}"`];
  const problems: string[] = [];
  if (!sameDigest(found.fromDigest, digests.from))
    problems.push(`${container}: from digest ${found.fromDigest ?? "-"}, expected ${digests.from}`);
  if (!sameDigest(found.toDigest, digests.to))
    problems.push(`${container}: to digest ${found.toDigest ?? "-"}, expected ${digests.to}`);
  const check = expected.evidence.digestCheck;
  if (check !== undefined && found.digestCheck !== check)
    problems.push(`${container}: digest check ${found.digestCheck ?? "-"}, expected ${check}`);
  return problems;
}
