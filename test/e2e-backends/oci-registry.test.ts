/**
 * OciRegistry and oci-image.ts's push against a real docker-registry (Docker Distribution 2.x)
 * started here: a tag moved by a second push, pinned digests surviving it, real clients (skopeo,
 * umoci) reading what was pushed, and a deletion that, with the registry's garbage collection,
 * leaves neither the manifest nor its config blob.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  busyboxLayer,
  layerFrom,
  OCI_MANIFEST,
  PAUSE_CMD,
  pushImage,
  pushPauseImage,
} from "../../e2e/backends/oci-image.ts";
import { OciRegistry, scriptFor } from "../../e2e/backends/oci-registry.ts";
import {
  exec,
  REGISTRY_BINARY,
  skipReason,
  startRegistry,
  type RunningRegistry,
} from "./servers.ts";

const SKOPEO = "/usr/bin/skopeo";
const UMOCI = "/usr/bin/umoci";
const REPO = "registry.example.com/shop/web-test";

interface Manifest {
  mediaType: string;
  config: { digest: string; size: number };
  layers: { digest: string; mediaType: string }[];
}

const skip = skipReason([REGISTRY_BINARY, "/bin/busybox"]);
describe.skipIf(skip !== "")(`a real docker-registry${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.stop();
  });

  const get = (path: string, accept = OCI_MANIFEST) =>
    fetch(`${registry.url}/v2/${path}`, { headers: { Accept: accept } });
  const manifest = async (path: string, ref: string): Promise<Manifest> => {
    const res = await get(`${path}/manifests/${ref}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Manifest;
  };
  const skopeo = (...args: string[]) =>
    exec(SKOPEO, ["--insecure-policy", ...args], { maxBuffer: 1 << 24 });

  it("pushing a tag again moves it to a new digest; imageDigest follows; the old digest stays", async () => {
    const oci = new OciRegistry(registry.url);
    const first = await oci.pushImage(REPO, "1.0", { logLines: ["build one"] });
    expect(await oci.imageDigest(REPO, "1.0")).toBe(first);
    const second = await oci.pushImage(REPO, "1.0", { logLines: ["build two"] });
    expect(second).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    expect(await oci.imageDigest(REPO, "1.0")).toBe(second);
    expect(await oci.imageDigest(REPO, "no-such-tag")).toBeUndefined();
    // A digest pinned before the move still resolves.
    const old = await manifest("shop/web-test", first);
    expect(old.mediaType).toBe(OCI_MANIFEST);
    // Both builds share the base layer: busybox built here.
    const now = await manifest("shop/web-test", second);
    expect(now.layers.map(l => l.digest)).toEqual([(await busyboxLayer()).digest]);
    expect(old.layers).toEqual(now.layers);
    expect(now.config.digest).not.toBe(old.config.digest);
  });

  it("the image config runs the behaviour's script with busybox sh", async () => {
    const oci = new OciRegistry(registry.url);
    const digest = await oci.pushImage(REPO, "2.0", { logLines: ["web 2.0 up"], startMs: 200 });
    const m = await manifest("shop/web-test", digest);
    const res = await get(`shop/web-test/blobs/${m.config.digest}`, "*/*");
    const config = (await res.json()) as {
      architecture: string;
      os: string;
      config: { Cmd: string[]; Env: string[] };
      rootfs: { type: string; diff_ids: string[] };
    };
    expect(config.os).toBe("linux");
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [(await busyboxLayer()).diffId] });
    expect(config.config.Cmd.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    const script = config.config.Cmd[2] ?? "";
    expect(script).toContain("echo 'web 2.0 up'");
    expect(script.split("\n").slice(1)).toEqual(
      scriptFor({ logLines: ["web 2.0 up"], startMs: 200 }, "label")
        .split("\n")
        .slice(1),
    );
    expect(config.config.Env).toEqual(["PATH=/bin:/usr/bin"]);
  });

  it("a deletion answered 202, then garbage collection, leaves no manifest and no config blob", async () => {
    const keep = new OciRegistry(registry.url);
    const collecting = new OciRegistry(registry.url, {
      garbageCollect: () => registry.garbageCollect(),
    });
    const pinned = await keep.pushImage(REPO, "3.0", { logLines: ["3.0 kept"] });
    const doomed = await keep.pushImage(REPO, "3.1", { logLines: ["3.1 retired"] });
    const { config, layers } = await manifest("shop/web-test", doomed);

    // Without a collection the manifest goes, but its blobs stay on disk.
    const other = await keep.pushImage(REPO, "3.2", { logLines: ["3.2 retired"] });
    const otherConfig = (await manifest("shop/web-test", other)).config.digest;
    await keep.deleteImage(REPO, other);
    expect((await get(`shop/web-test/manifests/${other}`)).status).toBe(404);
    expect((await get(`shop/web-test/blobs/${otherConfig}`, "*/*")).status).toBe(200);

    await collecting.deleteImage(REPO, doomed);
    expect((await get(`shop/web-test/manifests/${doomed}`)).status).toBe(404);
    expect(await collecting.imageDigest(REPO, "3.1")).toBeUndefined();
    expect((await get(`shop/web-test/blobs/${config.digest}`, "*/*")).status).toBe(404);
    expect((await get(`shop/web-test/blobs/${otherConfig}`, "*/*")).status).toBe(404);
    // What another manifest still references survives the collection.
    expect(await collecting.imageDigest(REPO, "3.0")).toBe(pinned);
    for (const layer of layers)
      expect((await get(`shop/web-test/blobs/${layer.digest}`, "*/*")).status).toBe(200);
    // Deleting what is gone is an error, not a silent success.
    await expect(collecting.deleteImage(REPO, doomed)).rejects.toThrow(/answered 404/);
  });

  it("after a collection removed a repository's last image, a push uploads its blobs again", async () => {
    const oci = new OciRegistry(registry.url, { garbageCollect: () => registry.garbageCollect() });
    const repo = "registry.example.com/shop/lonely";
    const layer = await layerFrom([
      { type: "file", path: "lonely.txt", mode: 0o644, content: randomBytes(64) },
    ]);
    const digest = await pushImage(registry.url, "shop/lonely", "1", {
      layers: [layer],
      cmd: ["/bin/true"],
    });
    await oci.deleteImage(repo, digest);
    // Nothing else references the layer: the collection removed it.
    expect((await get(`shop/lonely/blobs/${layer.digest}`, "*/*")).status).toBe(404);
    const again = await pushImage(registry.url, "shop/lonely", "1", {
      layers: [layer],
      cmd: ["/bin/true"],
    });
    expect(again).toBe(digest);
    expect((await get(`shop/lonely/blobs/${layer.digest}`, "*/*")).status).toBe(200);
  });

  it("deletions side by side, each collecting, while images are pushed: every collection succeeds and every pushed image keeps its blobs", async () => {
    const oci = new OciRegistry(registry.url, { garbageCollect: () => registry.garbageCollect() });
    const repos = ["a", "b", "c", "d"].map(x => `registry.example.com/shop/retire-${x}`);
    const doomed = await Promise.all(
      repos.map(r => oci.pushImage(r, "1", { logLines: [`${r} retired`] })),
    );
    const busy = "registry.example.com/shop/busy";
    const [, , , , ...pushed] = await Promise.all([
      ...repos.map((r, i) => oci.deleteImage(r, doomed[i] ?? "")),
      ...[1, 2, 3, 4].map(i => oci.pushImage(busy, `v${String(i)}`, { logLines: [`busy ${i}`] })),
    ]);
    for (const digest of pushed) {
      const { config, layers } = await manifest("shop/busy", digest ?? "");
      for (const blob of [config, ...layers])
        expect((await get(`shop/busy/blobs/${blob.digest}`, "*/*")).status).toBe(200);
    }
    for (const [i, x] of ["a", "b", "c", "d"].entries())
      expect((await get(`shop/retire-${x}/manifests/${doomed[i] ?? ""}`)).status).toBe(404);
  });

  const clientSkip = skipReason([SKOPEO, UMOCI]);
  describe.skipIf(clientSkip !== "")(
    `real clients pull what was pushed${clientSkip ? ` (skipped: ${clientSkip})` : ""}`,
    () => {
      it("skopeo inspects and copies an image, umoci unpacks busybox; a deleted digest cannot be pulled", async () => {
        const oci = new OciRegistry(registry.url, {
          garbageCollect: () => registry.garbageCollect(),
        });
        const digest = await oci.pushImage(REPO, "4.0", { logLines: ["4.0"] });
        const ref = `docker://${registry.address}/shop/web-test`;
        const { stdout } = await skopeo("inspect", "--tls-verify=false", `${ref}:4.0`);
        const inspected = JSON.parse(stdout) as { Digest: string; Os: string; Layers: string[] };
        expect(inspected.Digest).toBe(digest);
        expect(inspected.Layers).toEqual([(await busyboxLayer()).digest]);
        const dir = await mkdtemp(join(tmpdir(), "rbd-pull-"));
        try {
          await skopeo(
            "copy",
            "--src-tls-verify=false",
            `${ref}@${digest}`,
            `oci:${dir}/image:4.0`,
          );
          await exec(UMOCI, [
            "unpack",
            "--rootless",
            "--image",
            `${dir}/image:4.0`,
            `${dir}/bundle`,
          ]);
          expect(await readlink(join(dir, "bundle/rootfs/bin/sh"))).toBe("busybox");
          await oci.deleteImage(REPO, digest);
          await expect(
            skopeo("copy", "--src-tls-verify=false", `${ref}@${digest}`, `oci:${dir}/gone:1`),
          ).rejects.toThrow(/manifest unknown|not found|404/i);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it("a pause image carries the pause command on the busybox layer", async () => {
        const digest = await pushPauseImage(registry.url, "rollback-drill/pause", "1");
        const { stdout } = await skopeo(
          "inspect",
          "--tls-verify=false",
          "--config",
          `docker://${registry.address}/rollback-drill/pause@${digest}`,
        );
        const config = JSON.parse(stdout) as { config: { Cmd: string[] }; rootfs: unknown };
        expect(config.config.Cmd).toEqual([...PAUSE_CMD]);
        expect(config.rootfs).toEqual({
          type: "layers",
          diff_ids: [(await busyboxLayer()).diffId],
        });
      });
    },
  );

  it("names what it cannot act out", () => {
    expect(() => scriptFor({ migratesTo: 3 }, "x", "/psql")).toThrow(/migratesTo.*3/);
  });
});
