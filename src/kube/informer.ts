/**
 * A resilient list+watch cache over client-node's ListWatch: it lists, then watches from the
 * list's resourceVersion; on 410 Expired it relists (ListWatch does that itself); when the stream
 * ends it resumes the watch from the last resourceVersion. What ListWatch does not do is recover
 * from any other error (a refused connection, a 500 on the list, a watch answered 403): it stops
 * for good. This wrapper restarts it after a capped exponential back-off, resuming from the last
 * resourceVersion it saw (a stale one is answered 410, and that relists).
 */
import { ListWatch, Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { toKubeError, type KubeError } from "./errors.ts";

export type InformerEvent = "add" | "update" | "delete";

export interface Informer<T extends KubernetesObject> {
  /** Starts listing and watching; resolves after the first list has filled the cache. */
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
}

export function createInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): Informer<T> {
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const listWatch = new ListWatch<T>(
    options.path,
    new Watch(options.kubeConfig),
    async () => {
      const list = await options.list();
      synced = true;
      failures = 0;
      return list;
    },
    false,
    options.labelSelector,
  );
  let synced = false;
  let stopped = true;
  let failures = 0;
  let cancelRestart: (() => void) | undefined;

  listWatch.on("error", (err: unknown) => {
    if (stopped) return;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** failures);
    failures++;
    options.onError?.(toKubeError(err), delay);
    cancelRestart = options.schedule(() => {
      cancelRestart = undefined;
      if (!stopped) void listWatch.start();
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
      await listWatch.start();
    },
    stop() {
      stopped = true;
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
