/**
 * A real registry (Docker Distribution's HTTP API v2) and a real PostgreSQL standing in for the
 * simulator's, for the real-cluster backends. Each pushed "build" is a busybox root filesystem
 * built on this machine (oci-image.ts, no network), plus psql when the behaviour uses a database,
 * with an image config whose command acts out the behaviour (log lines, start time, a crash with
 * an exit code, required environment, a forward-only migration, a write at the schema the build
 * knows), so pushing the same tag again moves it to a new digest, and deleting a digest (then
 * collecting the registry's garbage) makes pulls of it fail as a retention policy would.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { V1Probe } from "@kubernetes/client-node";
import type { ImageBehaviour, RegistryOps } from "../../src/scenarios/cluster.ts";
import {
  architecture,
  authHeaders,
  busyboxLayer,
  findPsql,
  OCI_MANIFEST,
  PAUSE_CMD,
  psqlLayer,
  psqlPath,
  pushImage,
  type Layer,
  type RegistryCredentials,
} from "./oci-image.ts";

const run = promisify(execFile);

const BASE_REPOSITORY = "base/busybox";
const PSQL_REPOSITORY = "base/psql";
const BASE_TAG = "latest";

/** The PostgreSQL the databases live on; the shape of POSTGRES in e2e/cluster/topology.ts. */
export interface DatabaseServer {
  /** How this machine connects as the superuser, e.g. postgres://postgres@127.0.0.1:55432 */
  readonly hostUrl: string;
  /** host:port a pod connects to, e.g. 10.241.0.2:5432 */
  readonly podHost: string;
  /** The role that owns the databases and that pods connect as (with a password). */
  readonly appUser: string;
  readonly appPassword: string;
}

export interface OciRegistryOptions {
  /** For a private registry (htpasswd): sent with every request. */
  readonly credentials?: RegistryCredentials;
  /** Runs the registry's garbage collection; called after each deleteImage. */
  readonly garbageCollect?: () => Promise<void>;
  /** Where createDatabase and databaseVersion act; without it they reject. */
  readonly database?: DatabaseServer;
}

export interface BaseImage {
  readonly layer: Layer;
  /** The digest of base/busybox:latest (it keeps the layer referenced through a collection). */
  readonly digest: string;
  readonly architecture: string;
}

// ---- the orders schema, by version ----

/**
 * What takes the orders table from version n-1 to n (index n-1). Version 2 is the forward-only
 * kind: a NOT NULL column without a default, rows backfilled first so it applies.
 */
export const ORDERS_MIGRATIONS: readonly string[] = [
  "CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL, quantity integer NOT NULL)",
  [
    "ALTER TABLE orders ADD COLUMN customer text",
    "UPDATE orders SET customer = 'unknown' WHERE customer IS NULL",
    "ALTER TABLE orders ALTER COLUMN customer SET NOT NULL",
  ].join("; "),
];

/** A build's normal write at the schema version it was built for (index n-1). */
export const ORDERS_WRITES: readonly string[] = [
  "INSERT INTO orders (item, quantity) VALUES ('drill', 1)",
  "INSERT INTO orders (item, quantity, customer) VALUES ('drill', 1, 'drill')",
];

const SEED_ORDERS = "INSERT INTO orders (item, quantity) VALUES ('widget', 2), ('gadget', 1)";

function checkVersion(version: number, what: string): void {
  if (!Number.isInteger(version) || version < 1 || version > ORDERS_MIGRATIONS.length)
    throw new Error(
      `${what}: schema version ${String(version)} is not one of 1..${String(ORDERS_MIGRATIONS.length)}`,
    );
}

/** "x" -> "x" as an SQL identifier (double quotes, doubled inside). */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** 'x' as an SQL string literal (standard_conforming_strings, PostgreSQL's default). */
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * The migration a build runs on start: under a lock on schema_version (replicas starting together
 * migrate once), each step from the database's version up to `to`, bumping schema_version and
 * raising a NOTICE that psql prints.
 */
export function migrationSql(to: number): string {
  checkVersion(to, "migratesTo");
  const steps = ["LOCK TABLE schema_version IN ACCESS EXCLUSIVE MODE"];
  for (let version = 2; version <= to; version++)
    steps.push(
      [
        "DO $migrate$ DECLARE v integer; BEGIN",
        "SELECT max(version) INTO v FROM schema_version;",
        `IF v < ${String(version)} THEN`,
        `${ORDERS_MIGRATIONS[version - 1] ?? ""};`,
        `UPDATE schema_version SET version = ${String(version)};`,
        `RAISE NOTICE 'migrated schema from version % to ${String(version)}', v;`,
        "END IF; END $migrate$",
      ].join(" "),
    );
  return `${steps.join("; ")};`;
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const seconds = (ms: number): string => String(ms / 1000);

/** Whether a behaviour talks to a database (and so its image needs psql). */
export const usesDatabase = (b: ImageBehaviour): boolean =>
  b.databaseEnv !== undefined || b.migratesTo !== undefined || b.supportsUpTo !== undefined;

/** The steps of a behaviour's database work: the migration, the log lines, the normal write. */
function databaseSteps(b: ImageBehaviour, psql: string): string[] {
  const env = b.databaseEnv ?? "DATABASE_URL";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) throw new Error(`databaseEnv: bad name ${env}`);
  const logs = (b.logLines ?? []).map(line => `echo ${shellQuote(line)}`);
  if (b.migratesTo === undefined && b.supportsUpTo === undefined) return logs;
  const client = `${psql} -X -q -v ON_ERROR_STOP=1 -d "$${env}" -c`;
  const steps = [
    `[ -n "$${env}" ] || { echo "FATAL: required environment variable ${env} is not set"; exit 1; }`,
  ];
  if (b.migratesTo !== undefined)
    steps.push(`${client} ${shellQuote(migrationSql(b.migratesTo))} 2>&1 || exit 1`);
  const writeAt = b.migratesTo ?? b.supportsUpTo ?? 1;
  checkVersion(writeAt, "supportsUpTo");
  steps.push(...logs, `${client} ${shellQuote(ORDERS_WRITES[writeAt - 1] ?? "")} 2>&1 || exit 1`);
  return steps;
}

/**
 * The shell program that acts out a behaviour (busybox sh); throws, naming the behaviour, for what
 * a plain container cannot do. `psql` is where psql is in the image (psqlPath() by default).
 */
/**
 * Where an image's program says it is ready; a pod that wants readiness to mean something probes
 * it (READINESS_PROBE). Overridable ($READY_FILE) so the script can run outside a container.
 */
export const READY_FILE = "/tmp/ready";

/** The readiness probe that reads READY_FILE: with it, readyAfterMs and neverReady are real. */
export const READINESS_PROBE = {
  exec: { command: ["sh", "-c", `test -e "\${READY_FILE:-${READY_FILE}}"`] },
  periodSeconds: 1,
  failureThreshold: 1,
} as const;

function readinessSteps(behaviour: ImageBehaviour): string[] {
  if (behaviour.neverReady === true) return ["# never ready: the ready file is never written"];
  const touch = `touch "\${READY_FILE:-${READY_FILE}}"`;
  const after = behaviour.readyAfterMs ?? 0;
  return after > 0 ? [`(sleep ${seconds(after)}; ${touch}) &`] : [touch];
}

export function scriptFor(behaviour: ImageBehaviour, label: string, psql?: string): string {
  const steps = [`# ${label.replace(/\s+/g, " ")}`, "trap 'exit 0' TERM INT"];
  for (const name of behaviour.requiredEnv ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`requiredEnv: bad name ${name}`);
    steps.push(
      `[ -n "$${name}" ] || { echo "FATAL: required environment variable ${name} is not set"; exit 1; }`,
    );
  }
  if ((behaviour.startMs ?? 0) > 0) steps.push(`sleep ${seconds(behaviour.startMs ?? 0)}`);
  if (usesDatabase(behaviour)) steps.push(...databaseSteps(behaviour, psql ?? psqlPath()));
  else for (const line of behaviour.logLines ?? []) steps.push(`echo ${shellQuote(line)}`);
  steps.push(...readinessSteps(behaviour));
  if (behaviour.crashAfterMs !== undefined)
    steps.push(
      `sleep ${seconds(behaviour.crashAfterMs)}`,
      `exit ${String(behaviour.exitCode ?? 1)}`,
    );
  steps.push("while :; do sleep 86400 & wait $!; done");
  return steps.join("\n");
}

/**
 * Pushes share the registry; a garbage collection has it alone, and one at a time: the
 * registry's collector (run offline, as its documentation asks) deletes the blobs a push in
 * flight has uploaded but no manifest references yet, and two collectors at once trip over each
 * other's deletions ("failed to delete blob ... Path not found"), as two retention scenarios
 * set up side by side did.
 */
class PushGate {
  private pushing = 0;
  private collecting: Promise<void> = Promise.resolve();
  private idle: (() => void)[] = [];

  async shared<T>(push: () => Promise<T>): Promise<T> {
    for (;;) {
      const pending = this.collecting;
      await pending;
      if (pending === this.collecting) break;
    }
    this.pushing += 1;
    try {
      return await push();
    } finally {
      this.pushing -= 1;
      if (this.pushing === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async exclusive(collect: () => Promise<void>): Promise<void> {
    const before = this.collecting;
    let done = (): void => undefined;
    this.collecting = new Promise<void>(resolve => {
      done = resolve;
    });
    try {
      await before;
      while (this.pushing > 0) await new Promise<void>(resolve => this.idle.push(resolve));
      await collect();
    } finally {
      done();
    }
  }
}

export class OciRegistry implements RegistryOps {
  /** e.g. http://127.0.0.1:5000 */
  private readonly url: string;
  private readonly options: OciRegistryOptions;
  private base: Promise<BaseImage> | undefined;
  private psqlBase: Promise<Layer> | undefined;
  private pushes = 0;
  private readonly gate = new PushGate();

  constructor(url: string, options: OciRegistryOptions = {}) {
    this.url = url.replace(/\/$/, "");
    this.options = options;
  }

  /** "registry.example.com/shop/web" -> "shop/web": the path below whichever host names it. */
  private static path(repository: string): string {
    return repository.split("/").slice(1).join("/");
  }

  /** Pushes the busybox layer built here as base/busybox:latest, once. */
  ensureBase(): Promise<BaseImage> {
    this.base ??= (async () => {
      const layer = await busyboxLayer();
      const digest = await pushImage(this.url, BASE_REPOSITORY, BASE_TAG, {
        layers: [layer],
        cmd: PAUSE_CMD,
        ...this.auth(),
      });
      return { layer, digest, architecture: architecture() };
    })();
    this.base.catch(() => {
      this.base = undefined;
    });
    return this.base;
  }

  /** Pushes busybox with psql as base/psql:latest, once. */
  private ensurePsql(): Promise<Layer> {
    this.psqlBase ??= (async () => {
      const { layer: busybox } = await this.ensureBase();
      const psql = await psqlLayer();
      await pushImage(this.url, PSQL_REPOSITORY, BASE_TAG, {
        layers: [busybox, psql],
        cmd: PAUSE_CMD,
        mountFrom: BASE_REPOSITORY,
        ...this.auth(),
      });
      return psql;
    })();
    this.psqlBase.catch(() => {
      this.psqlBase = undefined;
    });
    return this.psqlBase;
  }

  pushImage(repository: string, tag: string, behaviour: ImageBehaviour): Promise<string> {
    return this.gate.shared(() => this.push(repository, tag, behaviour));
  }

  private async push(repository: string, tag: string, behaviour: ImageBehaviour): Promise<string> {
    this.pushes += 1;
    const script = scriptFor(
      behaviour,
      `${repository}:${tag} build ${String(this.pushes)} ${String(Date.now())}`,
    );
    const base = await this.ensureBase();
    const database = usesDatabase(behaviour);
    const layers = database ? [base.layer, await this.ensurePsql()] : [base.layer];
    return pushImage(this.url, OciRegistry.path(repository), tag, {
      layers,
      cmd: ["/bin/sh", "-c", script],
      env: ["PATH=/bin:/usr/bin"],
      mountFrom: database ? PSQL_REPOSITORY : BASE_REPOSITORY,
      ...this.auth(),
    });
  }

  private auth(): { credentials?: RegistryCredentials } {
    return this.options.credentials === undefined ? {} : { credentials: this.options.credentials };
  }

  /** Deletes the manifest (its tags go with it), then collects the registry's garbage if it can. */
  async deleteImage(repository: string, digest: string): Promise<void> {
    const res = await fetch(`${this.url}/v2/${OciRegistry.path(repository)}/manifests/${digest}`, {
      method: "DELETE",
      headers: authHeaders(this.options.credentials),
    });
    await res.body?.cancel();
    if (res.status !== 202)
      throw new Error(
        `registry: deleting ${repository}@${digest} answered ${String(res.status)} (is storage.delete.enabled set?)`,
      );
    const collect = this.options.garbageCollect;
    if (collect !== undefined) await this.gate.exclusive(collect);
  }

  async imageDigest(repository: string, tag: string): Promise<string | undefined> {
    const res = await fetch(`${this.url}/v2/${OciRegistry.path(repository)}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST, ...authHeaders(this.options.credentials) },
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new Error(`registry: HEAD ${repository}:${tag} answered ${String(res.status)}`);
    return res.headers.get("docker-content-digest") ?? undefined;
  }

  // ---- databases ----

  /** How a pod reaches database `name`: as the app role, on the server's pod address. */
  /** Scenarios probe the ready file the image's program writes. */
  readinessProbe(): V1Probe {
    return {
      ...READINESS_PROBE,
      exec: { command: [...READINESS_PROBE.exec.command] },
    };
  }

  databaseUrl(name: string, host: string): string {
    const db = this.options.database;
    if (db === undefined) return `postgres://${host}:5432/${name}`;
    const user = `${encodeURIComponent(db.appUser)}:${encodeURIComponent(db.appPassword)}`;
    return `postgres://${user}@${db.podHost}/${encodeURIComponent(name)}`;
  }

  private server(): DatabaseServer {
    const db = this.options.database;
    if (db === undefined)
      throw new Error("databases need a PostgreSQL: pass OciRegistry's options.database");
    return db;
  }

  /** The superuser's URL for one database (the server's default one when undefined). */
  private adminUrl(database?: string): string {
    const url = new URL(this.server().hostUrl);
    url.pathname = database === undefined ? "" : `/${encodeURIComponent(database)}`;
    return url.toString();
  }

  /** Runs SQL commands (each its own -c, so each its own transaction) with the host's psql. */
  private async psql(database: string | undefined, ...commands: string[]): Promise<string> {
    const psql = findPsql();
    if (psql === undefined)
      throw new Error("databases need psql on this machine (/usr/lib/postgresql/*/bin/psql)");
    const args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", this.adminUrl(database)];
    for (const command of commands) args.push("-c", command);
    try {
      const { stdout } = await run(psql, args, {
        env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
        timeout: 60_000,
      });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: unknown }).stderr;
      const detail = typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : error;
      throw new Error(`psql on ${database ?? "the server"}: ${String(detail)}`, { cause: error });
    }
  }

  /** Creates (or recreates) database `name`, owned by the app role, at `schemaVersion`. */
  async createDatabase(name: string, schemaVersion: number): Promise<void> {
    checkVersion(schemaVersion, `database ${name}`);
    const db = this.server();
    const role = quoteIdent(db.appUser);
    const password = quoteLiteral(db.appPassword);
    if (password.includes("$role$")) throw new Error("the app password may not contain $role$");
    await this.psql(
      undefined,
      [
        "SELECT pg_advisory_xact_lock(7061)",
        `DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(db.appUser)}) THEN CREATE ROLE ${role} LOGIN PASSWORD ${password}; END IF; END $role$`,
      ].join("; "),
      `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`,
      `CREATE DATABASE ${quoteIdent(name)} OWNER ${role}`,
    );
    await this.psql(
      name,
      [
        `SET ROLE ${role}`,
        "CREATE TABLE schema_version (version integer NOT NULL)",
        ORDERS_MIGRATIONS[0] ?? "",
        SEED_ORDERS,
        ...ORDERS_MIGRATIONS.slice(1, schemaVersion),
        `INSERT INTO schema_version (version) VALUES (${String(schemaVersion)})`,
      ].join("; "),
    );
  }

  /** The schema version database `name` is at; undefined when there is no such database. */
  async databaseVersion(name: string): Promise<number | undefined> {
    const exists = await this.psql(
      undefined,
      `SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(name)}`,
    );
    if (exists.trim() === "") return undefined;
    const version = (await this.psql(name, "SELECT max(version) FROM schema_version")).trim();
    if (!/^\d+$/.test(version))
      throw new Error(`database ${name}: schema_version holds ${JSON.stringify(version)}`);
    return Number(version);
  }
}
