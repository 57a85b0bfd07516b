/**
 * `rollback-drill plan`: what a drill of a target would do, like `kubectl rollout undo --dry-run`,
 * writing nothing. It reads the Deployment, its ReplicaSets and pods (list+watch through the
 * adapter's informers, stopped at once), the drill of that name if one exists (its spec and its
 * digest ledger), and whether the Secrets the templates need exist; then it runs the core's own
 * functions: resolveRevisions (kubectl's choice of revision), preflight, and the sandbox plan.
 *
 * Exit status: 0 the drill can run, 1 it would fail before any sandbox (no history, the revision
 * not found, a blocking preflight finding, no such Deployment), 2 could not look (cluster, RBAC).
 */
import { parseArgs } from "node:util";
import { Value } from "@sinclair/typebox/value";
import { stringify } from "yaml";
import { SpecSchema } from "../api/schema.ts";
import type { DrillSpec, DrillWarning, LedgerEntry, RollbackDrill } from "../api/types.ts";
import { API_VERSION, KIND } from "../api/vocabulary.ts";
import { createSystemClock } from "../controller/clock.ts";
import { gatherTarget, type ClusterCache } from "../controller/gather.ts";
import { digestOf, isPinned, templateContainers } from "../core/digest.ts";
import { digestsOfPods, ledgerEntryFor, podsWithHash } from "../core/ledger.ts";
import type {
  DeploymentView,
  ObservedTarget,
  PodTemplateSpec,
  PodView,
  ReplicaSetView,
  SourceState,
} from "../core/observed.ts";
import { preflight } from "../core/preflight.ts";
import { objectsToLookUp } from "../core/refs.ts";
import { ownedRevisions, resolveRevisions, type Revision } from "../core/revisions.ts";
import { sandboxNameFor, sandboxSetupActions } from "../core/sandbox.ts";
import type { KubeClient } from "../kube/client.ts";
import { NotFoundError, toKubeError } from "../kube/errors.ts";
import { parseFlags, type Io } from "./io.ts";
import { explain, GateError, gateKubeClient, gateKubeConfig } from "./cluster.ts";
import { parseTargetFlags, TARGET_FLAGS, type Output, type TargetOptions } from "./args.ts";

export const PLAN_USAGE = `Usage: rollback-drill plan --namespace NS --target deployment/NAME [flags]

Show what a drill of the Deployment would do (the revisions kubectl would pick, their images, the
sandbox it would create, the preflight findings), writing nothing.

Flags:
  -n, --namespace NS       namespace of the target (required)
  --target deployment/NAME the Deployment (required; plan shows Deployment drills only so far)
  --to-revision N          revision to roll back to (default: the drill's, else 0: the previous one)
  --name NAME              the drill whose spec to use, if it exists (default gate-<target>)
  -o, --output FORMAT      table (default), json or yaml
  --kubeconfig PATH        kubeconfig file (default: $KUBECONFIG, then in-cluster)

Exit status: 0 the drill can run, 1 it would fail before creating a sandbox, 2 could not look.
`;

/** Plan takes exactly the target flags the gate does (and --to-revision stays unset by default). */
export type PlanOptions = TargetOptions;

export function parsePlanArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
): PlanOptions | "help" {
  const { values } = parseArgs({ args: argv, options: TARGET_FLAGS, strict: true });
  if (values.help) return "help";
  return Object.freeze(parseTargetFlags(values, env));
}

interface RevisionPlan {
  revision: number;
  replicaSet: string;
  images: { container: string; init: boolean; image: string; pinned: boolean }[];
}

/** The plan as printed: JSON/YAML carry it whole. */
export interface Plan {
  deployment: { namespace: string; name: string };
  drill: { name: string; exists: boolean };
  revisions: number[];
  current?: RevisionPlan & { runningDigests?: { name: string; digest: string }[] };
  rollbackTo?: RevisionPlan & { expectedDigests?: { name: string; digest: string }[] };
  sandbox?: {
    namespace: string;
    objects: string[];
    steps: string[];
  };
  warnings: DrillWarning[];
  /** Why the drill would fail before any sandbox, if it would. */
  blocked?: { reason: string; message: string };
}

function revisionPlan(rev: Revision): RevisionPlan {
  return {
    revision: rev.revision,
    replicaSet: rev.replicaSet.metadata.name,
    images: templateContainers(rev.replicaSet.spec.template).map(c => ({
      container: c.container.name,
      init: c.init,
      image: c.container.image,
      pinned: isPinned(c.container.image),
    })),
  };
}

/** A drill object for the core: the existing one, or a defaulted one that was never written. */
function drillFor(options: PlanOptions, existing: RollbackDrill | undefined): RollbackDrill {
  const spec = Value.Default(
    SpecSchema,
    structuredClone(
      existing?.spec ?? {
        targetRef: { kind: options.targetKind, name: options.target },
        toRevision: 0,
      },
    ),
  ) as DrillSpec;
  if (options.toRevision !== undefined) spec.toRevision = options.toRevision;
  spec.targetRef = { ...spec.targetRef, kind: options.targetKind, name: options.target };
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: existing?.metadata ?? {
      name: options.name,
      namespace: options.namespace,
      uid: "",
      generation: 0,
    },
    spec,
    ...(existing?.status === undefined ? {} : { status: existing.status }),
  };
}

function sandboxPlan(
  drill: RollbackDrill,
  target: ObservedTarget,
  templates: {
    from: PodTemplateSpec;
    to: PodTemplateSpec;
    toRevision: number;
    fromRevision: number;
  },
  present: { configMaps: Set<string>; secrets: Set<string> },
): NonNullable<Plan["sandbox"]> {
  const runId = String((drill.status?.runCount ?? 0) + 1);
  const namespace =
    drill.metadata.uid === ""
      ? `${sandboxNameFor(drill, runId).replace(/-x-\d+$/, "")}-<uid>-<run>`
      : sandboxNameFor(drill, runId);
  const actions = sandboxSetupActions(
    {
      drill,
      runId,
      namespace,
      templates: [templates.to, templates.from],
      operator: {
        serviceAccountName: "rollback-drill-operator",
        namespace: "rollback-drill-system",
      },
    },
    present,
  );
  const objects = actions.map(a => {
    switch (a.type) {
      case "CreateNamespace":
        return `Namespace ${a.name}`;
      case "CreateObject":
        return `${a.manifest.kind} ${a.manifest.metadata.name}`;
      case "CopyConfigMap":
        return `ConfigMap ${a.to.name} (copy)`;
      case "CopySecret":
        return `Secret ${a.to.name} (copy)`;
      default:
        return a.type;
    }
  });
  const name = target.deployment.metadata.name;
  const checks = drill.spec.checks;
  objects.push(
    `Deployment ${name} (${String(drill.spec.sandbox.replicas)} replica(s), imagePullPolicy Always)`,
  );
  return {
    namespace,
    objects,
    steps: [
      `Create the clone at revision ${String(templates.toRevision)}'s template and wait for it`,
      `Update it to revision ${String(templates.fromRevision)}'s template (the sandbox gets the same two revisions)`,
      `Undo as kubectl rollout undo does, back to revision ${String(templates.toRevision)}'s template`,
      `Verify: pods Ready for ${String(checks.stableSeconds)}s, images pulled, no crash loop, digests (${checks.digestPolicy})` +
        (checks.maxRollbackSeconds === undefined
          ? ""
          : `, rollback within ${String(checks.maxRollbackSeconds)}s`) +
        `; the run times out after ${String(checks.timeoutSeconds)}s`,
      drill.spec.sandbox.keepOnFailure
        ? `Delete the sandbox (kept ${String(drill.spec.sandbox.ttlSecondsAfterFinished)}s after a failure)`
        : "Delete the sandbox",
    ],
  };
}

async function sourceStates(
  kube: KubeClient,
  namespace: string,
  wanted: { configMaps: string[]; secrets: string[] },
): Promise<{ configMaps: Record<string, SourceState>; secrets: Record<string, SourceState> }> {
  const state = async (read: () => Promise<unknown>): Promise<SourceState> => {
    try {
      await read();
      return "Present";
    } catch (err) {
      const e = toKubeError(err);
      if (e instanceof NotFoundError) return "Missing";
      if (e.kind === "Forbidden") return "Forbidden";
      throw e;
    }
  };
  const configMaps: Record<string, SourceState> = {};
  const secrets: Record<string, SourceState> = {};
  for (const name of wanted.configMaps)
    configMaps[name] = await state(() => kube.getConfigMap({ namespace, name }));
  for (const name of wanted.secrets)
    secrets[name] = await state(() => kube.getSecret({ namespace, name }));
  return { configMaps, secrets };
}

/** Computes the plan from what was read. Pure but for the Secret and ConfigMap lookups. */
export async function planFor(
  options: PlanOptions,
  target: ObservedTarget | undefined,
  existing: RollbackDrill | undefined,
  kube: KubeClient,
): Promise<Plan> {
  const drill = drillFor(options, existing);
  const base: Plan = {
    deployment: { namespace: options.namespace, name: options.target },
    drill: { name: options.name, exists: existing !== undefined },
    revisions: [],
    warnings: [],
  };
  if (target === undefined)
    return {
      ...base,
      blocked: {
        reason: "TargetNotFound",
        message: `Deployment "${options.target}" not found in namespace "${options.namespace}".`,
      },
    };
  const resolved = resolveRevisions(target.deployment, target.replicaSets, drill.spec.toRevision);
  base.revisions = ownedRevisions(target.deployment, target.replicaSets)
    .map(r => r.revision)
    .sort((a, b) => a - b);
  if (!resolved.ok)
    return { ...base, blocked: { reason: "NoRevisionHistory", message: resolved.message } };
  const { current, target: to } = resolved;
  const fromTemplate = current.replicaSet.spec.template;
  const toTemplate = to.replicaSet.spec.template;
  const wanted = objectsToLookUp(drill, [toTemplate, fromTemplate]);
  const sources = await sourceStates(kube, options.namespace, wanted);
  const found = preflight({
    drill,
    target: target.deployment,
    toTemplate,
    fromTemplate,
    toRevision: to.revision,
    secrets: sources.secrets,
  });
  const running = digestsOfPods(
    podsWithHash(target.pods, current.hash),
    templateContainers(fromTemplate).map(c => c.container.name),
  );
  const expected = expectedDigests(toTemplate, ledgerEntryFor(drill.status?.digestLedger, to.hash));
  const present = (states: Record<string, SourceState>): Set<string> =>
    new Set(
      Object.entries(states)
        .filter(([, s]) => s === "Present")
        .map(([n]) => n),
    );
  return {
    ...base,
    current: {
      ...revisionPlan(current),
      ...(running === undefined ? {} : { runningDigests: running }),
    },
    rollbackTo: {
      ...revisionPlan(to),
      ...(expected.length === 0 ? {} : { expectedDigests: expected }),
    },
    ...(found.blocked === undefined
      ? {
          sandbox: sandboxPlan(
            drill,
            target,
            {
              from: fromTemplate,
              to: toTemplate,
              toRevision: to.revision,
              fromRevision: current.revision,
            },
            { configMaps: present(sources.configMaps), secrets: present(sources.secrets) },
          ),
        }
      : { blocked: found.blocked }),
    warnings: found.warnings,
  };
}

/** The digests a rollback must restore, where known: pinned refs, else what the ledger saw run. */
function expectedDigests(
  template: PodTemplateSpec,
  ledger: LedgerEntry | undefined,
): { name: string; digest: string }[] {
  return templateContainers(template).flatMap(({ container }) => {
    const pinned = isPinned(container.image) ? digestOf(container.image) : undefined;
    const seen = ledger?.containers.find(c => c.name === container.name)?.digest;
    const digest = pinned ?? seen;
    return digest === undefined ? [] : [{ name: container.name, digest }];
  });
}

export function formatPlan(plan: Plan, output: Output): string {
  switch (output) {
    case "json":
      return JSON.stringify(plan, null, 2);
    case "yaml":
      return stringify(plan).trimEnd();
    case "table":
      return planTable(plan);
  }
}

function imagesLine(rev: RevisionPlan): string {
  return rev.images
    .map(i => `${i.container}${i.init ? " (init)" : ""}=${i.image}${i.pinned ? "" : " (unpinned)"}`)
    .join(", ");
}

function planTable(plan: Plan): string {
  const { deployment, drill } = plan;
  const lines = [
    `Plan for deployment ${deployment.namespace}/${deployment.name} (drill ${drill.name}${drill.exists ? "" : ", not created"}; nothing is written)`,
    `Revisions:     ${plan.revisions.length === 0 ? "none" : plan.revisions.join(", ")}`,
  ];
  if (plan.current !== undefined)
    lines.push(
      `Current:       revision ${String(plan.current.revision)} (ReplicaSet ${plan.current.replicaSet}): ${imagesLine(plan.current)}`,
    );
  for (const d of plan.current?.runningDigests ?? [])
    lines.push(`  running:     ${d.name} ${d.digest}`);
  if (plan.rollbackTo !== undefined)
    lines.push(
      `Roll back to:  revision ${String(plan.rollbackTo.revision)} (ReplicaSet ${plan.rollbackTo.replicaSet}): ${imagesLine(plan.rollbackTo)}`,
    );
  for (const d of plan.rollbackTo?.expectedDigests ?? [])
    lines.push(`  must run:    ${d.name} ${d.digest}`);
  if (plan.sandbox !== undefined) {
    lines.push(`Sandbox:       namespace ${plan.sandbox.namespace}`);
    for (const o of plan.sandbox.objects) lines.push(`  create:      ${o}`);
    plan.sandbox.steps.forEach((step, i) => {
      lines.push(`Step ${String(i + 1)}:        ${step}`);
    });
  }
  for (const w of plan.warnings) lines.push(`Warning:       ${w.reason}: ${w.message}`);
  if (plan.blocked !== undefined)
    lines.push(`Would fail:    ${plan.blocked.reason}: ${plan.blocked.message}`);
  return lines.join("\n");
}

/** A cache over informers of the namespace's Deployments, ReplicaSets and Pods (reads only). */
async function readTarget(
  kube: KubeClient,
  drill: RollbackDrill,
): Promise<ObservedTarget | undefined> {
  const namespace = drill.metadata.namespace;
  const deployments = kube.informer("deployments", { namespace });
  const replicaSets = kube.informer("replicasets", { namespace });
  const pods = kube.informer("pods", { namespace });
  const all = [deployments, replicaSets, pods];
  try {
    await Promise.all(all.map(i => i.start()));
    // Informer objects as plain JSON (the typed list decodes timestamps to Dates).
    const plain = (obj: unknown): unknown => JSON.parse(JSON.stringify(obj));
    const cache: ClusterCache = {
      deployment: (ns, n) => {
        const found = deployments.get(n, ns);
        return found === undefined ? undefined : (plain(found) as DeploymentView);
      },
      deployments: ns => plain(deployments.list(ns)) as DeploymentView[],
      replicaSets: ns => plain(replicaSets.list(ns)) as ReplicaSetView[],
      pods: ns => plain(pods.list(ns)) as PodView[],
      // plan reads a Deployment target only (runPlan refuses another kind first).
      set: () => undefined,
      sets: () => [],
      controllerRevisions: () => [],
      namespace: () => undefined,
    };
    return gatherTarget(drill, cache);
  } finally {
    for (const i of all) i.stop();
  }
}

async function readDrill(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<RollbackDrill | undefined> {
  try {
    return await kube.getDrill({ namespace, name });
  } catch (err) {
    // No drill (or no CRD): plan with the defaults.
    if (toKubeError(err) instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Plans; returns the exit status. */
export async function runPlan(options: PlanOptions, io: Io): Promise<number> {
  const clock = createSystemClock({ keepAlive: true });
  try {
    const kubeConfig = gateKubeConfig(options.kubeconfig);
    let watchError: string | undefined;
    const kube = gateKubeClient(kubeConfig, clock, (what, error) => {
      watchError ??= explain(error, what);
    });
    let existing: RollbackDrill | undefined;
    try {
      existing = await readDrill(kube, options.namespace, options.name);
    } catch (err) {
      throw new GateError(explain(err, `get rollbackdrill ${options.namespace}/${options.name}`), {
        cause: err,
      });
    }
    const drill = drillFor(options, existing);
    if (drill.spec.targetRef.kind !== "Deployment")
      throw new GateError(
        `drill ${options.namespace}/${options.name} targets a ${drill.spec.targetRef.kind}: plan shows Deployment drills only so far; run the drill itself (rollback-drill run) to rehearse it`,
      );
    const target = await readTarget(kube, drill);
    if (watchError !== undefined) throw new GateError(watchError);
    let plan: Plan;
    try {
      plan = await planFor(options, target, existing, kube);
    } catch (err) {
      throw new GateError(explain(err, "read the templates' Secrets and ConfigMaps"), {
        cause: err,
      });
    }
    io.out(formatPlan(plan, options.output));
    return plan.blocked === undefined ? 0 : 1;
  } catch (err) {
    if (!(err instanceof GateError)) throw err;
    io.err(`rollback-drill plan: ${err.message}`);
    return 2;
  }
}

export async function planCommand(argv: string[], io: Io): Promise<number> {
  const options = parseFlags("plan", PLAN_USAGE, () => parsePlanArgs(argv, process.env), io);
  if ("exitCode" in options) return options.exitCode;
  return runPlan(options, io);
}
