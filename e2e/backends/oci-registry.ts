/**
 * A real registry (Docker Distribution's HTTP API v2) standing in for the simulator's, for the
 * K3s and real-cluster backends. Each pushed "build" is busybox's root filesystem with an image
 * config whose command acts out the behaviour (log lines, start time, a crash with an exit code,
 * required environment), so pushing the same tag again moves it to a new digest, and deleting a
 * digest makes pulls of it fail as a retention policy would. Databases need the simulator.
 */
import { createHash } from "node:crypto";
import type { ImageBehaviour, RegistryOps } from "../../src/scenarios/cluster.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const BASE_REPOSITORY = "base/busybox";
const BASE_SOURCE = { repository: "library/busybox", tag: "1.36" };

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface BaseImage {
  layer: Descriptor;
  diffId: string;
  architecture: string;
}

const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The shell program that acts out a behaviour; throws for what a plain container cannot do. */
export function scriptFor(behaviour: ImageBehaviour, label: string): string {
  if (behaviour.neverReady === true)
    throw new Error("neverReady needs a readiness probe: not supported on a real registry");
  if (behaviour.migratesTo !== undefined || behaviour.supportsUpTo !== undefined)
    throw new Error("database migrations need the simulator's databases");
  const steps = [`# ${label}`];
  for (const name of behaviour.requiredEnv ?? [])
    steps.push(`[ -n "$${name}" ] || { echo "${name} is not set"; exit 1; }`);
  if ((behaviour.startMs ?? 0) > 0) steps.push(`sleep ${String((behaviour.startMs ?? 0) / 1000)}`);
  for (const line of behaviour.logLines ?? []) steps.push(`echo ${shellQuote(line)}`);
  if (behaviour.crashAfterMs !== undefined)
    steps.push(
      `sleep ${String(behaviour.crashAfterMs / 1000)}`,
      `exit ${String(behaviour.exitCode ?? 1)}`,
    );
  steps.push("while true; do sleep 3600; done");
  return steps.join("\n");
}

export class OciRegistry implements RegistryOps {
  /** e.g. http://localhost:5000 */
  private readonly url: string;
  private base: BaseImage | undefined;
  private pushes = 0;

  constructor(url: string) {
    this.url = url.replace(/\/$/, "");
  }

  /** "registry.example.com/shop/web" -> "shop/web": the path below whichever host names it. */
  private static path(repository: string): string {
    return repository.split("/").slice(1).join("/");
  }

  /** Copies busybox's layer from Docker Hub into this registry, once. */
  async ensureBase(): Promise<BaseImage> {
    if (this.base !== undefined) return this.base;
    const architecture = process.arch === "arm64" ? "arm64" : "amd64";
    const tokenUrl = `https://auth.docker.io/token?service=registry.docker.io&scope=repository:${BASE_SOURCE.repository}:pull`;
    const { token } = (await (await fetch(tokenUrl)).json()) as { token: string };
    const hub = `https://registry-1.docker.io/v2/${BASE_SOURCE.repository}`;
    const get = async (path: string, accept: string): Promise<Response> => {
      const res = await fetch(`${hub}/${path}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: accept },
      });
      if (!res.ok) throw new Error(`Docker Hub ${path}: ${String(res.status)}`);
      return res;
    };
    const index = (await (
      await get(
        `manifests/${BASE_SOURCE.tag}`,
        "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json",
      )
    ).json()) as {
      manifests: {
        digest: string;
        mediaType: string;
        platform?: { os: string; architecture: string };
      }[];
    };
    const entry = index.manifests.find(
      m => m.platform?.os === "linux" && m.platform.architecture === architecture,
    );
    if (entry === undefined)
      throw new Error(`busybox:${BASE_SOURCE.tag} has no linux/${architecture} image`);
    const manifest = (await (await get(`manifests/${entry.digest}`, entry.mediaType)).json()) as {
      config: Descriptor;
      layers: Descriptor[];
    };
    const layer = manifest.layers[0];
    if (layer === undefined) throw new Error("busybox has no layer");
    const config = (await (await get(`blobs/${manifest.config.digest}`, "*/*")).json()) as {
      rootfs: { diff_ids: string[] };
    };
    const bytes = new Uint8Array(await (await get(`blobs/${layer.digest}`, "*/*")).arrayBuffer());
    await this.uploadBlob(BASE_REPOSITORY, bytes, layer.digest);
    this.base = { layer, diffId: config.rootfs.diff_ids[0] ?? "", architecture };
    return this.base;
  }

  private async uploadBlob(path: string, bytes: Uint8Array, digest = sha256(bytes)): Promise<void> {
    const start = await fetch(`${this.url}/v2/${path}/blobs/uploads/`, { method: "POST" });
    const location = start.headers.get("location");
    if (start.status !== 202 || location === null)
      throw new Error(`registry: upload to ${path} answered ${String(start.status)}`);
    const target = new URL(location, this.url);
    target.searchParams.set("digest", digest);
    const put = await fetch(target, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    if (put.status !== 201)
      throw new Error(`registry: blob ${digest} answered ${String(put.status)}`);
  }

  /** Makes the base layer available in `path`: a cross-repository mount, else an upload. */
  private async mountBase(path: string, base: BaseImage): Promise<void> {
    const mount = await fetch(
      `${this.url}/v2/${path}/blobs/uploads/?mount=${base.layer.digest}&from=${BASE_REPOSITORY}`,
      { method: "POST" },
    );
    if (mount.status === 201) return;
    throw new Error(
      `registry: mounting the base layer into ${path} answered ${String(mount.status)}`,
    );
  }

  async pushImage(repository: string, tag: string, behaviour: ImageBehaviour): Promise<string> {
    const base = await this.ensureBase();
    const path = OciRegistry.path(repository);
    this.pushes += 1;
    const script = scriptFor(
      behaviour,
      `${repository}:${tag} build ${String(this.pushes)} ${String(Date.now())}`,
    );
    const config = new TextEncoder().encode(
      JSON.stringify({
        architecture: base.architecture,
        os: "linux",
        config: { Cmd: ["sh", "-c", script], Env: ["PATH=/bin:/usr/bin"] },
        rootfs: { type: "layers", diff_ids: [base.diffId] },
      }),
    );
    await this.mountBase(path, base);
    await this.uploadBlob(path, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: [base.layer],
    });
    const res = await fetch(`${this.url}/v2/${path}/manifests/${tag}`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: manifest,
    });
    const digest = res.headers.get("docker-content-digest");
    if (res.status !== 201 || digest === null)
      throw new Error(`registry: manifest ${path}:${tag} answered ${String(res.status)}`);
    return digest;
  }

  async deleteImage(repository: string, digest: string): Promise<void> {
    const res = await fetch(`${this.url}/v2/${OciRegistry.path(repository)}/manifests/${digest}`, {
      method: "DELETE",
    });
    if (res.status !== 202)
      throw new Error(
        `registry: deleting ${repository}@${digest} answered ${String(res.status)} (is REGISTRY_STORAGE_DELETE_ENABLED set?)`,
      );
  }

  async imageDigest(repository: string, tag: string): Promise<string | undefined> {
    const res = await fetch(`${this.url}/v2/${OciRegistry.path(repository)}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST },
    });
    if (res.status === 404) return undefined;
    return res.headers.get("docker-content-digest") ?? undefined;
  }

  createDatabase(): Promise<void> {
    return Promise.reject(new Error("databases need the simulator's registry"));
  }

  databaseVersion(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
}
