/**
 * What `up` started, written as it goes so that `down` can undo a partial start too, and what the
 * e2e backend reads to find the cluster (ClusterInfo, under the checkout's .tmp/cluster/).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as L from "./layout.ts";
import type { Daemon } from "./proc.ts";
import * as T from "./topology.ts";

export interface State {
  checkout: string;
  bin: string;
  startedAt: string;
  daemons: Daemon[];
}

export function readState(): State | undefined {
  if (!existsSync(L.STATE)) return undefined;
  try {
    return JSON.parse(readFileSync(L.STATE, "utf8")) as State;
  } catch {
    return undefined;
  }
}

export function writeState(state: State): void {
  mkdirSync(dirname(L.STATE), { recursive: true });
  writeFileSync(L.STATE, `${JSON.stringify(state, null, 2)}\n`);
}

/** How tests and users reach the cluster from this machine. */
export interface ClusterInfo {
  kubeconfig: string;
  kubectl: string;
  serverVersion: string;
  registry: {
    push: string;
    pull: string;
    garbageCollect: string[];
    /** The registry behind htpasswd, and its credentials. */
    private: typeof T.PRIVATE_REGISTRY;
  };
  postgres: typeof T.POSTGRES;
  nodeName: string;
  /** The API server's audit log on this machine (JSON lines, level Metadata). */
  auditLog: string;
}

export function writeInfo(info: ClusterInfo): void {
  mkdirSync(L.OUT, { recursive: true });
  writeFileSync(L.INFO, `${JSON.stringify(info, null, 2)}\n`);
}

export function readInfo(path = L.INFO): ClusterInfo | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as ClusterInfo;
}
