/**
 * The operator's container image, built from the checkout's Dockerfile as users build it, with
 * no Docker engine: buildah (vfs storage, chroot isolation) on two Node 24 bases made here from
 * this machine's files, since the public bases are out of reach. Both bases share one layer, the
 * Node 24 binary at /nodejs/bin/node with the shared objects it links:
 *   - the runtime base adds /etc/passwd and /etc/group with nonroot (65532), /tmp and the CA
 *     bundle, and nothing that is a shell (as gcr.io/distroless/nodejs24-debian12:nonroot);
 *   - the build base adds busybox (the shell the RUN steps use), /usr/local/bin/node, npm with
 *     `npm` and `npx` on PATH, and the CA bundle, which Node is told to trust
 *     (NODE_EXTRA_CA_CERTS): HTTPS to the npm registry from this machine needs it.
 * The base layers are cached, gzipped, outside the checkout (gzipping Node takes a while), and so
 * is buildah's storage, whose layer cache makes a rebuild with the same lockfile quick.
 *
 *   npx node e2e/cluster/image.ts [--registry http://127.0.0.1:5000] [--tag dev]
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { delimiter, dirname, join, posix } from "node:path";
import { parseArgs, promisify } from "node:util";
import { gunzip } from "node:zlib";
import {
  binaryEntries,
  BUSYBOX,
  busyboxEntries,
  layerFrom,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  architecture,
  OCI_CONFIG,
  pushBlob,
  sha256,
  tar,
  TAR_MTIME,
  withParents,
  type Layer,
  type TarEntry,
} from "../backends/oci-image.ts";
import { CHECKOUT } from "./layout.ts";
import { PULL_REGISTRY, PUSH_REGISTRY } from "./topology.ts";

const execFileAsync = promisify(execFile);
const gunzipAsync = promisify(gunzip);
const encoder = new TextEncoder();

export const NODE_MAJOR = 24;
/** Where node is in both bases (as in distroless' nodejs images, which the Dockerfile names). */
export const RUNTIME_NODE = "/nodejs/bin/node";
/** Where the build base has node on PATH (a symlink to RUNTIME_NODE). */
export const BUILD_NODE = "/usr/local/bin/node";
/** npm on this machine, and where the build base has it. */
export const HOST_NPM = "/usr/lib/node_modules/npm";
export const IMAGE_NPM = "/usr/local/lib/node_modules/npm";
/** The machine's CA bundle: copied into both bases at the same path. */
export const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
export const NONROOT_UID = 65532;

export const REPOSITORIES = {
  build: "rollback-drill/node-build",
  runtime: "rollback-drill/node-runtime",
  operator: "rollback-drill/operator",
} as const;
export const BASE_TAG = String(NODE_MAJOR);

// ---- the bases' entries ----

/** The runtime base's users (distroless' three); no login shell exists, /sbin/nologin included. */
export const RUNTIME_PASSWD = [
  "root:x:0:0:root:/root:/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
  `nonroot:x:${String(NONROOT_UID)}:${String(NONROOT_UID)}:nonroot:/nonexistent:/sbin/nologin`,
  "",
].join("\n");
export const RUNTIME_GROUP = [
  "root:x:0:",
  "nobody:x:65534:",
  `nonroot:x:${String(NONROOT_UID)}:`,
  "",
].join("\n");
const NSSWITCH = ["passwd: files", "group: files", "hosts: files dns", ""].join("\n");

export const RUNTIME_ENV = [
  "PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin",
  `SSL_CERT_FILE=${CA_BUNDLE}`,
] as const;
export const BUILD_ENV = [
  "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
  `NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
] as const;

const file = (path: string, mode: number, content: Uint8Array): TarEntry => ({
  type: "file",
  path,
  mode,
  content,
});

/**
 * The Node binary at RUNTIME_NODE and what it links (each shared object at its real path, and
 * the name ldd found it by, the loader's included, as a symlink to it): the layer both bases share.
 */
export async function nodeEntries(node: string): Promise<TarEntry[]> {
  const real = await realpath(node);
  const libraries = (await binaryEntries(node)).filter(e => e.path !== real && e.path !== node);
  return [file(RUNTIME_NODE, 0o755, new Uint8Array(await readFile(node))), ...libraries];
}

/** The runtime base's own layer: users, name service, /tmp and the CA bundle. */
export function runtimeEntries(caBundle: Uint8Array): TarEntry[] {
  return [
    file("etc/passwd", 0o644, encoder.encode(RUNTIME_PASSWD)),
    file("etc/group", 0o644, encoder.encode(RUNTIME_GROUP)),
    file("etc/nsswitch.conf", 0o644, encoder.encode(NSSWITCH)),
    file(CA_BUNDLE, 0o644, caBundle),
    { type: "directory", path: "tmp", mode: 0o1777 },
  ];
}

/** npm's package directory as entries under `at` (modes and relative symlinks kept). */
export async function directoryEntries(dir: string, at: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const source = join(dir, relPath);
      const path = posix.join(at, relPath);
      const info = await lstat(source);
      if (info.isSymbolicLink())
        entries.push({ type: "symlink", path, target: await readlink(source) });
      else if (info.isDirectory()) {
        entries.push({ type: "directory", path, mode: info.mode & 0o7777 });
        await walk(relPath);
      } else if (info.isFile())
        entries.push(file(path, info.mode & 0o7777, new Uint8Array(await readFile(source))));
    }
  };
  await walk("");
  return entries;
}

/**
 * The build base's tools over busybox and the node layer: node on PATH, npm with `npm` and `npx`
 * (symlinks to its CLIs, whose `#!/usr/bin/env node` finds BUILD_NODE), /usr/bin/env (busybox),
 * and the CA bundle.
 */
export function buildToolsEntries(npm: readonly TarEntry[], caBundle: Uint8Array): TarEntry[] {
  const npmBin = posix.relative("/usr/local/bin", posix.join(IMAGE_NPM, "bin"));
  return [
    { type: "symlink", path: BUILD_NODE, target: RUNTIME_NODE },
    { type: "symlink", path: "/usr/local/bin/npm", target: `${npmBin}/npm-cli.js` },
    { type: "symlink", path: "/usr/local/bin/npx", target: `${npmBin}/npx-cli.js` },
    { type: "symlink", path: "/usr/bin/env", target: BUSYBOX },
    ...npm,
    file(CA_BUNDLE, 0o644, caBundle),
  ];
}

// ---- layers, cached on disk ----

/** Where the layers and buildah's storage are kept: outside the checkout. */
export function imageCache(env: Readonly<Record<string, string | undefined>>): string {
  return (
    env["ROLLBACK_DRILL_IMAGE_CACHE"] ??
    join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "rollback-drill", "images")
  );
}

/**
 * layerFrom(entries), the gzip kept in `dir` under the tar's digest: the same entries give the
 * same layer, and a later run reads it instead of compressing again (which, for Node, takes
 * most of a minute). A cached file whose content does not match is rebuilt.
 */
export async function cachedLayer(
  entries: readonly TarEntry[],
  dir: string,
): Promise<{ layer: Layer; cached: boolean }> {
  const diffId = sha256(tar(withParents(entries)));
  const path = join(dir, `${diffId.slice("sha256:".length)}.tar.gz`);
  if (existsSync(path)) {
    const bytes = new Uint8Array(await readFile(path));
    const unzipped = await gunzipAsync(bytes).catch(() => undefined);
    if (unzipped !== undefined && sha256(new Uint8Array(unzipped)) === diffId)
      return {
        layer: {
          mediaType: OCI_LAYER_GZIP,
          digest: sha256(bytes),
          diffId,
          size: bytes.length,
          bytes,
        },
        cached: true,
      };
  }
  const layer = await layerFrom(entries);
  if (layer.diffId !== diffId) throw new Error(`layer: ${layer.diffId} is not ${diffId}`);
  await mkdir(dir, { recursive: true });
  const partial = `${path}.${String(process.pid)}.partial`;
  await writeFile(partial, layer.bytes);
  await rename(partial, path);
  return { layer, cached: false };
}

// ---- the machine ----

/** The Node 24 binary to put in the bases: this process's, or the "node" devDependency's. */
export async function findNode(): Promise<string> {
  const candidates = [
    process.execPath,
    join(CHECKOUT, "node_modules", "node", "bin", "node"),
    join(
      CHECKOUT,
      "node_modules",
      "node",
      "node_modules",
      `node-${process.platform}-${process.arch}`,
      "bin",
      "node",
    ),
  ];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const version =
      candidate === process.execPath
        ? process.version
        : (await execFileAsync(candidate, ["--version"])).stdout.trim();
    if (version.startsWith(`v${String(NODE_MAJOR)}.`)) return candidate;
  }
  throw new Error(
    `no Node ${String(NODE_MAJOR)} binary: looked at ${candidates.join(", ")} (npm ci installs the "node" devDependency)`,
  );
}

const onPath = (name: string): boolean =>
  (process.env["PATH"] ?? "")
    .split(delimiter)
    .some(dir => dir !== "" && existsSync(join(dir, name)));

/** What a build needs that this machine lacks ([] when it can build). */
export function missingForBuild(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (buildah's chroot isolation, vfs storage)");
  if (!onPath("buildah")) missing.push("buildah (apt-get install buildah)");
  if (!onPath("ldd")) missing.push("ldd (libc-bin)");
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static)`);
  if (!existsSync(join(HOST_NPM, "bin", "npm-cli.js"))) missing.push(`npm in ${HOST_NPM}`);
  if (!existsSync(CA_BUNDLE)) missing.push(`${CA_BUNDLE} (ca-certificates)`);
  return missing;
}

// ---- references ----

/** "http://127.0.0.1:5000/" -> { host: "127.0.0.1:5000", tlsVerify: false }. */
export function registryOf(registryUrl: string): { url: string; host: string; tlsVerify: boolean } {
  const url = new URL(registryUrl);
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname.replace(/\/+$/, "") !== ""
  )
    throw new Error(`registry: ${registryUrl} is not http(s)://host[:port]`);
  return {
    url: `${url.protocol}//${url.host}`,
    host: url.host,
    tlsVerify: url.protocol === "https:",
  };
}

/**
 * How the cluster's node names an image this machine pushed to `host`: the test cluster's node
 * reaches its registry as PULL_REGISTRY while this machine pushes to PUSH_REGISTRY; any other
 * registry is named as it is pushed to.
 */
export const pullHost = (host: string): string => (host === PUSH_REGISTRY ? PULL_REGISTRY : host);

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

// ---- buildah ----

export interface BuildahStore {
  /** buildah's image and layer storage (vfs). */
  readonly root: string;
  /** Its locks and mounts' state. */
  readonly runroot: string;
}

export function buildahStore(env: Readonly<Record<string, string | undefined>>): BuildahStore {
  return { root: join(imageCache(env), "buildah"), runroot: "/run/rollback-drill-images" };
}

const globalArgs = (store: BuildahStore): string[] => [
  "--root",
  store.root,
  "--runroot",
  store.runroot,
  "--storage-driver",
  "vfs",
];

export interface BudOptions {
  readonly store: BuildahStore;
  /** The build context (the checkout) and the Dockerfile in it. */
  readonly context: string;
  readonly dockerfile: string;
  /** The local name of the result, e.g. 127.0.0.1:5000/rollback-drill/operator:dev */
  readonly name: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly tlsVerify: boolean;
  readonly iidfile: string;
}

/**
 * `buildah bud`'s argv: chroot isolation (no runtime, no namespaces to configure), the layer
 * cache, intermediate containers removed even on failure, file times clamped to TAR_MTIME (the
 * same inputs give the same image). buildah stores layers uncompressed and gzips them again on
 * push, so the pushed image's base layers are its own gzip of the bases' (Go's, about 2 MB more
 * than the bases' zlib -9 for Node), except where it has seen the bases' blobs in that registry.
 */
export function budArgs(o: BudOptions): string[] {
  return [
    ...globalArgs(o.store),
    "bud",
    "--isolation",
    "chroot",
    "--layers",
    "--force-rm",
    `--tls-verify=${String(o.tlsVerify)}`,
    "--timestamp",
    String(TAR_MTIME),
    ...Object.entries(o.buildArgs).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]),
    "--file",
    o.dockerfile,
    "--tag",
    o.name,
    "--iidfile",
    o.iidfile,
    o.context,
  ];
}

export function pushArgs(o: {
  store: BuildahStore;
  name: string;
  destination: string;
  tlsVerify: boolean;
  digestfile: string;
}): string[] {
  return [
    ...globalArgs(o.store),
    "push",
    `--tls-verify=${String(o.tlsVerify)}`,
    "--digestfile",
    o.digestfile,
    o.name,
    `docker://${o.destination}`,
  ];
}

const TAIL_LINES = 25;

class StepError extends Error {
  override name = "StepError";
}

/**
 * Runs buildah, its output kept for an error (the last TAIL_LINES lines) and each `STEP` line
 * (and each step the layer cache answered) passed to `onStep`; resolves with the IDs of the
 * images it said it committed or reused (`--> <id>`), rejects, with those lines, when it exits
 * non-zero.
 */
function buildah(args: readonly string[], onStep: (line: string) => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("buildah", args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const images: string[] = [];
    let partial = "";
    const take = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        if (/^(\[\d+\/\d+\] )?STEP \d+\/\d+: |^--> Using cache /.test(line)) onStep(line);
        const id = /^--> (?:Using cache )?([0-9a-f]{11,64})$/.exec(line)?.[1];
        if (id !== undefined) images.push(id);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (partial !== "") tail.push(partial);
      if (code === 0) {
        resolve(images);
        return;
      }
      const how = code === null ? `was killed by ${String(signal)}` : `exited ${String(code)}`;
      reject(
        new StepError(
          `\`buildah ${args.join(" ")}\` ${how}; last lines of its output:\n${tail.map(l => `  ${l}`).join("\n")}`,
        ),
      );
    });
  });
}

/**
 * Removes from buildah's storage every image but `keep` (ID prefixes): the layer cache of earlier
 * builds. With vfs every layer is a full copy of its root filesystem, so each change to src/
 * would otherwise leave about 1 GB behind. An image a container uses (a build running now) is
 * not removed (no --force); tagged ones are untagged first.
 */
export async function pruneStorage(
  store: BuildahStore,
  keep: readonly string[],
): Promise<{ removed: number; kept: number }> {
  const g = globalArgs(store);
  const { stdout } = await execFileAsync("buildah", [
    ...g,
    "images",
    "--all",
    "--no-trunc",
    "--format",
    "{{.ID}} {{.Name}}:{{.Tag}}",
  ]);
  const names = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const [id = "", name = ""] = line.trim().split(" ");
    if (id === "") continue;
    const hex = id.replace(/^sha256:/, "");
    const list = names.get(hex) ?? [];
    if (name !== "" && !name.endsWith(":<none>")) list.push(name);
    names.set(hex, list);
  }
  const prefixes = keep.map(k => k.replace(/^sha256:/, "")).filter(k => k !== "");
  let removed = 0;
  for (const [id, tags] of names) {
    if (prefixes.some(k => id.startsWith(k))) continue;
    try {
      for (const tag of tags) await execFileAsync("buildah", [...g, "rmi", tag]);
      if (tags.length === 0) await execFileAsync("buildah", [...g, "rmi", id]);
      removed++;
    } catch {
      // In use by a container, or gone with an image removed before it.
    }
  }
  return { removed, kept: names.size - removed };
}

// ---- steps ----

type Log = (line: string) => void;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Runs one step, logging it and its duration; a failure names the step. */
async function step<T>(
  log: Log,
  name: string,
  run: () => Promise<T>,
  done?: (value: T) => string,
): Promise<T> {
  const started = performance.now();
  log(`image: ${name}`);
  let value: T;
  try {
    value = await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `image: ${name} failed after ${seconds(performance.now() - started)}: ${message}`,
      {
        cause: error,
      },
    );
  }
  log(
    `image: ${name}: done in ${seconds(performance.now() - started)}${done ? ` (${done(value)})` : ""}`,
  );
  return value;
}

/** A base image: its layers (bottom first), each with what made it, and its config. */
export interface BaseImage {
  readonly layers: readonly { readonly layer: Layer; readonly createdBy: string }[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly user?: string;
}

const CREATED = new Date(TAR_MTIME * 1000).toISOString();

/**
 * The base's config: as oci-image.ts's imageConfig, plus a history entry per layer (buildah, on
 * committing a step, checks that the history's non-empty entries match the layers, and fails
 * with "history lists 1 non-empty layers, but we have 4 layers on disk" on an image without one).
 */
export function baseConfig(image: BaseImage): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      created: CREATED,
      architecture: architecture(),
      os: "linux",
      config: {
        ...(image.user === undefined ? {} : { User: image.user }),
        Env: [...image.env],
        Cmd: [...image.cmd],
      },
      rootfs: { type: "layers", diff_ids: image.layers.map(l => l.layer.diffId) },
      history: image.layers.map(l => ({ created: CREATED, created_by: l.createdBy })),
    }),
  );
}

/** Pushes a base as `repository:tag` (blobs mounted from `mountFrom` when it has them). */
export async function pushBase(
  url: string,
  repository: string,
  tag: string,
  image: BaseImage,
  mountFrom?: string,
): Promise<string> {
  for (const { layer } of image.layers) await pushBlob(url, repository, layer.bytes, mountFrom);
  const config = baseConfig(image);
  await pushBlob(url, repository, config);
  const manifest = encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: image.layers.map(({ layer }) => ({
        mediaType: layer.mediaType,
        digest: layer.digest,
        size: layer.size,
      })),
    }),
  );
  const res = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": OCI_MANIFEST },
    body: manifest,
  });
  const text = await res.text().catch(() => "");
  if (res.status !== 201)
    throw new Error(
      `registry: manifest ${repository}:${tag} answered ${String(res.status)} ${text.slice(0, 300)}`,
    );
  return sha256(manifest);
}

export interface BaseImages {
  /** By digest, as this machine reaches the registry, e.g. 127.0.0.1:5000/rollback-drill/node-build@sha256:… */
  readonly build: string;
  readonly runtime: string;
  /** Their IDs in buildah's storage (their configs' digests). */
  readonly ids: readonly string[];
}

/** Makes the two bases from this machine's files (layers cached in `cache`) and pushes them. */
export async function pushBaseImages(
  registryUrl: string,
  cache: string,
  log: Log,
): Promise<BaseImages> {
  const { url, host } = registryOf(registryUrl);
  const layers = await step(
    log,
    "base layers: Node 24 and its libraries, runtime files, busybox, npm",
    async () => {
      const node = await findNode();
      const caBundle = new Uint8Array(await readFile(CA_BUNDLE));
      const dir = join(cache, "layers");
      const made = {
        node: await cachedLayer(await nodeEntries(node), dir),
        runtime: await cachedLayer(runtimeEntries(caBundle), dir),
        busybox: await cachedLayer(await busyboxEntries(), dir),
        tools: await cachedLayer(
          buildToolsEntries(await directoryEntries(HOST_NPM, IMAGE_NPM), caBundle),
          dir,
        ),
      };
      const version = (await execFileAsync(node, ["--version"])).stdout.trim();
      return { nodePath: node, version, ...made };
    },
    made =>
      `${made.nodePath} ${made.version}; ${(["node", "runtime", "busybox", "tools"] as const)
        .map(k => `${k} ${megabytes(made[k].layer.size)} ${made[k].cached ? "cached" : "built"}`)
        .join(", ")}`,
  );
  const made = "e2e/cluster/image.ts:";
  const nodeLayer = {
    layer: layers.node.layer,
    createdBy: `${made} Node ${layers.version} at ${RUNTIME_NODE} and the libraries it links`,
  };
  const runtime: BaseImage = {
    layers: [
      nodeLayer,
      {
        layer: layers.runtime.layer,
        createdBy: `${made} /etc/passwd (nonroot ${String(NONROOT_UID)}), /etc/group, /tmp, the CA bundle`,
      },
    ],
    cmd: [RUNTIME_NODE],
    env: RUNTIME_ENV,
    user: `${String(NONROOT_UID)}:${String(NONROOT_UID)}`,
  };
  const build: BaseImage = {
    layers: [
      { layer: layers.busybox.layer, createdBy: `${made} busybox-static` },
      nodeLayer,
      { layer: layers.tools.layer, createdBy: `${made} node, npm and npx on PATH, the CA bundle` },
    ],
    cmd: ["/bin/sh"],
    env: BUILD_ENV,
  };
  const runtimeDigest = await step(log, `push ${host}/${REPOSITORIES.runtime}:${BASE_TAG}`, () =>
    pushBase(url, REPOSITORIES.runtime, BASE_TAG, runtime),
  );
  const buildDigest = await step(log, `push ${host}/${REPOSITORIES.build}:${BASE_TAG}`, () =>
    pushBase(url, REPOSITORIES.build, BASE_TAG, build, REPOSITORIES.runtime),
  );
  return {
    build: `${host}/${REPOSITORIES.build}@${buildDigest}`,
    runtime: `${host}/${REPOSITORIES.runtime}@${runtimeDigest}`,
    ids: [sha256(baseConfig(build)), sha256(baseConfig(runtime))],
  };
}

interface Manifest {
  config: { size: number };
  layers: { size: number }[];
}

/** The image's compressed size as the registry stores it: its layers and its config. */
async function compressedSize(url: string, repository: string, digest: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repository}/manifests/${digest}`, {
    headers: {
      Accept: [OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"].join(", "),
    },
  });
  if (res.status !== 200)
    throw new Error(`registry: manifest ${repository}@${digest} answered ${String(res.status)}`);
  const manifest = (await res.json()) as Manifest;
  return manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size);
}

// ---- the inputs' key: a build whose inputs were built before is not run again ----

/** The context paths a Dockerfile's COPY and ADD read (not those copied --from a stage). */
export function contextSources(dockerfile: string): string[] {
  const sources = new Set<string>();
  for (const line of dockerfile.replace(/\\\n/g, " ").split("\n")) {
    const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (m?.[2] === undefined) continue;
    let rest = m[2].trim();
    const flags: string[] = [];
    while (rest.startsWith("--")) {
      const [flag = "", ...tail] = rest.split(/\s+/);
      flags.push(flag);
      rest = tail.join(" ");
    }
    if (flags.some(f => f.startsWith("--from"))) continue;
    const words = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
    for (const source of words.slice(0, -1))
      sources.add(posix.normalize(source).replace(/\/+$/, ""));
  }
  return [...sources].sort();
}

/**
 * A digest of everything a build reads: buildah's version, its arguments (the bases by digest
 * among them), the Dockerfile, .dockerignore, and every file under each COPY source (path, mode,
 * content; a file the ignore list leaves out only makes the key change more often). npm ci
 * installs exactly what the lockfile's integrity hashes name, and buildah clamps file times
 * (--timestamp), so the same key gives the same image.
 */
export async function inputKey(o: {
  context: string;
  dockerfile: string;
  args: readonly string[];
  buildahVersion: string;
}): Promise<string> {
  const hash = createHash("sha256");
  const add = (...parts: (string | Uint8Array)[]): void => {
    for (const part of parts) hash.update(part).update("\0");
  };
  const text = await readFile(o.dockerfile, "utf8");
  add("rollback-drill operator image v1", o.buildahVersion, ...o.args, text);
  const ignore = join(o.context, ".dockerignore");
  add(existsSync(ignore) ? await readFile(ignore) : "");
  const walk = async (rel: string): Promise<void> => {
    const path = join(o.context, rel);
    const info = await lstat(path);
    if (info.isSymbolicLink()) add("link", rel, await readlink(path));
    else if (info.isDirectory())
      for (const name of (await readdir(path)).sort()) await walk(posix.join(rel, name));
    else add("file", rel, String(info.mode & 0o7777), await readFile(path));
  };
  for (const source of contextSources(text)) await walk(source);
  return `sha256:${hash.digest("hex")}`;
}

interface BuiltRecord {
  digest: string;
  builtAt: string;
}

/**
 * The image a key was built as, when the registry still has it: tagged `tag` again (its
 * manifest PUT under the tag) and returned; undefined when it must be built.
 */
async function reuse(
  url: string,
  record: string,
  tag: string,
): Promise<(BuiltRecord & { bytes: number }) | undefined> {
  if (!existsSync(record)) return undefined;
  const built = JSON.parse(await readFile(record, "utf8")) as BuiltRecord;
  const repository = REPOSITORIES.operator;
  const res = await fetch(`${url}/v2/${repository}/manifests/${built.digest}`, {
    headers: { Accept: OCI_MANIFEST },
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    return undefined;
  }
  const manifest = new Uint8Array(await res.arrayBuffer());
  if (sha256(manifest) !== built.digest) return undefined;
  const put = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": res.headers.get("content-type") ?? OCI_MANIFEST },
    body: manifest,
  });
  await put.body?.cancel();
  if (put.status !== 201)
    throw new Error(`registry: tagging ${built.digest} as ${tag} answered ${String(put.status)}`);
  return { ...built, bytes: await compressedSize(url, repository, built.digest) };
}

export interface BuildOptions {
  /** The registry as this machine reaches it, e.g. http://127.0.0.1:5000 */
  registryUrl: string;
  tag: string;
  log: (line: string) => void;
  /** Run buildah even when the same inputs were built before and the registry still has the result. */
  rebuild?: boolean;
  /** Where the cache is read from (ROLLBACK_DRILL_IMAGE_CACHE, XDG_CACHE_HOME); process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface BuiltImage {
  /** As the cluster pulls it, e.g. localhost:5000/rollback-drill/operator:dev */
  image: string;
  /** The manifest's digest (sha256:…). */
  digest: string;
  /** Compressed: the layers' sizes plus the config's. */
  bytes: number;
}

/**
 * Builds the operator's image from the checkout's Dockerfile on bases made here, and pushes it to
 * `<registry>/rollback-drill/operator:<tag>`.
 */
export async function buildOperatorImage(options: BuildOptions): Promise<BuiltImage> {
  const { log, tag } = options;
  if (!TAG.test(tag)) throw new Error(`image: ${JSON.stringify(tag)} is not a valid tag`);
  const missing = missingForBuild();
  if (missing.length > 0) throw new Error(`image: building needs ${missing.join(", ")}`);
  const { url, host, tlsVerify } = registryOf(options.registryUrl);
  const env = options.env ?? process.env;
  const cache = imageCache(env);
  const store = buildahStore(env);
  const started = performance.now();
  const bases = await pushBaseImages(url, cache, log);
  const name = `${host}/${REPOSITORIES.operator}:${tag}`;
  const image = `${pullHost(host)}/${REPOSITORIES.operator}:${tag}`;
  const dockerfile = join(CHECKOUT, "Dockerfile");
  const scratch = await mkdtemp(join(tmpdir(), "rbd-image-"));
  const done = (digest: string, bytes: number): BuiltImage => {
    log(
      `image: ${image} (${digest}, ${megabytes(bytes)} compressed) in ${seconds(performance.now() - started)}`,
    );
    return { image, digest, bytes };
  };
  try {
    const iidfile = join(scratch, "iid");
    const args = budArgs({
      store,
      context: CHECKOUT,
      dockerfile,
      name,
      buildArgs: { BUILD_BASE: bases.build, RUNTIME_BASE: bases.runtime, VERSION: tag },
      tlsVerify,
      iidfile,
    });
    const key = await step(
      log,
      "inputs: the Dockerfile, what it copies, the bases, buildah",
      async () =>
        inputKey({
          context: CHECKOUT,
          dockerfile,
          args: args.filter(a => a !== iidfile),
          buildahVersion: (await execFileAsync("buildah", ["--version"])).stdout.trim(),
        }),
      k => k,
    );
    const record = join(cache, "built", `${key.slice("sha256:".length)}.json`);
    if (options.rebuild !== true) {
      const reused = await step(
        log,
        `look for ${key.slice(0, 19)}… built before`,
        () => reuse(url, record, tag),
        r =>
          r === undefined
            ? "not found: building"
            : `${r.digest}, built ${r.builtAt}: buildah not run`,
      );
      if (reused !== undefined) return done(reused.digest, reused.bytes);
    }
    const images = await step(log, `buildah bud ${dockerfile} (storage ${store.root})`, () =>
      buildah(args, line => {
        log(`  ${line}`);
      }),
    );
    const digestfile = join(scratch, "digest");
    const digest = await step(
      log,
      `buildah push ${name}`,
      async () => {
        await buildah(
          pushArgs({ store, name, destination: name, tlsVerify, digestfile }),
          () => undefined,
        );
        return (await readFile(digestfile, "utf8")).trim();
      },
      d => d,
    );
    const bytes = await compressedSize(url, REPOSITORIES.operator, digest);
    await mkdir(dirname(record), { recursive: true });
    const built: BuiltRecord = { digest, builtAt: new Date().toISOString() };
    await writeFile(record, `${JSON.stringify(built)}\n`);
    const iid = (await readFile(iidfile, "utf8")).trim();
    await step(
      log,
      "prune buildah's storage: keep this build's images and the bases",
      () => pruneStorage(store, [iid, ...images, ...bases.ids]),
      r => `${String(r.removed)} images of earlier builds removed, ${String(r.kept)} kept`,
    ).catch((error: unknown) => {
      // The image is built and pushed; a storage left as it was costs only disk.
      log(error instanceof Error ? error.message : String(error));
    });
    return done(digest, bytes);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---- command line ----

const USAGE = `usage: npx node e2e/cluster/image.ts [--registry http://${PUSH_REGISTRY}] [--tag dev] [--rebuild]`;

async function cli(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      registry: { type: "string", default: `http://${PUSH_REGISTRY}` },
      tag: { type: "string", default: "dev" },
      rebuild: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = missingForBuild();
  if (missing.length > 0) {
    console.error(`building the operator's image needs ${missing.join(", ")}`);
    return 2;
  }
  const built = await buildOperatorImage({
    registryUrl: values.registry,
    tag: values.tag,
    rebuild: values.rebuild,
    log: line => {
      console.log(line);
    },
  });
  console.log(`image:  ${built.image}`);
  console.log(`digest: ${built.digest}`);
  console.log(`size:   ${megabytes(built.bytes)} compressed (${String(built.bytes)} bytes)`);
  return 0;
}

const isEntryPoint =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isEntryPoint) {
  try {
    process.exitCode = await cli(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
