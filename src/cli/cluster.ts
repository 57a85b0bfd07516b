/**
 * Reaching the cluster from a command: the kubeconfig loaded with one line when it cannot be, the
 * adapter with few, quick retries, and each refusal explained in one line (exit 2).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { CRD_NAME } from "../api/vocabulary.ts";
import { sleep, type Clock } from "../controller/clock.ts";
import { createKubeClient, loadKubeConfig, type KubeClient } from "../kube/client.ts";
import {
  ForbiddenError,
  InvalidError,
  NetworkError,
  NotFoundError,
  toKubeError,
  UnauthorizedError,
  type KubeError,
} from "../kube/errors.ts";
import { firstLine } from "./io.ts";

/** A failure that means the gate could not run: exit 2 with one line. */
export class GateError extends Error {}

/** One line saying why the cluster refused or could not be reached, and what to do. */
export function explain(err: unknown, what: string): string {
  const e: KubeError = toKubeError(err);
  if (e instanceof NetworkError) return `cannot reach the cluster (${what}): ${e.message}`;
  if (e instanceof UnauthorizedError)
    return `the cluster rejected the credentials (${what}): check --kubeconfig`;
  if (e instanceof ForbiddenError) return `forbidden (${what}): ${e.message}`;
  if (e instanceof NotFoundError && /rollbackdrill/i.test(what))
    return `the RollbackDrill CRD (${CRD_NAME}) is not installed: kubectl apply -f crds/ first (--standalone needs it too)`;
  if (e instanceof InvalidError) return `the cluster rejected the drill (${what}): ${e.message}`;
  return `${what} failed: ${e.message}`;
}

export function gateKubeConfig(kubeconfig: string | undefined): KubeConfig {
  try {
    return loadKubeConfig(kubeconfig);
  } catch (err) {
    throw new GateError(
      `cannot load the kubeconfig${kubeconfig === undefined || kubeconfig.includes("\n") ? "" : ` ${kubeconfig}`}: ${err instanceof Error ? firstLine(err.message) : String(err)}`,
      { cause: err },
    );
  }
}

/** The adapter with few, quick retries: a gate should fail fast when the cluster is away. */
export function gateKubeClient(
  kubeConfig: KubeConfig,
  clock: Clock,
  onError?: (what: string, error: KubeError) => void,
): KubeClient {
  return createKubeClient({
    kubeConfig,
    sleep: ms => sleep(clock, ms),
    schedule: (fn, ms) => {
      const handle = clock.setTimeout(fn, ms);
      return () => {
        clock.clearTimeout(handle);
      };
    },
    retryPolicy: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 2000 },
    ...(onError === undefined
      ? {}
      : {
          onTransientError: (what, error) => {
            onError(what, error);
          },
        }),
  });
}
