/**
 * OciRegistry's databases on a real PostgreSQL started here, and the orders-migration scenario's
 * two releases acted out by their generated scripts, run with busybox sh and psql against it:
 * 5.1.0 migrates forward (a NOT NULL column without a default) and keeps running, then 5.0.0
 * prints its own log line and fails its write on the schema it does not know, exiting 1.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BUSYBOX,
  busyboxLayer,
  findPsql,
  psqlLayer,
  psqlPath,
} from "../../e2e/backends/oci-image.ts";
import { migrationSql, OciRegistry, scriptFor } from "../../e2e/backends/oci-registry.ts";
import { ORDERS_RELEASES } from "../../src/scenarios/catalog.ts";
import {
  exec,
  extractLayers,
  postgresBin,
  skipReason,
  start,
  startPostgres,
  type Finished,
  type RunningPostgres,
  type Started,
} from "./servers.ts";

const bin = postgresBin();
const psqlBinary = findPsql() ?? "/usr/lib/postgresql/*/bin/psql";
const CHROOT = "/usr/sbin/chroot";
const V1 = ORDERS_RELEASES["5.0.0"];
const V2 = ORDERS_RELEASES["5.1.0"];
const NOT_NULL =
  /null value in column "customer" of relation "orders" violates not-null constraint/;

describe("the behaviour scripts without a server", () => {
  it("use psql by its absolute path, migrate under a lock, and write at the build's schema", () => {
    const script = scriptFor(V2, "orders:5.1.0", "/usr/lib/postgresql/15/bin/psql");
    expect(script).toContain(
      `/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL"`,
    );
    expect(script).toContain("LOCK TABLE schema_version IN ACCESS EXCLUSIVE MODE");
    expect(script).toContain("ALTER TABLE orders ALTER COLUMN customer SET NOT NULL");
    expect(script).toContain("INSERT INTO orders (item, quantity, customer)");
    const old = scriptFor(V1, "orders:5.0.0", "/psql");
    expect(old).not.toContain("ALTER TABLE");
    expect(old).toContain("INSERT INTO orders (item, quantity) VALUES");
    // The log lines come before the write, so a failing write leaves them in the log.
    expect(old.indexOf("schema v1 ok")).toBeLessThan(old.indexOf("INSERT INTO orders"));
  });

  it("refuse what no migration exists for, naming the behaviour", () => {
    expect(() => migrationSql(3)).toThrow(/migratesTo: schema version 3/);
    expect(() => scriptFor({ supportsUpTo: 7 }, "x", "/psql")).toThrow(/supportsUpTo/);
    expect(() => scriptFor({ databaseEnv: "NOT A NAME", supportsUpTo: 1 }, "x", "/psql")).toThrow(
      /databaseEnv/,
    );
  });

  it("databases need a server: without options.database createDatabase rejects, URLs stay the simulator's", async () => {
    const oci = new OciRegistry("http://127.0.0.1:1");
    await expect(oci.createDatabase("x", 1)).rejects.toThrow(/options\.database/);
    await expect(oci.databaseVersion("x")).rejects.toThrow(/options\.database/);
    expect(oci.databaseUrl("orders", "db.shop.svc")).toBe("postgres://db.shop.svc:5432/orders");
  });
});

const skip = skipReason([
  join(bin, "initdb"),
  join(bin, "pg_ctl"),
  psqlBinary,
  BUSYBOX,
  "/usr/sbin/runuser",
]);
describe.skipIf(skip !== "")(`a real PostgreSQL${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let pg: RunningPostgres;
  let oci: OciRegistry;
  const running: Started[] = [];
  beforeAll(async () => {
    pg = await startPostgres();
    oci = new OciRegistry("http://127.0.0.1:1", {
      database: {
        hostUrl: pg.hostUrl,
        podHost: pg.podHost,
        appUser: pg.appUser,
        appPassword: pg.appPassword,
      },
    });
  }, 60_000);
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });
  afterAll(async () => {
    await pg.stop();
  });

  /** Runs a behaviour's script with busybox sh on this machine, the database URL set. */
  const runScript = (behaviour: typeof V1, url: string | undefined): Started => {
    const script = scriptFor(behaviour, "test", psqlPath());
    const env = { PATH: "/bin:/usr/bin", ...(url === undefined ? {} : { DATABASE_URL: url }) };
    const started = start(BUSYBOX, ["sh", "-c", script], env);
    running.push(started);
    return started;
  };
  const url = (name: string) => oci.databaseUrl(name, "db.shop.svc");
  /** Waits until `count` orders match `where` (a release's write lands just after its log line). */
  const rows = async (db: string, where: string, count: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while ((await pg.query(db, `SELECT count(*) FROM orders WHERE ${where}`)) !== count) {
      if (Date.now() > deadline) throw new Error(`${db}: never ${count} orders where ${where}`);
      await new Promise(resolve => setTimeout(resolve, 25));
    }
  };

  it("createDatabase makes a database the app role owns, at the version; databaseVersion reads it", async () => {
    await oci.createDatabase("orders-a1", 1);
    expect(await oci.databaseVersion("orders-a1")).toBe(1);
    expect(await oci.databaseVersion("orders-none")).toBeUndefined();
    expect(
      await pg.query(
        "postgres",
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'orders-a1'",
      ),
    ).toBe("app");
    expect(
      await pg.query("orders-a1", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"),
    ).toBe("app");
    await pg.query("orders-a1", "INSERT INTO orders (item, quantity) VALUES ('extra', 3)");
    // Again: recreated, at the new version, without what was there.
    await oci.createDatabase("orders-a1", 2);
    expect(await oci.databaseVersion("orders-a1")).toBe(2);
    expect(await pg.query("orders-a1", "SELECT count(*) FROM orders WHERE item = 'extra'")).toBe(
      "0",
    );
    expect(
      await pg.query("orders-a1", "SELECT count(*) FROM orders WHERE customer = 'unknown'"),
    ).toBe("2");
    await expect(oci.createDatabase("orders-a1", 3)).rejects.toThrow(/schema version 3/);
  });

  it("the app role connects by the URL databaseUrl gives, with its password", async () => {
    await oci.createDatabase("orders-url", 1);
    expect(url("orders-url")).toBe(`postgres://app:app-password@${pg.podHost}/orders-url`);
    const { stdout } = await exec(psqlPath(), [
      "-X",
      "-A",
      "-t",
      "-d",
      url("orders-url"),
      "-c",
      "SELECT current_user",
    ]);
    expect(stdout.trim()).toBe("app");
    const wrong = url("orders-url").replace("app-password", "wrong");
    await expect(exec(psqlPath(), ["-X", "-d", wrong, "-c", "SELECT 1"])).rejects.toThrow(
      /password authentication failed for user "app"/,
    );
  });

  it("orders 5.0.0 runs on schema v1: its log line, its write, and it keeps running", async () => {
    await oci.createDatabase("orders-b1", 1);
    const v1 = runScript(V1, url("orders-b1"));
    await v1.waitFor(["orders 5.0.0: schema v1 ok"]);
    await new Promise(resolve => setTimeout(resolve, 700));
    expect(v1.child.exitCode).toBeNull();
    await rows("orders-b1", "item = 'drill'", "1");
    const done: Finished = await v1.stop();
    expect(done.code).toBe(0);
  });

  it("5.1.0 migrates to v2 and keeps running; then 5.0.0 prints its line and exits 1 on NOT NULL", async () => {
    await oci.createDatabase("orders-c1", 1);
    // Production ran 5.0.0 first: its row is there when the migration backfills.
    const before = runScript(V1, url("orders-c1"));
    await before.waitFor(["orders 5.0.0: schema v1 ok"]);
    await rows("orders-c1", "item = 'drill'", "1");
    expect(before.child.exitCode).toBeNull();
    await before.stop();

    const v2 = runScript(V2, url("orders-c1"));
    await v2.waitFor(["orders 5.1.0: migrated schema to v2"]);
    await rows("orders-c1", "customer = 'drill'", "1");
    await new Promise(resolve => setTimeout(resolve, 700));
    expect(v2.child.exitCode).toBeNull();
    expect(v2.output()).toContain("NOTICE:  migrated schema from version 1 to 2");
    expect(v2.output()).not.toMatch(/ERROR/);
    expect(await oci.databaseVersion("orders-c1")).toBe(2);
    expect(
      await pg.query("orders-c1", "SELECT count(*) FROM orders WHERE customer = 'unknown'"),
    ).toBe("3");
    expect((await v2.stop()).code).toBe(0);

    const v1 = runScript(V1, url("orders-c1"));
    const done = await v1.finished;
    expect(done.code).toBe(1);
    expect(done.output).toContain("orders 5.0.0: schema v1 ok");
    expect(done.output).toMatch(NOT_NULL);
    expect(done.output.indexOf("schema v1 ok")).toBeLessThan(done.output.indexOf("ERROR"));
    expect(await oci.databaseVersion("orders-c1")).toBe(2);
  });

  it("replicas of 5.1.0 starting together migrate once; a restart does not migrate again", async () => {
    await oci.createDatabase("orders-d1", 1);
    const replicas = [runScript(V2, url("orders-d1")), runScript(V2, url("orders-d1"))];
    for (const r of replicas) await r.waitFor(["orders 5.1.0: migrated schema to v2"]);
    const outputs = replicas.map(r => r.output());
    expect(outputs.filter(o => o.includes("NOTICE:  migrated schema")).length).toBe(1);
    for (const o of outputs) expect(o).not.toMatch(/ERROR/);
    for (const r of replicas) expect((await r.stop()).code).toBe(0);
    const restart = runScript(V2, url("orders-d1"));
    await restart.waitFor(["orders 5.1.0: migrated schema to v2"]);
    expect(restart.output()).not.toContain("NOTICE");
    await restart.stop();
    expect(await pg.query("orders-d1", "SELECT count(*) FROM schema_version")).toBe("1");
    expect(await oci.databaseVersion("orders-d1")).toBe(2);
  });

  it("without the database URL, or with a database that does not exist, a release exits 1 saying why", async () => {
    const unset = await runScript(V1, undefined).finished;
    expect(unset.code).toBe(1);
    expect(unset.output).toContain("FATAL: required environment variable DATABASE_URL is not set");
    const absent = await runScript(V2, url("orders-missing")).finished;
    expect(absent.code).toBe(1);
    expect(absent.output).toMatch(/database "orders-missing" does not exist/);
  });

  const chrootSkip = skipReason([CHROOT], true);
  describe.skipIf(chrootSkip !== "")(
    `inside the image's root filesystem${chrootSkip ? ` (skipped: ${chrootSkip})` : ""}`,
    () => {
      let root: string;
      beforeAll(async () => {
        root = await extractLayers([await busyboxLayer(), await psqlLayer()]);
      }, 60_000);
      afterAll(async () => {
        await rm(root, { recursive: true, force: true });
      });

      it("the scripts run in a chroot of busybox + psql: 5.1.0 migrates, 5.0.0 fails on NOT NULL", async () => {
        await oci.createDatabase("orders-e1", 1);
        const inImage = (behaviour: typeof V1): Started => {
          const script = scriptFor(behaviour, "chroot", psqlPath());
          const started = start(CHROOT, [root, "/bin/sh", "-c", script], {
            PATH: "/bin:/usr/bin",
            DATABASE_URL: url("orders-e1"),
          });
          running.push(started);
          return started;
        };
        const v2 = inImage(V2);
        await v2.waitFor(["orders 5.1.0: migrated schema to v2"]);
        expect(v2.output()).toContain("NOTICE:  migrated schema from version 1 to 2");
        expect((await v2.stop()).code).toBe(0);
        const v1 = await inImage(V1).finished;
        expect(v1.code).toBe(1);
        expect(v1.output).toContain("orders 5.0.0: schema v1 ok");
        expect(v1.output).toMatch(NOT_NULL);
      });
    },
  );
});
