/**
 * OCI images built here, with no network and no Docker: a ustar writer, layers made from this
 * machine's own binaries (busybox-static, and psql with the shared libraries it links), and a
 * push over Docker Distribution's HTTP API v2. Layers are deterministic (fixed mtimes, owners and
 * order), so the same inputs give the same digest, and are built once per process.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, globSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { posix } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";

const run = promisify(execFile);
const gzipAsync = promisify(gzip);

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/** Where busybox-static installs itself. */
export const BUSYBOX = "/bin/busybox";
/** What every entry's mtime is (seconds since the epoch): 2000-01-01T00:00:00Z. */
export const TAR_MTIME = 946_684_800;

/** One entry of a layer; paths are absolute or relative to the root, without "." or "..". */
export type TarEntry =
  | { type: "file"; path: string; mode: number; content: Uint8Array }
  | { type: "directory"; path: string; mode: number }
  | { type: "symlink"; path: string; target: string };

/** A built layer: its gzipped bytes and the two digests an image names it by. */
export interface Layer {
  readonly mediaType: typeof OCI_LAYER_GZIP;
  /** sha256 of the gzip (the blob's digest). */
  readonly digest: string;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  readonly diffId: string;
  /** The gzip's length in bytes. */
  readonly size: number;
  readonly bytes: Uint8Array;
}

export const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

// ---- tar ----

const BLOCK = 512;
const encoder = new TextEncoder();

/** "/a/b/" -> "a/b"; throws for what a layer must not hold. */
function entryName(path: string): string {
  const name = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "" || name.split("/").some(part => part === "" || part === "." || part === ".."))
    throw new Error(`tar: bad path ${JSON.stringify(path)}`);
  return name;
}

function putString(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new Error(`tar: ${JSON.stringify(text)} is too long`);
  header.set(bytes, offset);
}

/** An octal number field: zero-padded digits and a NUL, as ustar writes them. */
function putOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new Error(`tar: ${String(value)} does not fit`);
  putString(header, offset, length, `${digits}\0`);
}

/** Splits a name into ustar's prefix (up to 155 bytes) and name (up to 100 bytes). */
function splitName(name: string): { prefix: string; name: string } {
  if (encoder.encode(name).length <= 100) return { prefix: "", name };
  for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(rest).length <= 100)
      return { prefix, name: rest };
  }
  throw new Error(`tar: path ${name} is too long for ustar`);
}

function header(entry: TarEntry): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const base = entryName(entry.path);
  const { prefix, name } = splitName(entry.type === "directory" ? `${base}/` : base);
  const size = entry.type === "file" ? entry.content.length : 0;
  const mode = entry.type === "symlink" ? 0o777 : entry.mode;
  putString(block, 0, 100, name);
  putOctal(block, 100, 8, mode & 0o7777);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, size);
  putOctal(block, 136, 12, TAR_MTIME);
  block.fill(0x20, 148, 156);
  putString(block, 156, 1, { file: "0", directory: "5", symlink: "2" }[entry.type]);
  if (entry.type === "symlink") putString(block, 157, 100, entry.target);
  putString(block, 257, 6, "ustar\0");
  putString(block, 263, 2, "00");
  putString(block, 265, 32, "root");
  putString(block, 297, 32, "root");
  putString(block, 345, 155, prefix);
  const sum = block.reduce((total, byte) => total + byte, 0);
  putString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** A ustar archive of the entries in order (owner root:root, mtime TAR_MTIME), two zero blocks at the end. */
export function tar(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const entry of entries) {
    const h = header(entry);
    parts.push(h);
    length += h.length;
    if (entry.type === "file" && entry.content.length > 0) {
      const padded = Math.ceil(entry.content.length / BLOCK) * BLOCK;
      parts.push(entry.content, new Uint8Array(padded - entry.content.length));
      length += padded;
    }
  }
  parts.push(new Uint8Array(2 * BLOCK));
  length += 2 * BLOCK;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The entries with every missing parent directory (mode 0755) added before its first child, and
 * each path only once (the first entry for it wins), in a stable order: sorted by path.
 */
export function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const byName = new Map<string, TarEntry>();
  for (const entry of entries) {
    const name = entryName(entry.path);
    if (!byName.has(name)) byName.set(name, { ...entry, path: name });
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!byName.has(dir)) byName.set(dir, { type: "directory", path: dir, mode: 0o755 });
    }
  }
  // Sorting by path puts a directory before its children ("a" < "a/b").
  return [...byName.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Tars (with parents), gzips and digests the entries. */
export async function layerFrom(entries: readonly TarEntry[]): Promise<Layer> {
  const archive = tar(withParents(entries));
  const bytes = new Uint8Array(await gzipAsync(archive, { level: 9 }));
  return {
    mediaType: OCI_LAYER_GZIP,
    digest: sha256(bytes),
    diffId: sha256(archive),
    size: bytes.length,
    bytes,
  };
}

// ---- the layers ----

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");
const GROUP = ["root:x:0:", "nobody:x:65534:", ""].join("\n");

/** The entries of the busybox layer: /bin/busybox, an /bin symlink per applet, /tmp, /etc. */
export async function busyboxEntries(binary = BUSYBOX): Promise<TarEntry[]> {
  const content = new Uint8Array(await readFile(binary));
  const { stdout } = await run(binary, ["--list"]);
  const applets = [
    ...new Set(
      stdout
        .split("\n")
        .map(line => line.trim())
        .filter(a => a !== "" && a !== "busybox"),
    ),
  ];
  for (const applet of applets)
    if (!/^[A-Za-z0-9_.[\]-]+$/.test(applet)) throw new Error(`busybox: odd applet ${applet}`);
  return [
    { type: "directory", path: "bin", mode: 0o755 },
    { type: "file", path: "bin/busybox", mode: 0o755, content },
    ...applets.map((a): TarEntry => ({ type: "symlink", path: `bin/${a}`, target: "busybox" })),
    { type: "directory", path: "etc", mode: 0o755 },
    { type: "file", path: "etc/passwd", mode: 0o644, content: encoder.encode(PASSWD) },
    { type: "file", path: "etc/group", mode: 0o644, content: encoder.encode(GROUP) },
    { type: "directory", path: "root", mode: 0o700 },
    { type: "directory", path: "tmp", mode: 0o1777 },
  ];
}

/** psql on this machine (/usr/lib/postgresql/<major>/bin/psql, the newest major); undefined when absent. */
export function findPsql(): string | undefined {
  const found = globSync("/usr/lib/postgresql/*/bin/psql")
    .map(path => ({ path, major: Number(path.split("/")[4]) }))
    .filter(p => Number.isFinite(p.major))
    .sort((a, b) => b.major - a.major);
  return found[0]?.path;
}

/** The shared objects `ldd` lists for a binary (the dynamic loader included), as ldd names them. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const paths: string[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("linux-vdso") || line.startsWith("linux-gate")) continue;
    if (line.includes("not found")) throw new Error(`ldd ${binary}: ${line}`);
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^(\/\S+)/.exec(line);
    if (m?.[1] === undefined) throw new Error(`ldd ${binary}: cannot read ${JSON.stringify(line)}`);
    paths.push(m[1]);
  }
  return paths;
}

/** A relative symlink when both are in one directory, else an absolute one. */
const linkTarget = (from: string, to: string): string =>
  posix.dirname(from) === posix.dirname(to) ? posix.basename(to) : to;

/**
 * A binary and what it links, for a layer: each shared object's content at its real path (its
 * symlinks followed), and the name ldd found it by (the soname, or the loader's path) as a symlink
 * to it when that differs.
 */
export async function binaryEntries(binary: string): Promise<TarEntry[]> {
  const file = async (path: string): Promise<TarEntry> => ({
    type: "file",
    path,
    mode: (await stat(path)).mode & 0o7777,
    content: new Uint8Array(await readFile(path)),
  });
  const entries: TarEntry[] = [await file(await realpath(binary))];
  if ((await realpath(binary)) !== binary)
    entries.push({ type: "symlink", path: binary, target: await realpath(binary) });
  for (const lib of await sharedLibraries(binary)) {
    const real = await realpath(lib);
    entries.push(await file(real));
    if (real !== lib) entries.push({ type: "symlink", path: lib, target: linkTarget(lib, real) });
  }
  return entries;
}

let busyboxCache: Promise<Layer> | undefined;
let psqlCache: Promise<Layer> | undefined;

/** The busybox layer (built once per process). */
export function busyboxLayer(): Promise<Layer> {
  busyboxCache ??= busyboxEntries().then(layerFrom);
  busyboxCache.catch(() => {
    busyboxCache = undefined;
  });
  return busyboxCache;
}

/** Where psql is in the psql layer: the same path as on this machine. Throws when there is none. */
export function psqlPath(): string {
  const psql = findPsql();
  if (psql === undefined)
    throw new Error(
      "no psql: install postgresql-client (looked for /usr/lib/postgresql/*/bin/psql)",
    );
  return psql;
}

/** The psql layer, to stack on the busybox layer (built once per process). */
export function psqlLayer(): Promise<Layer> {
  psqlCache ??= Promise.resolve()
    .then(() => binaryEntries(psqlPath()))
    .then(layerFrom);
  psqlCache.catch(() => {
    psqlCache = undefined;
  });
  return psqlCache;
}

// ---- images ----

export interface ImageOptions {
  /** Bottom first. */
  layers: readonly Layer[];
  cmd: readonly string[];
  env?: readonly string[];
  user?: string;
  /** A repository of the same registry to mount blobs from before uploading them. */
  mountFrom?: string;
  /** For a registry that asks for them (htpasswd). */
  credentials?: RegistryCredentials;
}

/** The OCI architecture of this machine (the layers hold its binaries). */
export function architecture(): string {
  const arch: Partial<Record<NodeJS.Architecture, string>> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  return arch[process.arch] ?? process.arch;
}

/** The image config's bytes: deterministic for the same options. */
export function imageConfig(options: ImageOptions): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      architecture: architecture(),
      os: "linux",
      config: {
        ...(options.user === undefined ? {} : { User: options.user }),
        Env: [...(options.env ?? ["PATH=/bin:/usr/bin"])],
        Cmd: [...options.cmd],
      },
      rootfs: { type: "layers", diff_ids: options.layers.map(l => l.diffId) },
    }),
  );
}

const base = (registryUrl: string): string => registryUrl.replace(/\/+$/, "");

async function answer(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  return `${String(res.status)}${text === "" ? "" : `: ${text.slice(0, 300)}`}`;
}

/** A registry's basic-auth credentials (htpasswd), for a private registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** The Authorization header for credentials; none without. */
export function authHeaders(credentials: RegistryCredentials | undefined): Record<string, string> {
  if (credentials === undefined) return {};
  const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  return { Authorization: `Basic ${token}` };
}

/** Uploads a blob unless HEAD finds it; tries a cross-repository mount first when asked. */
export async function pushBlob(
  registryUrl: string,
  path: string,
  bytes: Uint8Array,
  mountFrom?: string,
  credentials?: RegistryCredentials,
): Promise<string> {
  const url = base(registryUrl);
  const digest = sha256(bytes);
  const auth = authHeaders(credentials);
  const head = await fetch(`${url}/v2/${path}/blobs/${digest}`, { method: "HEAD", headers: auth });
  if (head.status === 200) return digest;
  const query = mountFrom === undefined ? "" : `?mount=${digest}&from=${mountFrom}`;
  const start = await fetch(`${url}/v2/${path}/blobs/uploads/${query}`, {
    method: "POST",
    headers: auth,
  });
  if (start.status === 201) return digest;
  const location = start.headers.get("location");
  if (start.status !== 202 || location === null)
    throw new Error(`registry: starting an upload to ${path} answered ${await answer(start)}`);
  await start.body?.cancel();
  const target = new URL(location, `${url}/`);
  target.searchParams.set("digest", digest);
  const put = await fetch(target, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", ...auth },
    body: bytes,
  });
  if (put.status !== 201)
    throw new Error(`registry: uploading ${digest} to ${path} answered ${await answer(put)}`);
  await put.body?.cancel();
  return digest;
}

/**
 * Pushes an image to `path:tag` (path as the registry names it, e.g. "shop/web"): its layers,
 * config and OCI manifest. Returns the manifest's digest as the registry reports it.
 */
export async function pushImage(
  registryUrl: string,
  path: string,
  tag: string,
  options: ImageOptions,
): Promise<string> {
  const url = base(registryUrl);
  const credentials = options.credentials;
  for (const layer of options.layers)
    await pushBlob(url, path, layer.bytes, options.mountFrom, credentials);
  const config = imageConfig(options);
  await pushBlob(url, path, config, undefined, credentials);
  const manifest = encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: options.layers.map(l => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const res = await fetch(`${url}/v2/${path}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": OCI_MANIFEST, ...authHeaders(credentials) },
    body: manifest,
  });
  const digest = res.headers.get("docker-content-digest");
  if (res.status !== 201 || digest === null)
    throw new Error(`registry: manifest ${path}:${tag} answered ${await answer(res)}`);
  await res.body?.cancel();
  if (digest !== sha256(manifest))
    throw new Error(
      `registry: manifest ${path}:${tag} stored as ${digest}, not ${sha256(manifest)}`,
    );
  return digest;
}

/** A container that does nothing until it is told to stop, and then exits 0 at once. */
export const PAUSE_CMD = [
  "/bin/sh",
  "-c",
  "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done",
] as const;

/** Pushes the busybox layer with PAUSE_CMD as `path:tag` (e.g. a pod sandbox's pause image). */
export async function pushPauseImage(
  registryUrl: string,
  path: string,
  tag: string,
): Promise<string> {
  return pushImage(registryUrl, path, tag, { layers: [await busyboxLayer()], cmd: PAUSE_CMD });
}

/** Whether this machine can build the layers: which of their sources are missing. */
export function missingSources(): string[] {
  const missing: string[] = [];
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static)`);
  if (findPsql() === undefined) missing.push("/usr/lib/postgresql/*/bin/psql (postgresql-client)");
  return missing;
}
