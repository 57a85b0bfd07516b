/** `cluster:status`: each component's process and health, the node, and anything left over. */
import { existsSync } from "node:fs";
import { leftovers } from "./down.ts";
import * as L from "./layout.ts";
import { guardInPlace } from "./network.ts";
import { alive, run } from "./proc.ts";
import { readInfo, readState } from "./state.ts";

export async function status(log: (line: string) => void): Promise<number> {
  const state = readState();
  if (state === undefined) {
    const left = await leftovers();
    log(
      left.length === 0
        ? "cluster: not running, nothing left over"
        : `cluster: not running; left over:\n  ${left.join("\n  ")}\nrun \`npm run cluster:down\``,
    );
    return left.length === 0 ? 3 : 1;
  }
  log(`cluster: started ${state.startedAt} from ${state.checkout}`);
  let down = 0;
  for (const d of state.daemons) {
    const up = alive(d.pid);
    if (!up) down++;
    log(
      `  ${d.name.padEnd(24)} ${up ? "running" : "NOT RUNNING"}  pid ${String(d.pid)}  log ${d.log}`,
    );
  }
  log(`  egress guard             ${(await guardInPlace()) ? "in place" : "MISSING"}`);
  const info = readInfo();
  if (info !== undefined && existsSync(info.kubectl)) {
    const nodes = await run(
      info.kubectl,
      ["--kubeconfig", L.KUBECONFIG, "get", "nodes", "-o", "wide"],
      { allowFail: true },
    );
    log(nodes.code === 0 ? nodes.stdout.trimEnd() : `  API server: ${nodes.stderr.trim()}`);
    log(`kubeconfig: ${L.KUBECONFIG}  (Kubernetes ${info.serverVersion})`);
  }
  return down === 0 ? 0 : 1;
}
