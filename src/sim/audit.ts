/**
 * The audit log: every HTTP request the server answers and every internal write made through the
 * store by a controller, with identity, verb, resource and response code, in simulated time.
 */
import type { StoreAudit } from "./store.ts";
import { formatTimestamp } from "./types.ts";
import type { Actor, GVR, SimClock } from "./types.ts";

export type AuditVerb =
  "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface AuditEntry {
  /** Sequence number, from 1. */
  seq: number;
  /** "request" for HTTP requests, "internal" for in-process writes. */
  source: "request" | "internal";
  verb: AuditVerb;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user: string;
  userAgent?: string;
  /** HTTP status code (internal writes: 200). */
  code: number;
  /** Request path (HTTP only). */
  path?: string;
  /** Simulated epoch milliseconds. */
  timeMs: number;
}

export type AuditFilter = Partial<
  Pick<
    AuditEntry,
    "source" | "verb" | "group" | "resource" | "namespace" | "name" | "user" | "code"
  >
>;

export interface AuditLogOptions {
  clock: SimClock;
  /** Entries kept in memory; default 50,000. */
  capacity?: number;
}

/** The audit log; also the store's StoreAudit for internal writes. */
export class AuditLog implements StoreAudit {
  readonly #clock: SimClock;
  readonly #capacity: number;
  readonly #entries: AuditEntry[] = [];
  readonly #listeners = new Set<(entry: AuditEntry) => void>();
  readonly #requestActors = new WeakSet<Actor>();
  #seq = 0;

  constructor(options: AuditLogOptions) {
    this.#clock = options.clock;
    this.#capacity = options.capacity ?? 50_000;
  }

  /** Marks an actor as an HTTP request's, so store writes made for it are not recorded twice. */
  markRequestActor(actor: Actor): void {
    this.#requestActors.add(actor);
  }

  record(entry: Omit<AuditEntry, "seq" | "timeMs">): AuditEntry {
    const full: AuditEntry = { ...entry, seq: ++this.#seq, timeMs: this.#clock.nowMs() };
    this.#entries.push(full);
    if (this.#entries.length > this.#capacity) this.#entries.shift();
    for (const l of [...this.#listeners]) l(full);
    return full;
  }

  recordWrite(entry: Parameters<StoreAudit["recordWrite"]>[0]): void {
    if (this.#requestActors.has(entry.actor)) return;
    const gvr: GVR = entry.gvr;
    const out: Omit<AuditEntry, "seq" | "timeMs"> = {
      source: "internal",
      verb: entry.verb,
      group: gvr.group,
      version: gvr.version,
      resource: gvr.resource,
      name: entry.name,
      user: entry.actor.user,
      code: 200,
    };
    if (entry.subresource !== undefined) out.subresource = entry.subresource;
    if (entry.namespace !== undefined) out.namespace = entry.namespace;
    if (entry.actor.userAgent !== undefined) out.userAgent = entry.actor.userAgent;
    this.record(out);
  }

  entries(filter: AuditFilter = {}): AuditEntry[] {
    const keys = Object.entries(filter) as [keyof AuditEntry, unknown][];
    return this.#entries
      .filter(e => keys.every(([k, v]) => v === undefined || e[k] === v))
      .map(e => ({ ...e }));
  }

  subscribe(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#entries.length = 0;
  }

  /** The entries as the API serves them (AuditEventList items). */
  toObjects(): Record<string, unknown>[] {
    return this.#entries.map(e => ({
      apiVersion: "audit.sim.rollbackdrill.io/v1",
      kind: "AuditEvent",
      metadata: { name: String(e.seq), creationTimestamp: formatTimestamp(e.timeMs) },
      ...e,
      time: new Date(e.timeMs).toISOString(),
    }));
  }
}
