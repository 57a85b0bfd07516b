/**
 * `cluster:install` / `cluster:uninstall`: the operator on the test cluster the way users install
 * it. The image is built from the Dockerfile without a Docker engine (image.ts) and pushed to the
 * cluster's registry; a kustomize overlay of config/ swaps only the image, as the README tells
 * users; `kubectl apply -k` of it; then it waits until the operator Deployment is Available.
 * Uninstalling deletes the drills first (their finalizers take the sandboxes), then everything
 * else, the CRD last.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { buildOperatorImage } from "./image.ts";
import * as L from "./layout.ts";
import { run } from "./proc.ts";
import { readInfo, type ClusterInfo } from "./state.ts";
import * as T from "./topology.ts";

type Log = (line: string) => void;

/** The image name config/manager/deployment.yaml uses; the overlay replaces it. */
export const UPSTREAM_IMAGE = "ghcr.io/rollback-drill/rollback-drill";
export const OPERATOR_NAMESPACE = "rollback-drill-system";
export const OPERATOR_DEPLOYMENT = "rollback-drill-operator";
export const OPERATOR_SERVICE_ACCOUNT = `system:serviceaccount:${OPERATOR_NAMESPACE}:rollback-drill-operator`;
export const OVERLAY = join(L.OUT, "overlay");

/**
 * An overlay of config/ that changes nothing but the image, as a user's would: pinned by digest,
 * so a rebuild under the same tag rolls the pods (a tag alone would leave them on the old build).
 */
export function overlayKustomization(image: { name: string; digest: string }): string {
  const config = relative(OVERLAY, join(L.CHECKOUT, "config"));
  return [
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    `  - ${config}`,
    "images:",
    `  - name: ${UPSTREAM_IMAGE}`,
    `    newName: ${image.name}`,
    `    digest: "${image.digest}"`,
    "",
  ].join("\n");
}

function clusterInfo(): ClusterInfo {
  const info = readInfo();
  if (info === undefined) throw new Error("no cluster is up: run `npm run cluster:up` first");
  return info;
}

const kubectl = (info: ClusterInfo, args: string[], input?: string) =>
  run(info.kubectl, ["--kubeconfig", info.kubeconfig, ...args], {
    timeoutMs: 300_000,
    ...(input === undefined ? {} : { input }),
  });

export interface Installed {
  image: string;
  digest: string;
  bytes: number;
  seconds: number;
}

/** Builds and pushes the image, applies the overlay and waits until the operator is Available. */
export async function install(log: Log, tag = "dev"): Promise<Installed> {
  const info = clusterInfo();
  const began = Date.now();
  const built = await buildOperatorImage({ registryUrl: `http://${T.PUSH_REGISTRY}`, tag, log });
  const at = built.image.lastIndexOf(":");
  mkdirSync(OVERLAY, { recursive: true });
  writeFileSync(
    join(OVERLAY, "kustomization.yaml"),
    overlayKustomization({ name: built.image.slice(0, at), digest: built.digest }),
  );
  log(
    `install: kubectl apply -k ${relative(L.CHECKOUT, OVERLAY)} (config/ with the image ${built.image})`,
  );
  await kubectl(info, ["apply", "-k", OVERLAY]);
  log("install: waiting until the operator Deployment is Available");
  await kubectl(info, [
    "-n",
    OPERATOR_NAMESPACE,
    "rollout",
    "status",
    `deployment/${OPERATOR_DEPLOYMENT}`,
    "--timeout=180s",
  ]);
  await kubectl(info, [
    "-n",
    OPERATOR_NAMESPACE,
    "wait",
    `deployment/${OPERATOR_DEPLOYMENT}`,
    "--for=condition=Available",
    "--timeout=60s",
  ]);
  const seconds = (Date.now() - began) / 1000;
  log(
    `install: the operator is Available (${seconds.toFixed(0)} s); image ${built.image}, ${(built.bytes / 1e6).toFixed(1)} MB`,
  );
  return { ...built, seconds };
}

/** The overlay's objects as kustomize renders them, split into the CRDs and everything else. */
async function rendered(info: ClusterInfo): Promise<{ crds: string; rest: string }> {
  const { stdout } = await kubectl(info, ["kustomize", OVERLAY]);
  const docs = parseAllDocuments(stdout).map(d => ({
    text: d.toString(),
    kind: (d.toJS() as { kind?: string } | null)?.kind,
  }));
  const join3 = (list: typeof docs) => list.map(d => d.text).join("---\n");
  return {
    crds: join3(docs.filter(d => d.kind === "CustomResourceDefinition")),
    rest: join3(docs.filter(d => d.kind !== "CustomResourceDefinition")),
  };
}

/**
 * Deletes every drill and waits until they are gone (the operator's finalizer deletes each
 * sandbox first), then the operator and its RBAC and policy, then the CRD.
 */
export async function uninstall(log: Log): Promise<void> {
  const info = clusterInfo();
  const crdThere =
    (
      await run(
        info.kubectl,
        ["--kubeconfig", info.kubeconfig, "get", "crd", "rollbackdrills.rollbackdrill.io"],
        { allowFail: true },
      )
    ).code === 0;
  if (crdThere) {
    log("uninstall: deleting every RollbackDrill (the operator removes their sandboxes first)");
    await kubectl(info, [
      "delete",
      "rollbackdrills",
      "--all",
      "--all-namespaces",
      "--wait=true",
      "--timeout=180s",
    ]);
  }
  const { crds, rest } = await rendered(info);
  log("uninstall: deleting the operator, its RBAC, the admission policy and the namespace");
  await kubectl(
    info,
    ["delete", "--ignore-not-found", "--wait=true", "--timeout=180s", "-f", "-"],
    rest,
  );
  log("uninstall: deleting the CRD");
  await kubectl(
    info,
    ["delete", "--ignore-not-found", "--wait=true", "--timeout=120s", "-f", "-"],
    crds,
  );
  log("uninstall: done");
}
