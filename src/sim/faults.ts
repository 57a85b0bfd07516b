/**
 * Fault injection for HTTP requests (never for in-process controller writes): status codes
 * (429 with Retry-After, 500, 503, 409), added latency, watches dropped after N events, 410 on the
 * next watch resume, and apiserver restarts. Rules come in-process or from cluster-scoped FaultRule
 * objects (sim.rollbackdrill.io/v1) in the store.
 */
import { SIM_GROUP, SIM_RESOURCES, SIM_VERSION, type FaultRule } from "./contract.ts";
import { ApiError, conflict, qualifiedResource } from "./errors.ts";
import type { SimStore } from "./store.ts";
import type { KubeObject } from "./types.ts";

export type { FaultRule } from "./contract.ts";

export interface FaultRequest {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
  userAgent?: string;
  /** For watches: the resourceVersion asked for. */
  resourceVersion?: string;
}

export interface FaultDecision {
  latencyMs: number;
  error?: ApiError;
  /** For 429: the Retry-After header value. */
  retryAfterSeconds?: number;
  dropWatchAfterEvents?: number;
  expireWatch?: boolean;
}

interface LiveRule {
  id: string;
  rule: FaultRule;
  fired: number;
}

/** mulberry32: a small seeded PRNG so probabilistic faults (and tests' schedules) are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(rule: FaultRule, req: FaultRequest): boolean {
  if (rule.verb !== undefined && rule.verb !== req.verb) return false;
  if (rule.resource !== undefined) {
    const full = qualifiedResource(req.group, req.resource);
    if (rule.resource !== req.resource && rule.resource !== full) return false;
  }
  if (rule.namespace !== undefined && rule.namespace !== req.namespace) return false;
  if (rule.name !== undefined && rule.name !== req.name) return false;
  if (rule.userAgent !== undefined && !(req.userAgent ?? "").includes(rule.userAgent)) return false;
  return true;
}

/** The Status the apiserver sends for each injectable code (apimachinery/pkg/api/errors). */
function errorFor(code: number, req: FaultRequest): ApiError {
  switch (code) {
    case 409:
      return conflict(req.group, req.resource, req.name ?? "");
    case 429:
      return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds: 1,
      });
    case 503:
      return new ApiError(
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
      );
    default:
      return new ApiError(code, "InternalError", "Internal error occurred: injected fault", {
        causes: [{ message: "injected fault" }],
      });
  }
}

export interface FaultInjectorOptions {
  /** Seed of the PRNG for probabilities; default 1. */
  seed?: number;
}

/** Holds the fault rules and decides, per HTTP request, which faults apply. */
export class FaultInjector {
  readonly #rules = new Map<string, LiveRule>();
  readonly #random: () => number;
  readonly #restartHooks = new Set<(compact: boolean) => void>();
  #nextId = 1;
  #unsubscribe: (() => void) | undefined;

  constructor(options: FaultInjectorOptions = {}) {
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** Adds a rule; returns its id. */
  add(rule: FaultRule, id = `rule-${this.#nextId++}`): string {
    this.#rules.set(id, { id, rule: { ...rule }, fired: 0 });
    return id;
  }

  remove(id: string): void {
    this.#rules.delete(id);
  }

  clear(): void {
    this.#rules.clear();
  }

  rules(): { id: string; rule: FaultRule; fired: number }[] {
    return [...this.#rules.values()].map(r => ({ id: r.id, rule: { ...r.rule }, fired: r.fired }));
  }

  /** Decides the faults for one request; consumes counts of the rules that fire. */
  decide(req: FaultRequest): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const live of this.#rules.values()) {
      const { rule } = live;
      if (!matches(rule, req)) continue;
      if (rule.count !== undefined && live.fired >= rule.count) continue;
      if (
        rule.expireNextWatch &&
        (req.verb !== "watch" || !req.resourceVersion || req.resourceVersion === "0")
      ) {
        continue;
      }
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      live.fired++;
      decision.latencyMs += rule.latencyMs ?? 0;
      if (rule.code !== undefined && !decision.error) {
        decision.error = errorFor(rule.code, req);
        if (rule.code === 429) decision.retryAfterSeconds = 1;
      }
      if (rule.dropWatchAfterEvents !== undefined)
        decision.dropWatchAfterEvents = rule.dropWatchAfterEvents;
      if (rule.expireNextWatch) decision.expireWatch = true;
    }
    return decision;
  }

  /** Registers what a restart does (the server closes its watches). */
  onRestart(hook: (compact: boolean) => void): () => void {
    this.#restartHooks.add(hook);
    return () => this.#restartHooks.delete(hook);
  }

  /** An apiserver restart: every open watch is closed; with compact, resumes from before get 410. */
  restart(options: { compact?: boolean } = {}): void {
    for (const hook of [...this.#restartHooks]) hook(options.compact ?? false);
  }

  /** Keeps the rules in step with the FaultRule objects in the store (rule id = object name). */
  attach(store: SimStore): void {
    this.#unsubscribe?.();
    const { resource } = SIM_RESOURCES.faultRules;
    const gvr = { group: SIM_GROUP, version: SIM_VERSION, resource };
    for (const item of store.list(gvr).items) this.#fromObject(item);
    this.#unsubscribe = store.subscribe(event => {
      if (event.gvr.group !== SIM_GROUP || event.gvr.resource !== resource) return;
      const id = `faultrule/${event.object.metadata.name ?? ""}`;
      if (event.type === "DELETED") this.#rules.delete(id);
      else this.#fromObject(event.object);
    });
  }

  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #fromObject(object: KubeObject): void {
    const spec = (object["spec"] ?? {}) as FaultRule;
    const id = `faultrule/${object.metadata.name ?? ""}`;
    const previous = this.#rules.get(id);
    this.#rules.set(id, { id, rule: { ...spec }, fired: previous?.fired ?? 0 });
  }
}
