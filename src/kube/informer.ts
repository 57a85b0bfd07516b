/**
 * A resilient list+watch cache over client-node's ListWatch: it lists, then watches from the
 * list's resourceVersion; on 410 Expired it relists (ListWatch does that itself); when the stream
 * ends it resumes the watch from the last resourceVersion. What ListWatch does not do is recover
 * from any other error (a refused connection, a 500 on the list, a watch answered 403): it stops
 * for good. This wrapper restarts it after a capped exponential back-off, resuming from the last
 * resourceVersion it saw (a stale one is answered 410, and that relists).
 *
 * Objects enter the cache slimmed (see slimmerFor): without managedFields, pods with only what the
 * drill engine reads, all as plain JSON (the typed list decodes timestamps to Dates, watch events
 * do not), and frozen, so readers share them without copying and a stray write throws.
 */
import { ListWatch, Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { toKubeError, type KubeError } from "./errors.ts";

export type InformerEvent = "add" | "update" | "delete";

export interface Informer<T extends KubernetesObject> {
  /**
   * Starts listing and watching; resolves once a list has filled the cache (a failed list is
   * retried after a back-off, and start() waits for it), or when stopped.
   */
  start(): Promise<void>;
  stop(): void;
  /** Objects in the cache: all, or one namespace's. */
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  on(event: InformerEvent, handler: (obj: T) => void): void;
  /** True once a list has succeeded (the cache reflects the server). */
  hasSynced(): boolean;
}

export interface InformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** Collection path, e.g. /apis/apps/v1/deployments or /api/v1/namespaces/ns/pods. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  /** Schedules a restart after `ms`; returns a cancel function (a Clock's setTimeout). */
  readonly schedule: (fn: () => void, ms: number) => () => void;
  /** Told about each error before the restart is scheduled. */
  readonly onError?: (error: KubeError, restartInMs: number) => void;
  /** First restart delay, in ms. Default 500. */
  readonly baseDelayMs?: number;
  /** Largest restart delay, in ms. Default 30_000. */
  readonly maxDelayMs?: number;
  /** What is kept of each object entering the cache (then frozen). Default: slimmerFor(path). */
  readonly slim?: (obj: T) => T;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value, frozen all the way down. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}

/** Plain JSON (the typed list's Dates become RFC 3339 strings), frozen all the way down. */
function frozenJson<T>(value: T): T {
  return deepFreeze(JSON.parse(JSON.stringify(value)) as T);
}

function pick(source: unknown, keys: readonly string[]): Json | undefined {
  if (!isRecord(source)) return undefined;
  const out: Json = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

const META_KEYS = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
] as const;

/** An object without metadata.managedFields (the server's field bookkeeping, often half its size). */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  return { ...obj, metadata: pick(obj.metadata, META_KEYS) };
}

/**
 * A pod as the drill engine reads it (core/observed.ts PodView): identity, labels and owners,
 * the node, and the status; its spec (containers, volumes...) is read from ReplicaSet templates.
 */
export function slimPod<T extends KubernetesObject>(pod: T): T {
  const raw = pod as unknown as Json;
  const spec = pick(raw["spec"], ["nodeName"]);
  const status = pick(raw["status"], [
    "phase",
    "reason",
    "message",
    "conditions",
    "containerStatuses",
    "initContainerStatuses",
  ]);
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: pick(pod.metadata, META_KEYS),
    ...(spec === undefined ? {} : { spec }),
    ...(status === undefined ? {} : { status }),
  } as unknown as T;
}

/** The default slimming for a collection path: pods keep what gather reads; the rest lose managedFields. */
export function slimmerFor<T extends KubernetesObject>(path: string): (obj: T) => T {
  return path.endsWith("/pods") ? slimPod : withoutManagedFields;
}

/** A Watch whose events carry slimmed objects, as the list's items are. */
function slimmingWatch<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  slim: (obj: T) => T,
): Watch {
  const watch = new Watch(kubeConfig);
  const inner = watch.watch.bind(watch);
  watch.watch = (path, query, callback, done) =>
    inner(
      path,
      query,
      (phase: string, obj: unknown, raw: unknown) => {
        // ERROR and BOOKMARK events carry a Status or a bare resourceVersion: left as they are.
        // A watch event's object is already plain JSON (Watch parses the line and nothing more),
        // so it is slimmed and frozen in place, without the list's copy through JSON.
        const isObject = phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED";
        callback(phase, isObject ? deepFreeze(slim(obj as T)) : obj, raw);
      },
      done,
    );
  return watch;
}

export function createInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): Informer<T> {
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const slim = options.slim ?? slimmerFor<T>(options.path);
  const listWatch = new ListWatch<T>(
    options.path,
    slimmingWatch(options.kubeConfig, slim),
    async () => {
      const list = await options.list();
      synced = true;
      markSynced();
      failures = 0;
      return { ...list, items: list.items.map(item => frozenJson(slim(item))) };
    },
    false,
    options.labelSelector,
  );
  let synced = false;
  // Resolved by the first successful list, or by stop(): start() waits for it, so nobody reads an
  // empty cache that only means "the list failed, a retry is scheduled" as "nothing exists".
  let markSynced: () => void = () => undefined;
  const firstSync = new Promise<void>(resolve => {
    markSynced = resolve;
  });
  let stopped = true;
  let failures = 0;
  let cancelRestart: (() => void) | undefined;
  // ListWatch.stop() aborts only a watch request already open: one called while the list is in
  // flight, from a handler of the list's own "add" events, or while the watch is connecting, is
  // followed by a watch opened anyway, which nobody would ever close (it kept a CLI's process
  // alive after its answer). So every (re)start stops the ListWatch again if stop() came meanwhile.
  const runListWatch = async (): Promise<void> => {
    await listWatch.start();
    if (stopped) void listWatch.stop();
  };

  listWatch.on("error", (err: unknown) => {
    if (stopped) return;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** failures);
    failures++;
    options.onError?.(toKubeError(err), delay);
    cancelRestart = options.schedule(() => {
      cancelRestart = undefined;
      if (!stopped) void runListWatch();
    }, delay);
  });
  // A watch event means the stream works again.
  listWatch.on("change", () => {
    failures = 0;
  });

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      await runListWatch();
      await firstSync;
    },
    stop() {
      stopped = true;
      markSynced();
      cancelRestart?.();
      cancelRestart = undefined;
      void listWatch.stop();
    },
    list: namespace => listWatch.list(namespace),
    get: (name, namespace) => listWatch.get(name, namespace),
    on(event, handler) {
      listWatch.on(event, handler);
    },
    hasSynced: () => synced,
  };
}
