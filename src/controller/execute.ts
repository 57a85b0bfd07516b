/**
 * execute: runs one of decide()'s actions through the adapter. An exhaustive switch, and every
 * case is idempotent (a crash between persisting status and finishing the actions replays them):
 * AlreadyExists on a create and NotFound on a delete are success. Copies read their source at
 * execution and create the copy with the sandbox's labels.
 */
import type { Logger } from "pino";
import type { RollbackDrill } from "../api/types.ts";
import { FINALIZER, LABEL_DRILL_UID, LABEL_MANAGED_BY, MANAGED_BY } from "../api/vocabulary.ts";
import type { Action, SetKind } from "../core/actions.ts";
import type { JsonPatchOp, KubeClient, ObjectKey } from "../kube/client.ts";
import { AlreadyExistsError, BadRequestError, NotFoundError, toKubeError } from "../kube/errors.ts";
import type { EventRecorder } from "./events.ts";

export interface ExecuteDeps {
  readonly kube: KubeClient;
  readonly events: EventRecorder;
  readonly log: Logger;
}

/** The drill as last written: finalizer patches need its current resourceVersion. */
export interface ExecuteContext {
  drill: RollbackDrill;
}

async function ignoring(
  kind: typeof AlreadyExistsError | typeof NotFoundError,
  write: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    const e = toKubeError(err);
    if (e instanceof kind) return false;
    throw e;
  }
}

const create = (write: () => Promise<unknown>): Promise<boolean> =>
  ignoring(AlreadyExistsError, write);

async function setFinalizers(
  ctx: ExecuteContext,
  deps: ExecuteDeps,
  finalizers: string[],
): Promise<void> {
  ctx.drill = await deps.kube.setDrillFinalizers(ctx.drill, finalizers);
}

async function copyConfigMap(
  action: Extract<Action, { type: "CopyConfigMap" }>,
  deps: ExecuteDeps,
): Promise<void> {
  const source = await deps.kube.getConfigMap(action.from).catch((err: unknown) => {
    if (toKubeError(err) instanceof NotFoundError) return undefined;
    throw toKubeError(err);
  });
  // Gone since gather: the clone's pods will say so (CreateContainerConfigError), as in production.
  if (source === undefined) return;
  await create(() =>
    deps.kube.createConfigMap({
      metadata: { ...action.to, labels: action.labels },
      ...(source.data === undefined ? {} : { data: source.data }),
      ...(source.binaryData === undefined ? {} : { binaryData: source.binaryData }),
      ...(source.immutable === undefined ? {} : { immutable: source.immutable }),
    }),
  );
}

/** Lines of each container's log a SaveLogs keeps (current instance, and the previous one if any). */
export const SAVED_LOG_LINES = 100;

/** A ConfigMap key for a pod's container: keys allow [-._a-zA-Z0-9]. */
export const logKey = (pod: string, container: string): string => `${pod}.${container}.log`;

async function saveLogs(
  action: Extract<Action, { type: "SaveLogs" }>,
  deps: ExecuteDeps,
): Promise<void> {
  const read = async (pod: string, container: string, previous: boolean): Promise<string> => {
    try {
      return await deps.kube.readPodLog(
        { namespace: action.configMap.namespace, name: pod },
        { container, previous, tailLines: SAVED_LOG_LINES },
      );
    } catch (err) {
      // No log (the pod is gone, or no previous instance): nothing to keep for it.
      const e = toKubeError(err);
      if (e instanceof NotFoundError || e instanceof BadRequestError) return "";
      throw e;
    }
  };
  const data: Record<string, string> = {};
  for (const { pod, container } of action.containers) {
    const [previous, current] = await Promise.all([
      read(pod, container, true),
      read(pod, container, false),
    ]);
    const text =
      previous === ""
        ? current
        : `--- previous instance ---\n${previous}\n--- current instance ---\n${current}`;
    data[logKey(pod, container)] = text;
  }
  await create(() =>
    deps.kube.createConfigMap({
      metadata: { ...action.configMap, labels: action.labels },
      data,
    }),
  );
}

async function copySecret(
  action: Extract<Action, { type: "CopySecret" }>,
  deps: ExecuteDeps,
): Promise<void> {
  const source = await deps.kube.getSecret(action.from).catch((err: unknown) => {
    if (toKubeError(err) instanceof NotFoundError) return undefined;
    throw toKubeError(err);
  });
  if (source === undefined) return;
  await create(() =>
    deps.kube.createSecret({
      metadata: { ...action.to, labels: action.labels },
      ...(source.type === undefined ? {} : { type: source.type }),
      ...(source.data === undefined ? {} : { data: source.data }),
      ...(source.immutable === undefined ? {} : { immutable: source.immutable }),
    }),
  );
}

/** Deletes a sandbox namespace only when its labels say this drill owns it. */
async function deleteNamespace(
  action: Extract<Action, { type: "DeleteNamespace" }>,
  deps: ExecuteDeps,
): Promise<void> {
  const ns = await deps.kube.getNamespace(action.name).catch((err: unknown) => {
    if (toKubeError(err) instanceof NotFoundError) return undefined;
    throw toKubeError(err);
  });
  if (ns === undefined || ns.metadata?.deletionTimestamp !== undefined) return;
  const labels = ns.metadata?.labels ?? {};
  const foreign = Object.entries(action.expectLabels).some(([k, v]) => labels[k] !== v);
  if (foreign) {
    deps.log.warn(
      { namespace: action.name },
      "Refused to delete a namespace this drill does not own",
    );
    return;
  }
  if (await ignoring(NotFoundError, () => deps.kube.deleteNamespace(action.name)))
    deps.log.info({ namespace: action.name }, "Deleted sandbox namespace");
}

/** A sandbox namespace that exists but is not this drill's: nothing may be written into it. */
export class ForeignNamespaceError extends Error {
  override name = "ForeignNamespaceError";
}

/**
 * The namespace was there already: go on only when its labels say this drill made it (a replay
 * after a crash). Otherwise stop before the next action writes into someone else's namespace.
 */
async function assertOwned(
  action: Extract<Action, { type: "CreateNamespace" }>,
  deps: ExecuteDeps,
): Promise<void> {
  const labels = (await deps.kube.getNamespace(action.name)).metadata?.labels ?? {};
  const uid = action.labels[LABEL_DRILL_UID];
  if (
    labels[LABEL_MANAGED_BY] === MANAGED_BY &&
    uid !== undefined &&
    labels[LABEL_DRILL_UID] === uid
  )
    return;
  throw new ForeignNamespaceError(
    `namespace ${action.name} exists and is not this drill's sandbox; nothing is created in it`,
  );
}

export async function execute(
  action: Action,
  ctx: ExecuteContext,
  deps: ExecuteDeps,
): Promise<void> {
  const { kube, log } = deps;
  switch (action.type) {
    case "EnsureFinalizer": {
      const finalizers = ctx.drill.metadata.finalizers ?? [];
      if (!finalizers.includes(FINALIZER))
        await setFinalizers(ctx, deps, [...finalizers, FINALIZER]);
      return;
    }
    case "RemoveFinalizer": {
      const finalizers = ctx.drill.metadata.finalizers ?? [];
      if (finalizers.includes(FINALIZER))
        await setFinalizers(
          ctx,
          deps,
          finalizers.filter(f => f !== FINALIZER),
        );
      return;
    }
    case "CreateNamespace":
      if (await create(() => kube.createNamespace(action.name, action.labels)))
        log.info({ namespace: action.name }, "Created sandbox namespace");
      else await assertOwned(action, deps);
      return;
    case "CreateObject":
      await create(() => kube.createSandboxObject(action.manifest));
      return;
    case "CopyConfigMap":
      await copyConfigMap(action, deps);
      return;
    case "CopySecret":
      await copySecret(action, deps);
      return;
    case "CreateDeployment":
      await createDeployment(action, deps);
      return;
    case "ReplaceDeploymentTemplate":
      await kube.patchDeploymentJson(action.target, [
        { op: "replace", path: "/spec/template", value: action.template },
      ]);
      log.info({ ...action.target }, "Rolled sandbox Deployment forward");
      return;
    case "UndoDeployment":
      await kube.patchDeploymentJson(action.target, action.patch);
      log.info({ ...action.target }, "Rolled back sandbox Deployment");
      return;
    case "SaveLogs":
      await saveLogs(action, deps);
      return;
    case "ScaleDeployment":
      await kube.patchDeploymentJson(action.target, [
        { op: "replace", path: "/spec/replicas", value: action.replicas },
      ]);
      log.info({ ...action.target, replicas: action.replicas }, "Scaled sandbox Deployment");
      return;
    case "CreateSet":
    case "ReplaceSetTemplate":
    case "UndoSet":
    case "ScaleStatefulSet":
    case "DeletePods":
      await executeSetAction(action, deps);
      return;
    case "DeleteNamespace":
      await deleteNamespace(action, deps);
      return;
    case "EmitEvent":
      try {
        await deps.events.emit(ctx.drill, action);
      } catch (err) {
        log.warn({ err: toKubeError(err), reason: action.reason }, "Could not record Event");
      }
      return;
  }
}

type SetAction = Extract<
  Action,
  { type: "CreateSet" | "ReplaceSetTemplate" | "UndoSet" | "ScaleStatefulSet" | "DeletePods" }
>;

/** The JSON-patch and strategic-merge-patch writes of a StatefulSet or DaemonSet clone. */
function setPatches(
  kube: KubeClient,
  kind: SetKind,
): {
  json: (key: ObjectKey, ops: readonly JsonPatchOp[]) => Promise<void>;
  strategic: (key: ObjectKey, body: unknown) => Promise<void>;
} {
  return kind === "StatefulSet"
    ? {
        json: (key, ops) => kube.patchStatefulSetJson(key, ops),
        strategic: (key, body) => kube.patchStatefulSetStrategic(key, body),
      }
    : {
        json: (key, ops) => kube.patchDaemonSetJson(key, ops),
        strategic: (key, body) => kube.patchDaemonSetStrategic(key, body),
      };
}

/** The actions of a StatefulSet or DaemonSet target's run, all on the sandbox's clone and its pods. */
async function executeSetAction(action: SetAction, deps: ExecuteDeps): Promise<void> {
  const { kube, log } = deps;
  switch (action.type) {
    case "CreateSet": {
      const { metadata, kind } = action.manifest;
      const namespace = metadata.namespace ?? "";
      // The core's manifest is a complete apps/v1 object; client-node's model is its shape.
      const body: unknown = { ...action.manifest, metadata: { ...metadata, namespace } };
      const created =
        kind === "StatefulSet"
          ? await create(() =>
              kube.createStatefulSet(body as Parameters<KubeClient["createStatefulSet"]>[0]),
            )
          : await create(() =>
              kube.createDaemonSet(body as Parameters<KubeClient["createDaemonSet"]>[0]),
            );
      if (created) log.info({ namespace, kind, name: metadata.name }, `Created sandbox ${kind}`);
      return;
    }
    case "ReplaceSetTemplate":
      await setPatches(kube, action.kind).json(action.target, [
        { op: "replace", path: "/spec/template", value: action.template },
      ]);
      log.info({ ...action.target, kind: action.kind }, `Rolled sandbox ${action.kind} forward`);
      return;
    case "UndoSet":
      await setPatches(kube, action.kind).strategic(action.target, action.patch);
      log.info({ ...action.target, kind: action.kind }, `Rolled back sandbox ${action.kind}`);
      return;
    case "ScaleStatefulSet":
      await kube.patchStatefulSetJson(action.target, [
        { op: "replace", path: "/spec/replicas", value: action.replicas },
      ]);
      log.info({ ...action.target, replicas: action.replicas }, "Scaled sandbox StatefulSet");
      return;
    case "DeletePods":
      for (const name of action.names)
        await ignoring(NotFoundError, () => kube.deletePod({ namespace: action.namespace, name }));
      log.info({ namespace: action.namespace, pods: action.names }, "Deleted sandbox pods");
      return;
  }
}

async function createDeployment(
  action: Extract<Action, { type: "CreateDeployment" }>,
  { kube, log }: ExecuteDeps,
): Promise<void> {
  const { metadata } = action.manifest;
  const namespace = metadata.namespace ?? "";
  // The core's manifest is a complete apps/v1 Deployment; client-node's model is its shape.
  const body: unknown = { ...action.manifest, metadata: { ...metadata, namespace } };
  if (
    await create(() => kube.createDeployment(body as Parameters<KubeClient["createDeployment"]>[0]))
  )
    log.info({ namespace, deployment: metadata.name }, "Created sandbox Deployment");
}
