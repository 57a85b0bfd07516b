/**
 * The layers built on this machine: the ustar writer as GNU tar reads it, deterministic digests,
 * and the busybox and psql layers run from their extraction in a chroot (as a container would).
 */
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import {
  BUSYBOX,
  busyboxEntries,
  busyboxLayer,
  findPsql,
  layerFrom,
  PAUSE_CMD,
  psqlLayer,
  psqlPath,
  tar,
  type TarEntry,
} from "../../e2e/backends/oci-image.ts";
import { exec, extractLayers, skipReason, start } from "./servers.ts";

const TAR = "/usr/bin/tar";
const CHROOT = "/usr/sbin/chroot";
const hex = (bytes: Uint8Array): string =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** `tar -tzvf` (or -tvf) of bytes written to a temporary file. */
async function listing(bytes: Uint8Array, gzipped: boolean): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "rbd-tar-"));
  try {
    const file = join(dir, gzipped ? "layer.tar.gz" : "layer.tar");
    await writeFile(file, bytes);
    const { stdout } = await exec(TAR, [gzipped ? "-tzvf" : "-tvf", file], {
      maxBuffer: 1 << 24,
    });
    return stdout.split("\n").filter(line => line !== "");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const tarSkip = skipReason([TAR]);
describe.skipIf(tarSkip !== "")(
  `the ustar writer${tarSkip ? ` (skipped: ${tarSkip})` : ""}`,
  () => {
    const entries: TarEntry[] = [
      { type: "directory", path: "/opt", mode: 0o755 },
      {
        type: "file",
        path: "/opt/hello.sh",
        mode: 0o750,
        content: new TextEncoder().encode("hi\n"),
      },
      { type: "symlink", path: "/opt/hi", target: "hello.sh" },
      { type: "directory", path: "tmp", mode: 0o1777 },
      {
        type: "file",
        path: `deep/${"d".repeat(90)}/${"f".repeat(60)}.txt`,
        mode: 0o644,
        content: new Uint8Array(513).fill(65),
      },
    ];

    it("writes entries GNU tar lists with their modes, owners, fixed mtime, links and long names", async () => {
      const archive = tar(entries);
      expect(archive.length % 512).toBe(0);
      const lines = await listing(archive, false);
      expect(lines).toHaveLength(5);
      expect(lines[0]).toMatch(/^drwxr-xr-x root\/root +0 2000-01-01 00:00 opt\/$/);
      expect(lines[1]).toMatch(/^-rwxr-x--- root\/root +3 2000-01-01 00:00 opt\/hello\.sh$/);
      expect(lines[2]).toMatch(/^lrwxrwxrwx root\/root +0 2000-01-01 00:00 opt\/hi -> hello\.sh$/);
      expect(lines[3]).toMatch(/^drwxrwxrwt root\/root +0 2000-01-01 00:00 tmp\/$/);
      expect(lines[4]).toContain(
        `513 2000-01-01 00:00 deep/${"d".repeat(90)}/${"f".repeat(60)}.txt`,
      );
    });

    it("adds missing parents before their children, once, and digests the gzip and the tar", async () => {
      const layer = await layerFrom(entries);
      const lines = await listing(layer.bytes, true);
      expect(lines.map(l => /\d\d:\d\d (.+?)(?: -> .*)?$/.exec(l)?.[1])).toEqual([
        "deep/",
        `deep/${"d".repeat(90)}/`,
        `deep/${"d".repeat(90)}/${"f".repeat(60)}.txt`,
        "opt/",
        "opt/hello.sh",
        "opt/hi",
        "tmp/",
      ]);
      expect(layer.digest).toBe(hex(layer.bytes));
      expect(layer.size).toBe(layer.bytes.length);
      expect(layer.diffId).toBe(hex(gunzipSync(layer.bytes)));
      expect(layer.diffId).not.toBe(layer.digest);
    });

    it("gives the same bytes for the same entries, and other bytes for other entries", async () => {
      const a = await layerFrom(entries);
      const b = await layerFrom([...entries].reverse());
      expect(b.digest).toBe(a.digest);
      expect(b.diffId).toBe(a.diffId);
      const c = await layerFrom([...entries, { type: "directory", path: "srv", mode: 0o755 }]);
      expect(c.digest).not.toBe(a.digest);
    });

    it("refuses paths a layer must not hold", () => {
      expect(() => tar([{ type: "directory", path: "a/../b", mode: 0o755 }])).toThrow(/bad path/);
      expect(() => tar([{ type: "symlink", path: "x", target: "t".repeat(101) }])).toThrow(/long/);
    });
  },
);

const busyboxSkip = skipReason([TAR, BUSYBOX]);
describe.skipIf(busyboxSkip !== "")(
  `the busybox layer${busyboxSkip ? ` (skipped: ${busyboxSkip})` : ""}`,
  () => {
    it("holds /bin/busybox, a symlink to it per applet (/bin/sh among them), /tmp 1777 and /etc", async () => {
      const layer = await busyboxLayer();
      const lines = await listing(layer.bytes, true);
      const { stdout } = await exec(BUSYBOX, ["--list"]);
      const applets = stdout.split("\n").filter(a => a !== "" && a !== "busybox");
      expect(lines).toContainEqual(
        expect.stringMatching(/^lrwxrwxrwx root\/root .* bin\/sh -> busybox$/),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/^-rwxr-xr-x root\/root .* bin\/busybox$/),
      );
      expect(lines).toContainEqual(expect.stringMatching(/^drwxrwxrwt root\/root .* tmp\/$/));
      expect(lines).toContainEqual(expect.stringMatching(/^-rw-r--r-- root\/root .* etc\/passwd$/));
      expect(lines).toContainEqual(expect.stringMatching(/^-rw-r--r-- root\/root .* etc\/group$/));
      const links = lines.filter(l => l.endsWith(" -> busybox"));
      expect(links).toHaveLength(applets.length);
      const passwd = (await busyboxEntries()).find(e => e.path === "etc/passwd");
      expect(passwd?.type === "file" ? new TextDecoder().decode(passwd.content) : "").toMatch(
        /^root:x:0:0:.*\nnobody:x:65534:65534:/,
      );
    });

    it("is built once per process and is the same on every build", async () => {
      expect(await busyboxLayer()).toBe(await busyboxLayer());
      const again = await layerFrom(await busyboxEntries());
      expect(again.digest).toBe((await busyboxLayer()).digest);
      expect(again.diffId).toBe((await busyboxLayer()).diffId);
    });
  },
);

const psql = findPsql();
const chrootSkip = skipReason(
  [TAR, CHROOT, BUSYBOX, psql ?? "/usr/lib/postgresql/*/bin/psql"],
  true,
);
describe.skipIf(chrootSkip !== "")(
  `the layers run in a chroot${chrootSkip ? ` (skipped: ${chrootSkip})` : ""}`,
  () => {
    const roots: string[] = [];
    afterAll(async () => {
      for (const root of roots) await rm(root, { recursive: true, force: true });
    });
    const rootfs = async (layers: Parameters<typeof extractLayers>[0]): Promise<string> => {
      const root = await extractLayers(layers);
      roots.push(root);
      return root;
    };

    it("busybox sh runs from the busybox layer alone, as root, with /tmp writable", async () => {
      const root = await rootfs([await busyboxLayer()]);
      expect(await readlink(join(root, "bin/sh"))).toBe("busybox");
      expect(((await lstat(join(root, "tmp"))).mode & 0o7777).toString(8)).toBe("1777");
      const { stdout } = await exec(CHROOT, [
        root,
        "/bin/sh",
        "-c",
        "echo hello from $(id -un):$(id -u); echo x > /tmp/x && cat /tmp/x; id -u nobody",
      ]);
      expect(stdout.split("\n")).toEqual(["hello from root:0", "x", "65534", ""]);
    });

    it("psql runs on the busybox layer with the psql layer on top (its libraries and loader)", async () => {
      const root = await rootfs([await busyboxLayer(), await psqlLayer()]);
      const { stdout } = await exec(CHROOT, [root, psqlPath(), "--version"]);
      const { stdout: host } = await exec(psqlPath(), ["--version"]);
      expect(stdout).toMatch(/^psql \(PostgreSQL\) \d+/);
      expect(stdout).toBe(host);
      // Without the psql layer there is no psql to run.
      const bare = await rootfs([await busyboxLayer()]);
      await expect(exec(CHROOT, [bare, psqlPath(), "--version"])).rejects.toThrow();
    });

    it("the pause command sleeps until SIGTERM, then exits 0 at once", async () => {
      const root = await rootfs([await busyboxLayer()]);
      const pause = start(CHROOT, [root, ...PAUSE_CMD], { PATH: "/bin" });
      await new Promise(resolve => setTimeout(resolve, 500));
      expect(pause.child.exitCode).toBeNull();
      const began = Date.now();
      const done = await pause.stop();
      expect(done.code).toBe(0);
      expect(Date.now() - began).toBeLessThan(2_000);
    });
  },
);
