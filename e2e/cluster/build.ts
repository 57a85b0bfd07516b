/**
 * Builds the cluster's programs from the wrapper module in one `go build` (shared compile work),
 * with the version stamped as Kubernetes' own build does (hack/lib/version.sh), into a cache
 * outside the checkout keyed by the versions, go.mod, go.sum and the flags, so later runs on the
 * same machine reuse them. Prints progress while it compiles and how long a cold build took.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { run } from "./proc.ts";
import { ETCD_VERSION, KUBERNETES_VERSION, PROGRAMS, type Program } from "./versions.ts";

export const MODULE_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The -X flags Kubernetes' build sets, on both packages that report a version. */
export function versionLdflags(version: string, buildDate: string): string[] {
  const match = /^v(\d+)\.(\d+)\.\d+/.exec(version);
  if (match === null) throw new Error(`not a Kubernetes version: ${version}`);
  const values = {
    gitVersion: version,
    gitMajor: match[1] ?? "",
    gitMinor: match[2] ?? "",
    gitTreeState: "clean",
    buildDate,
  };
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap(pkg =>
    Object.entries(values).map(([k, v]) => `-X ${pkg}.${k}=${v}`),
  );
}

export const cacheRoot = (env: Readonly<Record<string, string | undefined>>): string =>
  env["ROLLBACK_DRILL_CLUSTER_CACHE"] ??
  join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "rollback-drill", "cluster-bin");

export interface BinDir {
  dir: string;
  path(program: Program): string;
}

const binDir = (dir: string): BinDir => ({ dir, path: p => join(dir, p) });

interface BuildRecord {
  kubernetes: string;
  etcd: string;
  go: string;
  seconds: number;
  builtAt: string;
}

/** The release's commit time, as the module proxy records it: the build date, reproducibly. */
async function releaseTime(): Promise<string> {
  const { stdout } = await run(
    "go",
    ["mod", "download", "-json", `k8s.io/kubernetes@${KUBERNETES_VERSION}`],
    {
      cwd: MODULE_DIR,
    },
  );
  const info = JSON.parse(stdout) as { Info?: string };
  if (info.Info === undefined)
    throw new Error("go mod download gave no .info for k8s.io/kubernetes");
  const { Time } = JSON.parse(readFileSync(info.Info, "utf8")) as { Time: string };
  return Time.replace(/\.\d+Z$/, "Z");
}

function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${String(m)} min ${String(s)} s` : `${String(s)} s`;
}

/** Counts the packages a build compiles, for progress (go build -v names each as it builds it). */
async function packageCount(packages: string[]): Promise<number> {
  const { stdout } = await run("go", ["list", "-deps", ...packages], { cwd: MODULE_DIR });
  return stdout.trim().split("\n").length;
}

function goBuild(args: string[], total: number, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("go", args, {
      cwd: MODULE_DIR,
      env: { ...process.env, CGO_ENABLED: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let built = 0;
    let lastShown = 0;
    const errors: string[] = [];
    const started = Date.now();
    createInterface({ input: child.stderr }).on("line", line => {
      // -v prints each package's path as it is built; anything else is a diagnostic.
      if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line)) {
        built++;
        if (Date.now() - lastShown > 30_000 || built === total) {
          lastShown = Date.now();
          const pct = Math.min(100, Math.round((100 * built) / total));
          log(
            `  compiling: ${String(built)}/${String(total)} packages (${String(pct)}%), ${formatDuration((Date.now() - started) / 1000)}`,
          );
        }
      } else errors.push(line);
    });
    child.stdout.resume();
    child.on("error", reject);
    child.on("exit", code => {
      if (code === 0) resolve();
      else reject(new Error(`go build exited ${String(code)}:\n${errors.slice(-30).join("\n")}`));
    });
  });
}

/**
 * The directory holding every program, built now if the cache has none for this key. A partial
 * build never counts: binaries land in a temporary directory that is renamed when all are there.
 */
export async function ensureBinaries(
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): Promise<BinDir> {
  const goVersion = (await run("go", ["env", "GOVERSION"])).stdout.trim();
  const buildDate = await releaseTime();
  const ldflags = ["-s", "-w", ...versionLdflags(KUBERNETES_VERSION, buildDate)].join(" ");
  const key = createHash("sha256")
    .update(readFileSync(join(MODULE_DIR, "go.mod")))
    .update(readFileSync(join(MODULE_DIR, "go.sum")))
    .update(`${ldflags}\n${goVersion}\n${process.arch}`)
    .digest("hex")
    .slice(0, 16);
  const dir = join(cacheRoot(env), `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}-${key}`);
  const programs = Object.keys(PROGRAMS) as Program[];
  if (existsSync(join(dir, "build.json")) && programs.every(p => existsSync(join(dir, p)))) {
    const record = JSON.parse(readFileSync(join(dir, "build.json"), "utf8")) as BuildRecord;
    log(
      `binaries: cached in ${dir} (Kubernetes ${record.kubernetes}, etcd ${record.etcd}; the cold build took ${formatDuration(record.seconds)})`,
    );
    return binDir(dir);
  }
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const packages = Object.values(PROGRAMS);
  log(
    `binaries: building Kubernetes ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} with ${goVersion} into ${dir} (a cold build takes tens of minutes on 2 cores; the cache makes later runs instant)`,
  );
  log("  downloading modules ...");
  await run("go", ["mod", "download"], { cwd: MODULE_DIR });
  const total = await packageCount(packages);
  const started = Date.now();
  await goBuild(
    ["build", "-v", "-trimpath", "-ldflags", ldflags, "-o", `${staging}/`, ...packages],
    total,
    log,
  );
  // etcd's main package is the module root go.etcd.io/etcd/server/v3: go names its binary "server".
  renameSync(join(staging, "server"), join(staging, "etcd"));
  const seconds = (Date.now() - started) / 1000;
  const record: BuildRecord = {
    kubernetes: KUBERNETES_VERSION,
    etcd: ETCD_VERSION,
    go: goVersion,
    seconds,
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(staging, "build.json"), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`binaries: built in ${formatDuration(seconds)}`);
  return binDir(dir);
}
