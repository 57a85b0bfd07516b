/**
 * startSim: the Kubernetes API simulator in one process: store, catalogue, HTTP server, watches,
 * audit log, fault injection and the simulated world, plus a kubeconfig to reach it.
 */
import { AuditLog } from "./audit.ts";
import { admit as admitObject, crdResourceInfos } from "./admission/index.ts";
import { withServiceAccountPullSecrets } from "./admission/service-account.ts";
import { createBootstrapPolicy, RequestAuth } from "./auth/index.ts";
import { SERVICE_ACCOUNTS } from "./auth/tokens.ts";
import { SIM_TLS_CERT, SIM_TLS_KEY } from "./auth/tls.ts";
import type { UnauthenticatedMode } from "./auth/index.ts";
import { createCatalogue, serveCrds } from "./catalogue.ts";
import { createClock } from "./clock.ts";
import { FaultInjector } from "./faults.ts";
import type { PodLogsFn } from "./http/resources.ts";
import { kubeconfigYaml, writeKubeconfig } from "./kubeconfig.ts";
import { createApiServer } from "./server.ts";
import type { OpenApiSource } from "./server.ts";
import { openapiV2, openapiV3Doc, openapiV3Root } from "./openapi.ts";
import { createStore } from "./store.ts";
import type { AdmitFn, SimStore } from "./store.ts";
import type { ResourceCatalogue, SimClock } from "./types.ts";
import { startWorld } from "./world.ts";
import type { World } from "./world.ts";

export interface StartSimOptions {
  /** Port to listen on; default 0 (ephemeral). */
  port?: number;
  host?: "127.0.0.1";
  /** Simulated milliseconds per real millisecond; default 1. */
  timeScale?: number;
  /** Node names for the simulated kubelet. */
  nodes?: string[];
  /** Seed for probabilistic faults; default 1. */
  faultSeed?: number;
  /** Real milliseconds between watch bookmarks; default 60,000. */
  bookmarkIntervalMs?: number;
  /** Events the watch log keeps; default 10,000. */
  retainEvents?: number;
  /** Pod logs (the world's kubelet provides them). */
  logs?: PodLogsFn;
  /** Admission (defaulting and validation); default src/sim/admission. */
  admit?: AdmitFn;
  /** OpenAPI documents; default src/sim/openapi.ts. */
  openapi?: OpenApiSource;
  /**
   * Who a request without a bearer token is: "admin" (default, so a bare fetch works in tests),
   * "anonymous" (system:anonymous, as --anonymous-auth=true) or "reject" (401).
   */
  unauthenticated?: UnauthenticatedMode;
}

export interface Sim {
  readonly url: string;
  /** The same API over HTTPS (certificate SIM_TLS_CERT): kubectl sends tokens only over TLS. */
  readonly tlsUrl: string;
  readonly kubeconfig: string;
  writeKubeconfig(path: string): Promise<void>;
  readonly store: SimStore;
  readonly catalogue: ResourceCatalogue;
  readonly clock: SimClock;
  readonly audit: AuditLog;
  readonly faults: FaultInjector;
  readonly world: World;
  /** Authentication (tokens) and RBAC of HTTP requests. */
  readonly auth: RequestAuth;
  /**
   * A kubeconfig that authenticates as a ServiceAccount, with a fresh token from its TokenRequest
   * subresource (404 if the ServiceAccount does not exist); default lifetime one simulated year.
   * It points at tlsUrl, since kubectl sends no bearer token over plain http.
   */
  kubeconfigFor(
    namespace: string,
    serviceAccount: string,
    expirationSeconds?: number,
  ): Promise<string>;
  close(): Promise<void>;
}

/** kubeconfigFor's default token lifetime: long enough for any run at a scaled clock. */
const SA_KUBECONFIG_SECONDS = 365 * 24 * 3600;

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** Starts the simulator; resolves once it is listening. */
export async function startSim(options: StartSimOptions = {}): Promise<Sim> {
  const clock = createClock(options.timeScale ?? 1);
  const catalogue = createCatalogue();
  const audit = new AuditLog({ clock });
  const store = createStore({
    clock,
    catalogue,
    audit,
    admit:
      options.admit ??
      withServiceAccountPullSecrets(admitObject, (namespace, name) =>
        store.get(SERVICE_ACCOUNTS, namespace, name),
      ),
    ...(options.retainEvents === undefined ? {} : { retainEvents: options.retainEvents }),
  });
  const system = {
    user: "system:apiserver",
    userAgent: "kube-apiserver/v1.32.4 (linux/amd64) kubernetes/sim",
    manager: "kube-apiserver",
  };
  for (const name of SYSTEM_NAMESPACES) {
    store.create(
      { group: "", version: "v1", resource: "namespaces" },
      { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      system,
    );
  }
  // The rbac post-start hook: cluster-admin for system:masters, discovery for everyone.
  createBootstrapPolicy(store, { ...system, groups: ["system:masters"] });
  const auth = new RequestAuth({
    store,
    clock,
    ...(options.unauthenticated === undefined ? {} : { unauthenticated: options.unauthenticated }),
  });
  const stopCrds = serveCrds(store, catalogue, crdResourceInfos, () =>
    clock
      .now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z"),
  );
  const faults = new FaultInjector(
    options.faultSeed === undefined ? {} : { seed: options.faultSeed },
  );
  faults.attach(store);
  const world = startWorld(store, clock, options.nodes ? { nodes: options.nodes } : {});
  const api = createApiServer({
    store,
    clock,
    audit,
    faults,
    logs:
      options.logs ??
      ((ns, pod, container, opts) => world.logs(ns, pod, container, { previous: opts.previous })),
    openapi: options.openapi ?? { v2: openapiV2, v3Root: openapiV3Root, v3Doc: openapiV3Doc },
    auth,
    ...(options.bookmarkIntervalMs === undefined
      ? {}
      : { bookmarkIntervalMs: options.bookmarkIntervalMs }),
  });
  const url = await api.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  const tlsUrl = await api.listenTls(0, options.host ?? "127.0.0.1", {
    cert: SIM_TLS_CERT,
    key: SIM_TLS_KEY,
  });
  const kubeconfig = kubeconfigYaml(url);
  let closed = false;
  return {
    url,
    tlsUrl,
    kubeconfig,
    writeKubeconfig: path => writeKubeconfig(path, url),
    store,
    catalogue,
    clock,
    audit,
    faults,
    world,
    auth,
    kubeconfigFor(namespace, serviceAccount, expirationSeconds = SA_KUBECONFIG_SECONDS) {
      try {
        const token = auth.issueToken(namespace, serviceAccount, expirationSeconds);
        const user = { name: `${namespace}-${serviceAccount}`, token };
        return Promise.resolve(kubeconfigYaml(tlsUrl, namespace, user, SIM_TLS_CERT));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      world.stop();
      stopCrds();
      faults.detach();
      await api.close();
      clock.dispose();
    },
  };
}
