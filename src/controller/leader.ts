/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the
 * holder renews spec.renewTime every retry period; a candidate takes the lease over only when it
 * has not been renewed for leaseDurationSeconds; every write carries the lease's resourceVersion,
 * so two candidates cannot both win (the loser gets a Conflict). A leader that cannot renew within
 * the renew deadline steps down. Release on shutdown empties holderIdentity so a standby takes
 * over at once instead of waiting out the lease.
 */
import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { KubeClient, ObjectKey } from "../kube/client.ts";
import { AlreadyExistsError, ConflictError, NotFoundError, toKubeError } from "../kube/errors.ts";
import type { Clock, TimerHandle } from "./clock.ts";

export interface LeaderElectionConfig {
  readonly lease: ObjectKey;
  /** This candidate's identity (the pod name). */
  readonly identity: string;
  /** Default 15 s. */
  readonly leaseDurationMs?: number;
  /** Default 10 s: a leader that could not renew for this long steps down. */
  readonly renewDeadlineMs?: number;
  /** Default 2 s: how often to try to acquire or renew. */
  readonly retryPeriodMs?: number;
}

export interface LeaderElector {
  /** Starts campaigning; the callbacks tell when leadership starts and ends. */
  start(): void;
  /** Stops campaigning and, when leading, releases the lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
}

export interface LeaderDeps {
  readonly kube: KubeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

type LeaseBody = V1Lease & { metadata: { namespace: string; name: string } };

export function createLeaderElector(config: LeaderElectionConfig, deps: LeaderDeps): LeaderElector {
  const leaseDurationMs = config.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = config.retryPeriodMs ?? 2_000;
  const { kube, clock, log } = deps;
  let leading = false;
  let running = false;
  let lastRenewMs = 0;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const spec = (now: Date, previous?: V1Lease["spec"]): NonNullable<V1Lease["spec"]> => {
    const takingOver = previous?.holderIdentity !== config.identity;
    return {
      holderIdentity: config.identity,
      leaseDurationSeconds: Math.round(leaseDurationMs / 1000),
      // MicroTime fields: a real API server rejects a Date's 3 fractional digits ("cannot parse
      // \".006Z\" as \".000000\""), so both go as V1MicroTime, which serializes 6.
      acquireTime: new V1MicroTime(
        takingOver || previous.acquireTime === undefined ? now : previous.acquireTime,
      ),
      renewTime: new V1MicroTime(now),
      leaseTransitions:
        (previous?.leaseTransitions ?? 0) + (takingOver && previous !== undefined ? 1 : 0),
    };
  };

  /** One attempt; true when we hold the lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = clock.now();
    let current: V1Lease;
    try {
      current = await kube.getLease(config.lease);
    } catch (err) {
      if (!(toKubeError(err) instanceof NotFoundError)) throw toKubeError(err);
      const body: LeaseBody = { metadata: { ...config.lease }, spec: spec(now) };
      await kube.createLease(body);
      return true;
    }
    const held = current.spec?.holderIdentity;
    const renewed = current.spec?.renewTime;
    const durationMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
    const expired =
      held === undefined ||
      held === "" ||
      renewed === undefined ||
      new Date(renewed).getTime() + durationMs <= now.getTime();
    if (held !== config.identity && !expired) return false;
    const body: LeaseBody = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...config.lease, resourceVersion: current.metadata?.resourceVersion ?? "" },
      spec: spec(now, current.spec),
    };
    await kube.replaceLease(body);
    return true;
  };

  const step = async (): Promise<void> => {
    try {
      const held = await tryAcquireOrRenew();
      if (held) lastRenewMs = clock.now().getTime();
      if (held && !leading) {
        leading = true;
        log.info({ lease: config.lease, identity: config.identity }, "Became leader");
        deps.onStartedLeading();
      } else if (!held && leading) {
        stepDown("Lost the lease to another candidate");
      }
    } catch (err) {
      const e = toKubeError(err);
      if (!(e instanceof ConflictError || e instanceof AlreadyExistsError))
        log.warn({ err: e }, "Could not acquire or renew the leader lease");
      if (leading && clock.now().getTime() - lastRenewMs > renewDeadlineMs)
        stepDown("Could not renew the leader lease within the renew deadline");
    }
  };

  const stepDown = (why: string): void => {
    leading = false;
    log.warn({ lease: config.lease }, why);
    deps.onStoppedLeading();
  };

  const schedule = (): void => {
    if (!running) return;
    timer = clock.setTimeout(() => {
      inFlight = step().finally(schedule);
    }, retryPeriodMs);
  };

  return {
    start() {
      if (running) return;
      running = true;
      inFlight = step().finally(schedule);
    },
    async stop() {
      running = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      await inFlight;
      if (!leading) return;
      leading = false;
      try {
        const current = await kube.getLease(config.lease);
        if (current.spec?.holderIdentity === config.identity) {
          await kube.replaceLease({
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { ...config.lease, resourceVersion: current.metadata?.resourceVersion ?? "" },
            spec: {
              holderIdentity: "",
              leaseDurationSeconds: 1,
              renewTime: new V1MicroTime(clock.now()),
            },
          });
        }
        log.info({ lease: config.lease }, "Released the leader lease");
      } catch (err) {
        log.warn({ err: toKubeError(err) }, "Could not release the leader lease");
      }
      deps.onStoppedLeading();
    },
    isLeader: () => leading,
  };
}
