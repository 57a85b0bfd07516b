/**
 * Real servers for the e2e backends' tests, each on a free port of 127.0.0.1 and in a temporary
 * directory: a Docker Distribution registry (docker-registry) and a PostgreSQL cluster (initdb,
 * pg_ctl, run as the postgres user), plus what the tests need to run things: free ports, which
 * binaries are missing, the layers extracted into a root filesystem.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Layer } from "../../e2e/backends/oci-image.ts";

export const exec = promisify(execFile);

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

/** A port nobody listens on now (the kernel's choice for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

/** The paths among `paths` that do not exist, for a skip reason. */
export const missing = (...paths: string[]): string[] => paths.filter(p => !existsSync(p));

/** Why a group must be skipped ("" when it can run): the missing binaries, or not being root. */
export function skipReason(paths: string[], root = false): string {
  const absent = missing(...paths);
  const reasons = absent.length === 0 ? [] : [`missing ${absent.join(", ")}`];
  if (root && process.getuid?.() !== 0) reasons.push("needs root (chroot)");
  return reasons.join("; ");
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

export interface RunningRegistry {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** host:port */
  readonly address: string;
  readonly config: string;
  /** `docker-registry garbage-collect <config>`. */
  garbageCollect(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts docker-registry with filesystem storage in a temporary directory and deletes enabled. */
export async function startRegistry(): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "rbd-registry-"));
  const port = await freePort();
  const address = `127.0.0.1:${String(port)}`;
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${address}`,
      "",
    ].join("\n"),
  );
  const child = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>(resolve => {
    child.once("exit", () => {
      resolve();
    });
  });
  const url = `http://${address}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until("the registry", async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${output}`);
      return (await fetch(`${url}/v2/`)).status === 200;
    });
  } catch (error) {
    await stop();
    throw new Error(`docker-registry did not start: ${output}`, { cause: error });
  }
  return {
    url,
    address,
    config,
    async garbageCollect() {
      await exec(REGISTRY_BINARY, ["garbage-collect", config]);
    },
    stop,
  };
}

/** The newest /usr/lib/postgresql/<major>/bin, where initdb, pg_ctl and postgres are. */
export function postgresBin(): string {
  for (const major of ["17", "16", "15", "14", "13"]) {
    const bin = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(join(bin, "postgres"))) return bin;
  }
  return "/usr/lib/postgresql/15/bin";
}

export interface RunningPostgres {
  readonly port: number;
  /** The superuser's URL (trusted on 127.0.0.1). */
  readonly hostUrl: string;
  readonly podHost: string;
  readonly appUser: string;
  readonly appPassword: string;
  /** Runs SQL as the superuser on a database; returns psql's unaligned, tuples-only output. */
  query(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

const asPostgres = (command: string, args: string[]) =>
  exec("runuser", ["-u", "postgres", "--", command, ...args], { timeout: 60_000 });

/**
 * initdb into a temporary directory owned by postgres, listening on 127.0.0.1:<free port> only:
 * the superuser trusted there, the app role by scram-sha-256.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = postgresBin();
  const dir = await mkdtemp(join(tmpdir(), "rbd-postgres-"));
  const { stdout: uid } = await exec("id", ["-u", "postgres"]);
  const { stdout: gid } = await exec("id", ["-g", "postgres"]);
  await chown(dir, Number(uid.trim()), Number(gid.trim()));
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  await asPostgres(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
  ]);
  await asPostgres("mkdir", [sockets]);
  await writeFile(
    join(data, "pg_hba.conf"),
    [
      "# TYPE DATABASE USER ADDRESS METHOD",
      "local all postgres trust",
      "host all postgres 127.0.0.1/32 trust",
      "host all app 127.0.0.1/32 scram-sha-256",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  // A throwaway cluster: no fsync, so a machine busy with other disk work does not stall it.
  const durability = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  const options = `-c listen_addresses=127.0.0.1 -p ${String(port)} -k ${sockets} ${durability}`;
  const pgCtl = join(bin, "pg_ctl");
  const log = join(dir, "postgres.log");
  const stop = async (): Promise<void> => {
    await asPostgres(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await asPostgres(pgCtl, ["-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"]);
  } catch (error) {
    const text = await readFile(log, "utf8").catch(() => "");
    await stop();
    throw new Error(`postgres did not start: ${text}`, { cause: error });
  }
  const hostUrl = `postgres://postgres@127.0.0.1:${String(port)}`;
  return {
    port,
    hostUrl,
    podHost: `127.0.0.1:${String(port)}`,
    appUser: "app",
    appPassword: "app-password",
    async query(database, sql) {
      const { stdout } = await exec(
        join(bin, "psql"),
        [
          "-X",
          "-q",
          "-A",
          "-t",
          "-v",
          "ON_ERROR_STOP=1",
          "-d",
          `${hostUrl}/${encodeURIComponent(database)}`,
          "-c",
          sql,
        ],
        { timeout: 20_000 },
      );
      return stdout.trim();
    },
    stop,
  };
}

/** Extracts layers (bottom first) with this machine's tar into a new directory; returns it. */
export async function extractLayers(layers: readonly Layer[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "rbd-rootfs-"));
  for (const [i, layer] of layers.entries()) {
    const file = join(root, `.layer-${String(i)}.tar.gz`);
    await writeFile(file, layer.bytes);
    await exec("tar", ["-xzf", file, "-C", root]);
    await rm(file);
  }
  await mkdir(join(root, "dev"), { recursive: true });
  return root;
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

export interface Started {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves when the process exits. */
  readonly finished: Promise<Finished>;
  /** Resolves when every text is in the output (rejects if the process exits first). */
  waitFor(texts: readonly string[], timeoutMs?: number): Promise<void>;
  /** SIGTERM to the process's group (it leads its own), then waits for the exit. */
  stop(): Promise<Finished>;
}

/** Kills what is left of a process group (by its leader's pid); nothing when it is empty. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Spawns a command in its own process group, collecting its output. When the leader exits, what
 * it left behind in its group (a background `sleep`) is killed, as a container's PID namespace
 * would be; `finished` resolves with the leader's exit once its output is complete.
 */
export function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot spawn ${command}`);
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  let done = false;
  const exited = new Promise<Omit<Finished, "output">>(resolve => {
    child.once("exit", (code, signal) => {
      done = true;
      killGroup(pid, "SIGKILL");
      resolve({ code, signal });
    });
  });
  const closed = new Promise<void>(resolve => {
    child.once("close", () => {
      resolve();
    });
  });
  const finished = Promise.all([exited, closed]).then(([exit]) => ({ ...exit, output: text }));
  return {
    child,
    output: () => text,
    finished,
    async waitFor(texts, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!texts.every(t => text.includes(t))) {
        if (done) throw new Error(`exited before printing ${texts.join(", ")}: ${text}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${texts.join(", ")}`);
        await new Promise(resolve => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (done) return finished;
      killGroup(pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">(resolve => {
        timer = setTimeout(() => {
          resolve("late");
        }, 10_000);
      });
      const first = await Promise.race([finished, late]);
      clearTimeout(timer);
      if (first !== "late") return first;
      killGroup(pid, "SIGKILL");
      await finished;
      throw new Error(`did not stop within 10 s of SIGTERM; output: ${text}`);
    },
  };
}
