/**
 * Simulator fidelity, measured: the scripted workloads of e2e/fidelity/observations.ts run
 * through the same kubectl against the simulator and against the real cluster (e2e/cluster/), and
 * every observation is compared after normalising. The suite prints "N of M observations agree";
 * each disagreement must be named, with its reason, in the fidelity table (src/sim/FIDELITY.md),
 * and a named one that agrees again must leave the table. `npm run test:fidelity` (and
 * `npm run test:cluster`) runs it; elsewhere it is skipped by name with the reason.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim, type Sim } from "../src/sim/index.ts";
import { clusterBackend, clusterMode } from "./backends/cluster.ts";
import { readInfo } from "./cluster/state.ts";
import {
  NOT_COMPARED,
  SCRIPTS,
  type Kubectl,
  type KubectlResult,
} from "./fidelity/observations.ts";

const ROOT = join(import.meta.dirname, "..");
const TABLE = join(ROOT, "src/sim/FIDELITY.md");
const mode = clusterMode(process.env);
const availability = await clusterBackend({ mode, operator: "in-process" }).available();

function kubectlFor(binary: string, kubeconfig: string, cacheDir: string): Kubectl {
  return (args, stdin) =>
    new Promise<KubectlResult>(resolve => {
      const child = execFile(
        binary,
        ["--kubeconfig", kubeconfig, ...args],
        { env: { ...process.env, KUBECACHEDIR: cacheDir }, timeout: 90_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(stdin ?? "");
    });
}

/** The observations each disagreement is named under in the table: `script / observation`. */
export function namedInTable(markdown: string): string[] {
  const named: string[] = [];
  for (const line of markdown.split("\n")) {
    const m = /^\|\s*`([^`]+ \/ [^`]+)`\s*\|/.exec(line);
    if (m?.[1] !== undefined) named.push(m[1]);
  }
  return named.sort();
}

type Results = Record<string, string>;

async function runAll(k: Kubectl): Promise<Results> {
  const out: Results = {};
  await k(["apply", "-f", join(ROOT, "crds")]);
  await k([
    "wait",
    "--for=condition=Established",
    "crd/rollbackdrills.rollbackdrill.io",
    "--timeout=60s",
  ]);
  for (const script of SCRIPTS) {
    await k(["delete", "namespace", script.namespace, "--ignore-not-found", "--timeout=90s"]);
    await k(["create", "namespace", script.namespace]);
    const seen: Record<string, string> = {};
    try {
      await script.run(k, script.namespace, seen);
      out[`${script.name} / (the script ran to its end)`] = "yes";
    } catch (error) {
      // One script stopping (a state never reached) is itself an observation; the others run.
      out[`${script.name} / (the script ran to its end)`] =
        `no: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      for (const [name, value] of Object.entries(seen)) out[`${script.name} / ${name}`] = value;
      await k(["delete", "namespace", script.namespace, "--wait=false"]);
    }
  }
  return out;
}

describe.skipIf(!availability.ok)(
  `simulator fidelity against the real cluster${availability.ok ? "" : ` (skipped: ${availability.reason})`}`,
  () => {
    let sim: Sim | undefined;
    let simResults: Results = {};
    let realResults: Results = {};

    beforeAll(async () => {
      const info = readInfo();
      if (info === undefined) throw new Error("no cluster is up: run `npm run cluster:up`");
      const dir = mkdtempSync(join(tmpdir(), "rbd-fidelity-"));
      sim = await startSim({ timeScale: 1 });
      await sim.writeKubeconfig(join(dir, "sim-config"));
      simResults = await runAll(kubectlFor(info.kubectl, join(dir, "sim-config"), join(dir, "c1")));
      realResults = await runAll(kubectlFor(info.kubectl, info.kubeconfig, join(dir, "c2")));
    }, 900_000);

    afterAll(async () => {
      await sim?.close();
    });

    it("every observation agrees, or is named in src/sim/FIDELITY.md with its reason", () => {
      const keys = [...new Set([...Object.keys(simResults), ...Object.keys(realResults)])].sort();
      const differing = keys.filter(k => simResults[k] !== realResults[k]);
      const report = differing
        .map(
          k =>
            `--- ${k}\n  simulator:\n${indent(simResults[k] ?? "(none)")}\n  real cluster:\n${indent(realResults[k] ?? "(none)")}`,
        )
        .join("\n");
      mkdirSync(join(ROOT, ".tmp"), { recursive: true });
      writeFileSync(
        join(ROOT, ".tmp/fidelity.json"),
        JSON.stringify({ simulator: simResults, real: realResults, differing }, null, 1),
      );
      console.log(
        `fidelity: ${String(keys.length - differing.length)} of ${String(keys.length)} observations agree` +
          ` (not compared: ${String(NOT_COMPARED.length)}, see src/sim/FIDELITY.md)\n${report}`,
      );
      expect(keys.length, "observations made").toBeGreaterThan(40);
      expect(differing, "disagreements not named in src/sim/FIDELITY.md").toEqual(
        differing.filter(k => namedInTable(readFileSync(TABLE, "utf8")).includes(k)),
      );
      expect(
        namedInTable(readFileSync(TABLE, "utf8")).filter(k => !differing.includes(k)),
        "named in the table but agreeing now: remove them",
      ).toEqual([]);
    });
  },
);

const indent = (text: string): string =>
  text
    .split("\n")
    .map(l => `    ${l}`)
    .join("\n");
