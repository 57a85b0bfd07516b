/**
 * The simulator's wire contract: what a client outside the simulator may send it, in its own API
 * group (sim.rollbackdrill.io/v1, cluster-scoped kinds): ContainerImage (a repository of the
 * simulated registry), SimDatabase (a simulated database's schema version) and FaultRule (an
 * injected API fault). The one definition; the scenarios, the e2e backends and the simulator's
 * own handlers import it from here. It imports nothing and does no I/O.
 */

/** The simulator's own API group and its one version. */
export const SIM_GROUP = "sim.rollbackdrill.io";
export const SIM_VERSION = "v1";
export const SIM_API_VERSION = `${SIM_GROUP}/${SIM_VERSION}`;

/** The resources (plural names) of the group, with the kinds they hold. */
export const SIM_RESOURCES = {
  containerImages: { resource: "containerimages", kind: "ContainerImage" },
  simDatabases: { resource: "simdatabases", kind: "SimDatabase" },
  faultRules: { resource: "faultrules", kind: "FaultRule" },
} as const;

/** What a simulated program does when a container runs it. Durations are simulated milliseconds. */
export interface ImageBehaviour {
  /** Time to pull the image onto a node; default 500. */
  pullMs?: number;
  /** Time from "Created" until the process runs; default 100. */
  startMs?: number;
  /** Time after start until the container answers its readiness check; default 0. */
  readyAfterMs?: number;
  /** The container runs but never becomes ready. */
  neverReady?: boolean;
  /** The process exits this long after it starts (crash, or completion for exitCode 0). */
  crashAfterMs?: number;
  /** Exit code when it exits; default 1 for a crash. */
  exitCode?: number;
  /** Lines the process writes to stdout on start. */
  logLines?: string[];
  /** Environment variables the program needs: it exits 1 at start when one is missing or empty. */
  requiredEnv?: string[];
  /** The environment variable whose value names the SimDatabase it uses; default "DATABASE_URL". */
  databaseEnv?: string;
  /** On start, migrates the database's schema to this version if it is lower. */
  migratesTo?: number;
  /** Exits 1 at start when the database's schema version is newer than this. */
  supportsUpTo?: number;
}

/**
 * One image of a ContainerImage: an entry with a digest is that image; one with only a tag is a
 * push, which the simulator builds (it fills in the digest and moves the tag).
 */
export interface ContainerImageEntry extends ImageBehaviour {
  digest?: string;
  tag?: string;
}

/** ContainerImage.spec: a repository, its tags (tag -> digest), its images and deleted digests. */
export interface ContainerImageSpec {
  /** The repository, e.g. "registry.example.com/shop/web"; default: the object's name. */
  repository?: string;
  /** Pulls need credentials (an image pull secret for the registry's host). */
  private?: boolean;
  tags?: Record<string, string>;
  images?: ContainerImageEntry[];
  /** Digests deleted, as a retention policy would: pulls of them fail with "not found". */
  deletedDigests?: string[];
}

/** SimDatabase.spec: the schema version the database is at. */
export interface SimDatabaseSpec {
  schemaVersion?: number;
}

/** FaultRule.spec: which requests fail or slow down, and how. */
export interface FaultRule {
  /** get, list, watch, create, update, patch, delete, deletecollection; undefined = any. */
  verb?: string;
  /** Resource, optionally qualified by group ("deployments.apps"); undefined = any. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** Matches when the User-Agent contains this. */
  userAgent?: string;
  /** Status code to answer with: 409, 429, 500 or 503. */
  code?: number;
  /** Chance (0..1) the rule fires on a match; default 1. */
  probability?: number;
  /** Fire at most this many times. */
  count?: number;
  /** Added latency in real milliseconds. */
  latencyMs?: number;
  /** End matching watches after this many events. */
  dropWatchAfterEvents?: number;
  /** Answer the next matching watch resume (resourceVersion set) with 410 Expired. */
  expireNextWatch?: boolean;
}

/** An object of the group as it travels on the wire. */
export interface SimObject<Spec> {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string };
  spec: Spec;
}

export type ContainerImage = SimObject<ContainerImageSpec>;
export type SimDatabase = SimObject<SimDatabaseSpec>;

/**
 * The ContainerImage object name for a repository, a DNS subdomain:
 * "registry.example.com/shop/web" -> "registry.example.com.shop.web".
 */
export function containerImageName(repository: string): string {
  return repository.replace(/[/:_]/g, ".").replace(/\.+/g, ".");
}

/**
 * The connection URL a simulated program reads its SimDatabase's name from (the URL's path):
 * `postgres://<host>:5432/<name>`, the shape a real PostgreSQL client takes.
 */
export function simDatabaseUrl(name: string, host: string): string {
  return `postgres://${host}:5432/${name}`;
}
