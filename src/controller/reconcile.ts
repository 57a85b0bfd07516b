/**
 * reconcile(key): level-based and short. Fetch the drill (gone: done) -> gather -> decide (pure)
 * -> persist status through the status subresource with the drill's resourceVersion -> execute
 * the actions -> requeue as decided. Status goes first so every action is safe to replay after a
 * crash. A stale resourceVersion (409) is never overwritten: the drill is read again and decided
 * again once; a second conflict is an error and backs off. A run's sandbox write refused for good
 * (Forbidden, Invalid) is decided on at once (reconcileDrill). Any other error backs off too.
 */
import type { Logger } from "pino";
import type { DrillStatus, RollbackDrill } from "../api/types.ts";
import { decide } from "../core/decide.ts";
import { namespaceWrittenBy, type Action } from "../core/actions.ts";
import type { ActionFailure, OperatorIdentity } from "../core/observed.ts";
import type { KubeClient, ObjectKey } from "../kube/client.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  toKubeError,
  type KubeError,
} from "../kube/errors.ts";
import { sleep, type Clock } from "./clock.ts";
import type { EventRecorder } from "./events.ts";
import { execute, type ExecuteContext, type ExecuteDeps } from "./execute.ts";
import { gather, type ClusterCache, type LogCache } from "./gather.ts";
import { forgetDrill, recordRun, type Metrics } from "./metrics.ts";

/** What the work queue does next: `requeueAfterMs` undefined means wait for a watch event. */
export interface Result {
  readonly requeueAfterMs?: number;
}
export const DONE: Result = Object.freeze({});

/** The drills as the controller knows them: the informer's cache plus its own latest writes. */
export interface DrillSource {
  get(key: ObjectKey): RollbackDrill | undefined;
  /** A drill this controller just wrote (newer than the cache until the watch catches up). */
  remember(drill: RollbackDrill): void;
}

export interface ReconcileDeps {
  readonly kube: KubeClient;
  readonly cache: ClusterCache;
  readonly drills: DrillSource;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly logs: LogCache;
  readonly operator: OperatorIdentity;
}

export async function reconcile(key: ObjectKey, deps: ReconcileDeps): Promise<Result> {
  const drill = deps.drills.get(key);
  if (drill === undefined) {
    forgetDrill(deps.metrics, key);
    return DONE;
  }
  try {
    return await reconcileDrill(drill, deps);
  } catch (err) {
    if (!(toKubeError(err) instanceof ConflictError)) throw toKubeError(err);
    // Someone wrote the drill since our copy: read it fresh and decide again, once.
    const fresh = await deps.kube.getDrill(key).catch((e: unknown) => {
      if (toKubeError(e) instanceof NotFoundError) return undefined;
      throw toKubeError(e);
    });
    if (fresh === undefined) return DONE;
    deps.drills.remember(fresh);
    return reconcileDrill(fresh, deps);
  }
}

/**
 * One gather -> decide -> persist -> execute pass. A sandbox write refused for good (Forbidden,
 * Invalid) would be refused again on every retry until the run timed out, so the drill is decided
 * once more at once with the refusal in Observed, and decide() ends the run with it; a refusal in
 * that second pass backs off like any error.
 */
async function reconcileDrill(
  drill: RollbackDrill,
  deps: ReconcileDeps,
  refused?: ActionFailure,
): Promise<Result> {
  const { metadata } = drill;
  // The transition lines name their run themselves (a run that starts now is not the one bound
  // here): from a logger without it, or pino writes the key twice ("run":"1" ... "run":"1").
  const drillLog = deps.log.child({
    drill: `${metadata.namespace}/${metadata.name}`,
    generation: metadata.generation,
  });
  const boundRun = drill.status?.currentRun?.id;
  const log = boundRun === undefined ? drillLog : drillLog.child({ run: boundRun });
  const observed = await gather(drill, deps);
  const seen = refused === undefined ? observed : { ...observed, actionFailure: refused };
  const decision = decide(drill, seen, deps.clock.now());
  const ctx = { drill: await persistStatus(drill, decision.status, deps) };
  reportTransition(drill, decision.status, drillLog, deps.metrics);
  const runId = decision.status.currentRun?.id;
  try {
    for (const action of decision.actions)
      await executeRecording(
        action,
        ctx,
        { kube: deps.kube, events: deps.events, log },
        deps.clock,
        runId,
      );
  } catch (err) {
    if (ctx.drill !== drill) deps.drills.remember(ctx.drill);
    if (!(err instanceof WriteRefused)) throw err;
    if (refused !== undefined) throw err.refusal;
    return reconcileDrill(ctx.drill, deps, err.failure);
  }
  if (ctx.drill !== drill) deps.drills.remember(ctx.drill);
  return decision.requeueAfterMs === undefined ? DONE : { requeueAfterMs: decision.requeueAfterMs };
}

/** Runs one action; a refusal for good of a run's write is thrown as a WriteRefused. */
async function executeRecording(
  action: Action,
  ctx: ExecuteContext,
  deps: ExecuteDeps,
  clock: Clock,
  runId: string | undefined,
): Promise<void> {
  try {
    await executeThroughRbacLag(action, ctx, deps, clock);
  } catch (err) {
    const e = toKubeError(err);
    const kind =
      e instanceof ForbiddenError ? "Forbidden" : e instanceof InvalidError ? "Invalid" : undefined;
    if (kind === undefined || runId === undefined || namespaceWrittenBy(action) === undefined)
      throw e;
    deps.log.warn({ err: e, action: action.type }, "Sandbox write refused");
    throw new WriteRefused({ runId, action, kind, message: e.message }, e);
  }
}

/**
 * Waits (milliseconds) before retrying a sandbox write the apiserver refused with 403. A real
 * API server authorizes from an informer cache of RoleBindings, so for a moment after the
 * operator binds the sandbox role a write there is refused (seen on the real cluster: "cannot
 * create resource networkpolicies ... in the namespace rbd-..." right after the binding). A
 * refusal that outlasts these waits (about 2 s) is for good.
 */
const RBAC_LAG_RETRIES_MS = [100, 300, 600, 1000] as const;

/**
 * Writes the sandbox RoleBinding grants (so the lag can explain their refusal), not the
 * namespace or the binding itself, which the operator's own long-standing role allows.
 */
function grantedByTheSandboxBinding(action: Action): boolean {
  if (namespaceWrittenBy(action) === undefined) return false;
  if (action.type === "CreateNamespace" || action.type === "DeleteNamespace") return false;
  return !(action.type === "CreateObject" && action.manifest.kind === "RoleBinding");
}

async function executeThroughRbacLag(
  action: Action,
  ctx: ExecuteContext,
  deps: ExecuteDeps,
  clock: Clock,
): Promise<void> {
  for (const waitMs of [...RBAC_LAG_RETRIES_MS, undefined]) {
    try {
      await execute(action, ctx, deps);
      return;
    } catch (err) {
      const e = toKubeError(err);
      if (waitMs === undefined || !(e instanceof ForbiddenError)) throw e;
      if (!grantedByTheSandboxBinding(action)) throw e;
      deps.log.debug({ action: action.type, waitMs }, "Sandbox write refused; retrying");
      await sleep(clock, waitMs);
    }
  }
}

/** A write the apiserver refused for good, carried to the second decision of the reconcile. */
class WriteRefused extends Error {
  override name = "WriteRefused";
  readonly failure: ActionFailure;
  /** The apiserver's error, thrown as it is when the refusal does not end the run. */
  readonly refusal: KubeError;
  constructor(failure: ActionFailure, refusal: KubeError) {
    super(`${failure.kind}: ${failure.message}`, { cause: refusal });
    this.failure = failure;
    this.refusal = refusal;
  }
}

/** Writes the decided status unless it is what the drill already says. */
async function persistStatus(
  drill: RollbackDrill,
  status: DrillStatus,
  deps: ReconcileDeps,
): Promise<RollbackDrill> {
  if (isDeepEqual(drill.status ?? {}, status)) return drill;
  const written = await deps.kube.replaceDrillStatus({ ...drill, status });
  deps.drills.remember(written);
  return written;
}

function seconds(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
}

/** Logs phase changes and records a run's outcome once, when its record first appears. */
function reportTransition(
  drill: RollbackDrill,
  next: DrillStatus,
  log: Logger,
  metrics: Metrics,
): void {
  const before = drill.status?.currentRun;
  const after = next.currentRun;
  if (after !== undefined && (before?.id !== after.id || before.phase !== after.phase))
    log.info({ run: after.id, phase: after.phase }, `Drill run entered phase ${after.phase}`);
  const run = next.lastRun;
  if (run === undefined || run.id === drill.status?.lastRun?.id) return;
  if (run.verdict === undefined || run.reason === undefined) return;
  log.info(
    { run: run.id, verdict: run.verdict, reason: run.reason, rollbackSeconds: run.rollbackSeconds },
    `Finished drill run: ${run.verdict} (${run.reason})`,
  );
  const completed = run.completionTime === undefined ? undefined : Date.parse(run.completionTime);
  const duration = seconds(run.startTime, run.completionTime);
  recordRun(metrics, drill.metadata, {
    verdict: run.verdict,
    reason: run.reason,
    ...(duration === undefined ? {} : { durationSeconds: duration }),
    ...(run.rollbackSeconds === undefined ? {} : { rollbackSeconds: run.rollbackSeconds }),
    ...(run.verdict === "Passed" && completed !== undefined && Number.isFinite(completed)
      ? { passedAtSeconds: completed / 1000 }
      : {}),
  });
}

/** Structural equality of JSON values (key order ignored; undefined members count as absent). */
export function isDeepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => isDeepEqual(item, b[i]));
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const key of keys) if (!isDeepEqual(x[key], y[key])) return false;
  return true;
}
