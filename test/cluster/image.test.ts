/**
 * The operator image's parts that need no build: the bases' entries (the runtime base holds no
 * shell, node at /nodejs/bin/node with the loader, nonroot 65532), the layer cache, references,
 * buildah's argv and the Dockerfile's shape; as root, each base's tree run in a chroot (node as
 * 65532 with no shell beside it; npm and npx through busybox's env); with buildah, a scratch
 * image built with the flags the real build passes. The full build is `npm run test:cluster`'s.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUSYBOX,
  busyboxEntries,
  TAR_MTIME,
  withParents,
  type TarEntry,
} from "../../e2e/backends/oci-image.ts";
import * as I from "../../e2e/cluster/image.ts";
import { CHECKOUT } from "../../e2e/cluster/layout.ts";
import { PULL_REGISTRY, PUSH_REGISTRY } from "../../e2e/cluster/topology.ts";

const exec = promisify(execFile);
const text = (entry: TarEntry | undefined): string =>
  entry?.type === "file" ? new TextDecoder().decode(entry.content) : "";
const byPath = (entries: readonly TarEntry[]): Map<string, TarEntry> =>
  new Map(withParents(entries).map(e => [e.path, e]));

/** Where a symlink in the image points, as an absolute path in the image. */
const resolveLink = (entry: Extract<TarEntry, { type: "symlink" }>): string =>
  posix.isAbsolute(entry.target)
    ? entry.target.replace(/^\/+/, "")
    : posix.join(posix.dirname(entry.path), entry.target);

/** The image paths whose symlinks point at nothing in `entries`. */
function danglingLinks(entries: readonly TarEntry[]): string[] {
  const all = byPath(entries);
  return [...all.values()]
    .filter((e): e is Extract<TarEntry, { type: "symlink" }> => e.type === "symlink")
    .filter(e => !all.has(resolveLink(e)))
    .map(e => `${e.path} -> ${e.target}`);
}

/** Writes entries as a root filesystem under `root` (parents first), as a layer would unpack. */
async function writeTree(entries: readonly TarEntry[], root: string): Promise<void> {
  for (const entry of withParents(entries)) {
    const path = join(root, entry.path);
    await mkdir(dirname(path), { recursive: true });
    if (entry.type === "directory") {
      await mkdir(path, { recursive: true });
      await chmod(path, entry.mode);
    } else if (entry.type === "symlink") await symlink(entry.target, path);
    else {
      await writeFile(path, entry.content);
      await chmod(path, entry.mode);
    }
  }
}

const CHROOT = "/usr/sbin/chroot";
const CA = new Uint8Array(readFileSync(I.CA_BUNDLE));
const SHELLS = new Set(["sh", "bash", "dash", "ash", "busybox", "zsh"]);

describe("the runtime base", () => {
  let entries: TarEntry[] = [];
  beforeAll(async () => {
    entries = [...(await I.nodeEntries(await I.findNode())), ...I.runtimeEntries(CA)];
  });

  it("holds Node 24 at /nodejs/bin/node with the loader and libraries it links", async () => {
    const all = byPath(entries);
    const node = all.get("nodejs/bin/node");
    expect(node?.type === "file" && node.mode).toBe(0o755);
    expect(node?.type === "file" && [...node.content.slice(0, 4)]).toEqual([
      0x7f, 0x45, 0x4c, 0x46,
    ]);
    const { stdout } = await exec(await I.findNode(), ["--version"]);
    expect(stdout).toMatch(/^v24\./);
    expect([...all.keys()].some(p => /(^|\/)ld-linux[^/]*\.so\.\d+$/.test(p))).toBe(true);
    expect([...all.keys()].some(p => /(^|\/)libc\.so\.6$/.test(p))).toBe(true);
    expect(danglingLinks(entries)).toEqual([]);
  });

  it("has no shell and no busybox", () => {
    const names = [...byPath(entries).keys()];
    expect(names.filter(p => SHELLS.has(posix.basename(p)))).toEqual([]);
    expect(names.filter(p => p === "bin" || p.startsWith("bin/"))).toEqual([]);
  });

  it("has nonroot as 65532, a sticky /tmp and this machine's CA bundle", () => {
    const all = byPath(entries);
    expect(text(all.get("etc/passwd"))).toMatch(/^nonroot:x:65532:65532:/m);
    expect(text(all.get("etc/group"))).toMatch(/^nonroot:x:65532:$/m);
    expect(text(all.get("etc/passwd"))).not.toMatch(/\/bin\/(ba)?sh$/m);
    expect(all.get("tmp")).toMatchObject({ type: "directory", mode: 0o1777 });
    const ca = all.get("etc/ssl/certs/ca-certificates.crt");
    expect(ca?.type === "file" && Buffer.from(ca.content).equals(Buffer.from(CA))).toBe(true);
  });
});

describe("the build base", () => {
  let tools: TarEntry[] = [];
  let all: Map<string, TarEntry> = new Map();
  beforeAll(async () => {
    tools = [
      ...(await busyboxEntries()),
      ...(await I.nodeEntries(await I.findNode())),
      ...I.buildToolsEntries(await I.directoryEntries(I.HOST_NPM, I.IMAGE_NPM), CA),
    ];
    all = byPath(tools);
  });

  it("puts node, npm and npx on PATH and busybox's env where npm's shebang looks", () => {
    expect(all.get("usr/local/bin/node")).toMatchObject({ target: "/nodejs/bin/node" });
    for (const [command, cli] of [
      ["npm", "npm-cli.js"],
      ["npx", "npx-cli.js"],
    ] as const) {
      const link = all.get(`usr/local/bin/${command}`);
      expect(link?.type).toBe("symlink");
      const target = link?.type === "symlink" ? resolveLink(link) : "";
      expect(target).toBe(`usr/local/lib/node_modules/npm/bin/${cli}`);
      const script = all.get(target);
      expect(text(script).split("\n")[0]).toBe("#!/usr/bin/env node");
      expect(script?.type === "file" && script.mode & 0o111).toBeTruthy();
    }
    expect(all.get("usr/bin/env")).toMatchObject({ target: BUSYBOX });
    expect(all.get("bin/sh")).toMatchObject({ type: "symlink", target: "busybox" });
    expect(I.BUILD_ENV).toContain("NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt");
  });

  it("copies npm's package whole: its package.json, modules and their relative links", () => {
    const manifest = JSON.parse(text(all.get("usr/local/lib/node_modules/npm/package.json"))) as {
      name: string;
      version: string;
    };
    const host = JSON.parse(readFileSync(join(I.HOST_NPM, "package.json"), "utf8")) as {
      version: string;
    };
    expect(manifest).toMatchObject({ name: "npm", version: host.version });
    expect(all.has("usr/local/lib/node_modules/npm/node_modules/semver/package.json")).toBe(true);
    expect(danglingLinks(tools)).toEqual([]);
  });
});

describe("the layer cache, references and buildah's argv", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rbd-layers-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps a layer under its tar's digest and rebuilds a damaged one", async () => {
    const entries: TarEntry[] = [
      { type: "file", path: "etc/hello", mode: 0o644, content: new TextEncoder().encode("hi\n") },
    ];
    const first = await I.cachedLayer(entries, dir);
    const second = await I.cachedLayer(entries, dir);
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.layer.digest).toBe(first.layer.digest);
    const file = join(dir, `${first.layer.diffId.slice("sha256:".length)}.tar.gz`);
    expect((await readFile(file)).length).toBe(first.layer.size);
    await writeFile(file, "not a gzip");
    const third = await I.cachedLayer(entries, dir);
    expect(third).toMatchObject({ cached: false, layer: { digest: first.layer.digest } });
  });

  it("keys a build by what the Dockerfile copies from the context, not by what stages copy", async () => {
    expect(
      I.contextSources(
        [
          "FROM x AS a",
          "COPY package.json package-lock.json ./",
          "COPY --chown=1:1 src/ ./src",
          'COPY ["crds", "/crds"]',
          "COPY --from=a /src/dist ./dist",
          "ADD a \\",
          "  b /c",
          "",
        ].join("\n"),
      ),
    ).toEqual(["a", "b", "crds", "package-lock.json", "package.json", "src"]);
    expect(I.contextSources(readFileSync(join(CHECKOUT, "Dockerfile"), "utf8"))).toEqual([
      "crds",
      "package-lock.json",
      "package.json",
      "src",
      "tsconfig.build.json",
      "tsconfig.json",
    ]);
    const context = join(dir, "context");
    await mkdir(join(context, "src"), { recursive: true });
    await writeFile(join(context, "Dockerfile"), "FROM x\nCOPY src ./src\n");
    await writeFile(join(context, "src", "a.ts"), "a");
    await writeFile(join(context, "unread.txt"), "1");
    const key = () =>
      I.inputKey({
        context,
        dockerfile: join(context, "Dockerfile"),
        args: ["bud", "--build-arg", "B=x@sha256:1"],
        buildahVersion: "buildah version 1.28.2",
      });
    const first = await key();
    expect(await key()).toBe(first);
    await writeFile(join(context, "unread.txt"), "2");
    expect(await key()).toBe(first);
    await writeFile(join(context, "src", "a.ts"), "b");
    const second = await key();
    expect(second).not.toBe(first);
    await chmod(join(context, "src", "a.ts"), 0o755);
    expect(await key()).not.toBe(second);
  });

  it("names the test cluster's registry as the node pulls from it", () => {
    expect(I.registryOf(`http://${PUSH_REGISTRY}/`)).toEqual({
      url: `http://${PUSH_REGISTRY}`,
      host: PUSH_REGISTRY,
      tlsVerify: false,
    });
    expect(I.registryOf("https://registry.example:8443").tlsVerify).toBe(true);
    expect(() => I.registryOf("http://127.0.0.1:5000/v2")).toThrow(/not http/);
    expect(() => I.registryOf("ftp://127.0.0.1")).toThrow(/not http/);
    expect(I.pullHost(PUSH_REGISTRY)).toBe(PULL_REGISTRY);
    expect(I.pullHost("127.0.0.1:41234")).toBe("127.0.0.1:41234");
  });

  it("keeps the cache outside the checkout unless told otherwise", () => {
    expect(I.imageCache({ ROLLBACK_DRILL_IMAGE_CACHE: "/x" })).toBe("/x");
    expect(I.imageCache({ XDG_CACHE_HOME: "/c" })).toBe("/c/rollback-drill/images");
    expect(I.buildahStore({ ROLLBACK_DRILL_IMAGE_CACHE: "/x" }).root).toBe("/x/buildah");
  });

  it("builds with vfs and chroot isolation, the bases as build arguments, insecure for http", () => {
    const args = I.budArgs({
      store: { root: "/s", runroot: "/r" },
      context: "/ctx",
      dockerfile: "/ctx/Dockerfile",
      name: `${PUSH_REGISTRY}/rollback-drill/operator:dev`,
      buildArgs: { BUILD_BASE: "b@sha256:1", RUNTIME_BASE: "r@sha256:2" },
      tlsVerify: false,
      iidfile: "/t/iid",
    });
    expect(args.slice(0, 7)).toEqual([
      "--root",
      "/s",
      "--runroot",
      "/r",
      "--storage-driver",
      "vfs",
      "bud",
    ]);
    expect(args.join(" ")).toContain("--isolation chroot --layers --force-rm --tls-verify=false");
    expect(args.join(" ")).toContain(
      "--build-arg BUILD_BASE=b@sha256:1 --build-arg RUNTIME_BASE=r@sha256:2",
    );
    expect(args.at(-1)).toBe("/ctx");
    expect(
      I.pushArgs({
        store: { root: "/s", runroot: "/r" },
        name: "n",
        destination: "h/p:t",
        tlsVerify: true,
        digestfile: "/d",
      }).slice(6),
    ).toEqual(["push", "--tls-verify=true", "--digestfile", "/d", "n", "docker://h/p:t"]);
  });
});

describe("the Dockerfile", () => {
  const dockerfile = readFileSync(join(CHECKOUT, "Dockerfile"), "utf8");
  const instructions = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map(l => l.trim())
    .filter(l => l !== "" && !l.startsWith("#"));

  it("takes the bases as build arguments, public ones by default", () => {
    const firstFrom = instructions.findIndex(l => l.startsWith("FROM "));
    expect(instructions.slice(0, firstFrom)).toEqual([
      "ARG BUILD_BASE=node:24-bookworm-slim",
      "ARG RUNTIME_BASE=gcr.io/distroless/nodejs24-debian12:nonroot",
    ]);
    const froms = instructions.filter(l => l.startsWith("FROM "));
    expect(froms.slice(0, -1)).toEqual([
      "FROM ${BUILD_BASE} AS build",
      "FROM ${BUILD_BASE} AS deps",
    ]);
    expect(froms.at(-1)).toBe("FROM ${RUNTIME_BASE}");
  });

  it("ships production dependencies and no simulator, as 65532 with node as the entrypoint", () => {
    expect(instructions).toContain("RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund");
    expect(dockerfile).toMatch(/rm -rf dist\/sim /);
    const final = instructions.slice(instructions.lastIndexOf("FROM ${RUNTIME_BASE}"));
    expect(final).toContain("USER 65532:65532");
    expect(final).toContain('ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]');
    expect(final).toContain('CMD ["operator"]');
    // The version label comes last, so a new version reuses every layer above it.
    expect(final.slice(-2)).toEqual([
      "ARG VERSION=dev",
      "LABEL org.opencontainers.image.version=${VERSION}",
    ]);
    expect(final.filter(l => l.startsWith("RUN"))).toEqual([]);
  });

  it("builds from a context of only what it copies", () => {
    const ignore = readFileSync(join(CHECKOUT, ".dockerignore"), "utf8")
      .split("\n")
      .filter(l => l !== "" && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    expect(ignore).not.toContain("!node_modules");
  });
});

const rootSkip = [
  ...(existsSync(CHROOT) ? [] : [`missing ${CHROOT}`]),
  ...(process.getuid?.() === 0 ? [] : ["needs root (chroot)"]),
].join("; ");
describe.skipIf(rootSkip !== "")(
  `the bases' trees in a chroot${rootSkip ? ` (skipped: ${rootSkip})` : ""}`,
  () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "rbd-bases-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const env = (list: readonly string[]): Record<string, string> =>
      Object.fromEntries(
        list.map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );

    it("the runtime base runs node as nonroot, with nothing to start a shell with", async () => {
      const root = join(dir, "runtime");
      await writeTree(
        [...(await I.nodeEntries(await I.findNode())), ...I.runtimeEntries(CA)],
        root,
      );
      const script =
        "const os = await import('node:os'); console.log(JSON.stringify([process.version, process.getuid(), os.userInfo().username]))";
      const { stdout } = await exec(
        CHROOT,
        ["--userspec=65532:65532", root, I.RUNTIME_NODE, "--input-type=module", "-e", script],
        { env: env(I.RUNTIME_ENV) },
      );
      const [version, uid, user] = JSON.parse(stdout) as [string, number, string];
      expect(version).toMatch(/^v24\./);
      expect([uid, user]).toEqual([65532, "nonroot"]);
      await expect(exec(CHROOT, [root, "/bin/sh", "-c", "true"])).rejects.toMatchObject({
        code: 127,
      });
    });

    it("the build base runs npm and npx (busybox's env finds /usr/local/bin/node)", async () => {
      const root = join(dir, "build");
      await writeTree(
        [
          ...(await busyboxEntries()),
          ...(await I.nodeEntries(await I.findNode())),
          ...I.buildToolsEntries(await I.directoryEntries(I.HOST_NPM, I.IMAGE_NPM), CA),
        ],
        root,
      );
      const { stdout } = await exec(
        CHROOT,
        [
          root,
          "/bin/sh",
          "-c",
          "npm --version && npx --version && command -v node && node -p process.version",
        ],
        { env: env(I.BUILD_ENV) },
      );
      const host = JSON.parse(readFileSync(join(I.HOST_NPM, "package.json"), "utf8")) as {
        version: string;
      };
      expect(stdout.trim().split("\n")).toEqual([
        host.version,
        host.version,
        I.BUILD_NODE,
        (await exec(await I.findNode(), ["--version"])).stdout.trim(),
      ]);
    });
  },
);

const buildSkip = I.missingForBuild().join(", ");
describe.skipIf(buildSkip !== "")(
  `buildah with the build's flags${buildSkip ? ` (skipped: needs ${buildSkip})` : ""}`,
  () => {
    it("builds a scratch image in its own vfs storage, clamped to TAR_MTIME, and leaves no container", async () => {
      const dir = await mkdtemp(join(tmpdir(), "rbd-buildah-"));
      const store = { root: join(dir, "storage"), runroot: join(dir, "run") };
      const global = ["--root", store.root, "--runroot", store.runroot, "--storage-driver", "vfs"];
      try {
        const context = join(dir, "context");
        await mkdir(context);
        await writeFile(join(context, "hello"), "hi\n");
        await writeFile(
          join(context, "Dockerfile"),
          [
            "ARG BASE=scratch",
            "FROM ${BASE}",
            "COPY hello /hello",
            "USER 65532:65532",
            'ENTRYPOINT ["/hello"]',
            "",
          ].join("\n"),
        );
        await exec(
          "buildah",
          I.budArgs({
            store,
            context,
            dockerfile: join(context, "Dockerfile"),
            name: "localhost/rbd-test:1",
            buildArgs: { BASE: "scratch" },
            tlsVerify: false,
            iidfile: join(dir, "iid"),
          }),
        );
        const { stdout } = await exec("buildah", [
          ...global,
          "inspect",
          "--type",
          "image",
          "localhost/rbd-test:1",
        ]);
        const inspected = JSON.parse(stdout) as {
          OCIv1: { created: string; config: { User: string; Entrypoint: string[] } };
        };
        expect(inspected.OCIv1.config).toMatchObject({
          User: "65532:65532",
          Entrypoint: ["/hello"],
        });
        expect(Date.parse(inspected.OCIv1.created) / 1000).toBe(TAR_MTIME);
        const containers = await exec("buildah", [...global, "containers", "--quiet"]);
        expect(containers.stdout.trim()).toBe("");
      } finally {
        await exec("buildah", [...global, "rmi", "--all", "--force"]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
