/**
 * The real kubectl (v1.32, /usr/bin/kubectl) against one started simulator per test file: the
 * sim's kubeconfig in a temp file and a KUBECACHEDIR of the file's own, so discovery caches never
 * leak between files (docs/KUBE-SIM.md, "kubectl on the wire"). Also what the kubectl tests share
 * on it: a simulator per describe() block, `kubectl create deployment`, an apps/v1 workload
 * manifest, its ControllerRevisions and live pods' images, and reading its output.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim, StartSimOptions } from "../../../src/sim/index.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { PODS } from "../../kit/index.ts";

export const KUBECTL = "/usr/bin/kubectl";
export const HAS_KUBECTL = existsSync(KUBECTL);
/**
 * vi.waitFor options for states the controllers reach on the scaled clock: generous, because a
 * loaded machine (the whole suite on two cores) stretches real time, never the simulated order.
 */
export const WAIT = { timeout: 15_000, interval: 20 };
/** The describe() title used when kubectl is absent, so the skip names its reason. */
export const NEEDS_KUBECTL = "(skipped: needs the real kubectl at /usr/bin/kubectl)";

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; 0 on success. */
  code: number;
}

export interface KubectlSim {
  readonly sim: Sim;
  readonly dir: string;
  /** Runs kubectl and resolves with its stdout; rejects with stderr on a non-zero exit. */
  kubectl(...args: string[]): Promise<string>;
  /** Runs kubectl and resolves with stdout, stderr and the exit code, whatever it is. */
  run(...args: string[]): Promise<KubectlResult>;
  /** Writes a file into the temp directory and returns its path. */
  file(name: string, content: string): Promise<string>;
  /**
   * Starts a long-running kubectl (e.g. `get -w`), resolves with its stdout once `until` holds
   * for it, then stops that kubectl.
   */
  watch(args: string[], until: (stdout: string) => boolean, timeoutMs?: number): WatchHandle;
  close(): Promise<void>;
}

export interface WatchHandle {
  /** Resolves once kubectl has written its first byte (it has listed and is watching). */
  readonly started: Promise<void>;
  readonly done: Promise<string>;
}

export async function startKubectlSim(options: StartSimOptions = {}): Promise<KubectlSim> {
  const sim = await startSim({ timeScale: 1000, ...options });
  const dir = await mkdtemp(join(tmpdir(), "sim-kubectl-"));
  await sim.writeKubeconfig(join(dir, "config"));
  const env = { ...process.env, KUBECONFIG: join(dir, "config"), KUBECACHEDIR: join(dir, "cache") };

  const run = (...args: string[]): Promise<KubectlResult> =>
    new Promise(resolve => {
      execFile(KUBECTL, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ stdout, stderr, code });
      });
    });

  return {
    sim,
    dir,
    run,
    async kubectl(...args) {
      const r = await run(...args);
      if (r.code !== 0) {
        throw new Error(`kubectl ${args.join(" ")} exited ${String(r.code)}: ${r.stderr}`);
      }
      return r.stdout;
    },
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    watch(args, until, timeoutMs = 20_000) {
      const child = spawn(KUBECTL, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      let markStarted: () => void = () => undefined;
      const started = new Promise<void>(resolve => {
        markStarted = resolve;
      });
      const done = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill();
          reject(
            new Error(`kubectl ${args.join(" ")} never printed what was awaited:\n${out}${err}`),
          );
        }, timeoutMs);
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          markStarted();
          if (until(out)) {
            clearTimeout(timer);
            child.kill();
            resolve(out);
          }
        });
        child.stderr.on("data", (chunk: Buffer) => {
          err += chunk.toString();
        });
        child.on("exit", () => {
          clearTimeout(timer);
          if (until(out)) resolve(out);
          else reject(new Error(`kubectl ${args.join(" ")} exited early:\n${out}${err}`));
        });
      });
      return { started, done };
    },
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A simulator for the tests of the describe() block this is called in: started before them
 * (beforeAll) and closed after them (afterAll). The handle reaches that simulator once started.
 */
export function kubectlSimForBlock(options: StartSimOptions = {}): KubectlSim {
  let started: KubectlSim | undefined;
  beforeAll(async () => {
    started = await startKubectlSim(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = (): KubectlSim => {
    if (started === undefined) throw new Error("the kubectl simulator has not started");
    return started;
  };
  return {
    get sim() {
      return current().sim;
    },
    get dir() {
      return current().dir;
    },
    kubectl: (...args) => current().kubectl(...args),
    run: (...args) => current().run(...args),
    file: (name, content) => current().file(name, content),
    watch: (args, until, timeoutMs) => current().watch(args, until, timeoutMs),
    close: () => current().close(),
  };
}

/** kubectlSimForBlock, its world with `tags` of `repo` pushed (pulled and ready at once). */
export function kubectlSimWithImages(repo: string, tags: readonly string[]): KubectlSim {
  const k = kubectlSimForBlock();
  beforeAll(() => {
    for (const tag of tags) k.sim.world.images.push(repo, tag, {});
  });
  return k;
}

/**
 * An apps/v1 workload of `of.kind` as JSON for `kubectl create -f`: one container app running
 * `of.image`, `of.base` (the kind's fields) first in its spec and `spec` over all.
 */
export function appsManifest(
  of: { kind: string; image: string; base?: Record<string, unknown> },
  ns: string,
  name: string,
  spec: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: of.kind,
    metadata: { name, namespace: ns },
    spec: {
      ...of.base,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: of.image }] },
      },
      ...spec,
    },
  });
}

const REVISIONS = { group: "apps", version: "v1", resource: "controllerrevisions" };

/** ControllerRevision name -> revision number, in namespace `ns`. */
export function revisionNumbers(k: KubectlSim, ns: string): Record<string, number> {
  return Object.fromEntries(
    k.sim.store
      .list(REVISIONS, { namespace: ns })
      .items.map((r): [string, number] => [r.metadata.name ?? "", r["revision"] as number]),
  );
}

/** [pod name, first container's image] of the live (not terminating) pods in `ns` that `keep` keeps. */
export function liveImages(
  k: KubectlSim,
  ns: string,
  keep: (pod: KubeObject) => boolean = () => true,
): [string, string][] {
  return k.sim.store
    .list(PODS, { namespace: ns })
    .items.filter(p => keep(p) && p.metadata.deletionTimestamp === undefined)
    .map((p): [string, string] => [
      p.metadata.name ?? "",
      (p["spec"] as { containers: { image: string }[] }).containers[0]?.image ?? "",
    ]);
}

/** `kubectl create deployment <name> --image=<image> --replicas=<replicas> -n <ns>`; resolves with its stdout. */
export function createDeployment(
  k: KubectlSim,
  ns: string,
  name: string,
  image: string,
  replicas: number,
): Promise<string> {
  return k.kubectl(
    "create",
    "deployment",
    name,
    `--image=${image}`,
    `--replicas=${String(replicas)}`,
    "-n",
    ns,
  );
}

/** Lines of kubectl output with trailing blanks removed. */
export function lines(out: string): string[] {
  return out
    .split("\n")
    .map(l => l.trimEnd())
    .filter(l => l !== "");
}

/** Splits a table row printed by kubectl's tabwriter (columns separated by 2+ spaces). */
export function columns(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}
