/**
 * Certificates and kubeconfigs, made by the built kubeadm's phases (no `kubeadm init`: we start
 * the components ourselves): the cluster CA, serving and client certificates, the service-account
 * key pair, and a kubeconfig for each component, the admin and kube-proxy.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BinDir } from "./build.ts";
import * as L from "./layout.ts";
import { run } from "./proc.ts";
import * as T from "./topology.ts";

export async function makePki(bin: BinDir): Promise<void> {
  mkdirSync(L.PKI, { recursive: true });
  mkdirSync(L.KUBECONFIGS, { recursive: true });
  const config = join(L.DATA, "kubeadm.yaml");
  const kubeadm = bin.path("kubeadm");
  await run(kubeadm, ["init", "phase", "certs", "all", "--config", config]);
  await run(kubeadm, [
    "init",
    "phase",
    "kubeconfig",
    "all",
    "--config",
    config,
    "--kubeconfig-dir",
    L.KUBECONFIGS,
  ]);
  const proxy = await run(kubeadm, [
    "kubeconfig",
    "user",
    "--config",
    config,
    "--client-name",
    "system:kube-proxy",
  ]);
  writeFileSync(join(L.KUBECONFIGS, "kube-proxy.conf"), proxy.stdout, { mode: 0o600 });
}

/** The admin kubeconfig for this machine: the same credentials, the server on the forwarder. */
export function writeAdminKubeconfig(): void {
  const admin = readFileSync(join(L.KUBECONFIGS, "admin.conf"), "utf8");
  const local = admin.replace(
    /server: https:\/\/[^\s]+/,
    `server: https://127.0.0.1:${String(T.HOST_PORTS.apiserver)}`,
  );
  mkdirSync(L.OUT, { recursive: true });
  writeFileSync(L.KUBECONFIG, local, { mode: 0o600 });
}
