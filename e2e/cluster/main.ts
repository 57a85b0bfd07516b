/**
 * The real test cluster's commands:
 *   npm run cluster:up       build (cached) and start a single-node Kubernetes
 *   npm run cluster:down     stop it and remove everything it left
 *   npm run cluster:status   what runs, what answers, what is left over
 *   npm run cluster:kubectl -- ARGS   the built kubectl on the admin kubeconfig
 *   npm run cluster:install  build the operator's image and `kubectl apply -k` it (TAG: default dev)
 *   npm run cluster:uninstall  delete the drills, then the operator, then the CRD
 *   npm run cluster:gomod    regenerate go.mod from Kubernetes' own (--check: report drift)
 * A failure prints the component, its last log lines and what to try, and exits 1; a missing
 * prerequisite (root, Linux, Go) exits 2.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries, MODULE_DIR } from "./build.ts";
import { down } from "./down.ts";
import { ownedParts, parseUpstream, renderGoMod } from "./gomod.ts";
import { run } from "./proc.ts";
import { install, uninstall } from "./install.ts";
import { readInfo } from "./state.ts";
import { status } from "./status.ts";
import { prerequisites, up } from "./up.ts";
import { KUBERNETES_VERSION } from "./versions.ts";

const USAGE = `usage: node e2e/cluster/main.ts <up|down|status|build|install [TAG]|uninstall|kubectl ARGS|gomod [--check]>`;
const log = (line: string): void => {
  console.log(line);
};

async function upstreamGoMod(): Promise<string> {
  const { stdout } = await run(
    "go",
    ["mod", "download", "-json", `k8s.io/kubernetes@${KUBERNETES_VERSION}`],
    {
      cwd: MODULE_DIR,
    },
  );
  const { GoMod } = JSON.parse(stdout) as { GoMod?: string };
  if (GoMod === undefined)
    throw new Error(`go mod download named no go.mod for k8s.io/kubernetes@${KUBERNETES_VERSION}`);
  return readFileSync(GoMod, "utf8");
}

async function gomod(check: boolean): Promise<number> {
  const want = renderGoMod(parseUpstream(await upstreamGoMod()));
  const path = join(MODULE_DIR, "go.mod");
  if (check) {
    const have = readFileSync(path, "utf8");
    if (ownedParts(have) === ownedParts(want)) {
      log("e2e/cluster/go.mod is up to date");
      return 0;
    }
    console.error(
      "e2e/cluster/go.mod differs from what `npm run cluster:gomod` generates: run it and commit the result",
    );
    return 1;
  }
  writeFileSync(path, want);
  await run("go", ["mod", "tidy"], { cwd: MODULE_DIR });
  log(`wrote e2e/cluster/go.mod and go.sum for Kubernetes ${KUBERNETES_VERSION}`);
  return 0;
}

/** The built kubectl (in the server's version skew) on the cluster's admin kubeconfig. */
async function kubectl(args: string[]): Promise<number> {
  const info = readInfo();
  if (info === undefined) {
    console.error("no cluster is up: run `npm run cluster:up`");
    return 2;
  }
  const child = spawn(info.kubectl, ["--kubeconfig", info.kubeconfig, ...args], {
    stdio: "inherit",
  });
  return new Promise(resolve => {
    child.on("exit", code => {
      resolve(code ?? 1);
    });
  });
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "gomod") return gomod(rest.includes("--check"));
  if (command === "status") return status(log);
  if (command === "kubectl") return kubectl(rest);
  if (command === "install") {
    await install(log, rest[0] ?? "dev");
    return 0;
  }
  if (command === "uninstall") {
    await uninstall(log);
    return 0;
  }
  if (command !== "up" && command !== "down" && command !== "build") {
    console.error(command === undefined ? USAGE : `unknown command ${command}\n${USAGE}`);
    return 2;
  }
  const pre = await prerequisites();
  if (!pre.ok) {
    console.error(`the real cluster needs ${pre.missing.join(", ")}`);
    return 2;
  }
  if (command === "build") await ensureBinaries(process.env, log);
  else if (command === "up") await up(process.env, log);
  else await down(log);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
