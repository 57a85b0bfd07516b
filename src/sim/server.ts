/**
 * The simulator's HTTP server: /version, health, discovery (legacy and aggregated v2), OpenAPI,
 * and the resource endpoints, with faults applied to requests and every request audited.
 */
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AuditLog, AuditVerb } from "./audit.ts";
import type { RequestAuth } from "./auth/index.ts";
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from "./discovery.ts";
import type { FaultDecision, FaultInjector } from "./faults.ts";
import { serveResource } from "./http/resources.ts";
import type { PodLogsFn } from "./http/resources.ts";
import { sendError, sendJson, sendText } from "./http/respond.ts";
import { notFoundPath, resolveRoute, splitApiPath, verbOf } from "./http/route.ts";
import type { ResourceRoute } from "./http/route.ts";
import type { SimStore } from "./store.ts";
import type { Actor, ResourceCatalogue, SimClock } from "./types.ts";
import { WatchHub } from "./watch.ts";

/** What /version answers: a v1.32 apiserver. */
export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.4",
  gitCommit: "59526cd4867447956156ae3a602fcbac10a2c335",
  gitTreeState: "clean",
  buildDate: "2025-04-22T16:02:27Z",
  goVersion: "go1.23.6",
  compiler: "gc",
  platform: "linux/amd64",
};

/** The OpenAPI documents (src/sim/openapi.ts); absent parts are answered as a minimal apiserver would. */
export interface OpenApiSource {
  v3Root?(catalogue: ResourceCatalogue): object;
  v3Doc?(catalogue: ResourceCatalogue, groupVersion: string): object | undefined;
  v2?(): Uint8Array;
}

export interface ApiServerOptions {
  store: SimStore;
  clock: SimClock;
  audit: AuditLog;
  faults: FaultInjector;
  logs?: PodLogsFn;
  openapi?: OpenApiSource;
  /** Real milliseconds between watch bookmarks; default 60,000. */
  bookmarkIntervalMs?: number;
  /** Authentication and RBAC (src/sim/auth); without it every request acts as the admin. */
  auth?: RequestAuth;
}

export interface ApiServer {
  readonly server: Server;
  readonly hub: WatchHub;
  listen(port: number, host: string): Promise<string>;
  /** Also serves the same API over HTTPS (kubectl sends bearer tokens only over TLS). */
  listenTls(port: number, host: string, tls: { cert: string; key: string }): Promise<string>;
  close(): Promise<void>;
}

/** The identity of every request until RBAC arrives: the kubeadm admin. */
function requestActor(req: IncomingMessage): Actor {
  const actor: Actor = {
    user: "kubernetes-admin",
    groups: ["kubeadm:cluster-admins", "system:authenticated"],
  };
  const ua = req.headers["user-agent"];
  if (ua) actor.userAgent = ua;
  return actor;
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function serveOpenApi(res: ServerResponse, url: URL, options: ApiServerOptions): void {
  const { openapi } = options;
  const catalogue = options.store.resources;
  if (url.pathname === "/openapi/v2") {
    // An empty protobuf Document is valid: kubectl validates nothing client-side with it.
    sendText(
      res,
      200,
      openapi?.v2?.() ?? new Uint8Array(),
      "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    );
    return;
  }
  if (url.pathname === "/openapi/v3" && openapi?.v3Root) {
    sendJson(res, 200, openapi.v3Root(catalogue));
    return;
  }
  const gv = url.pathname.replace(/^\/openapi\/v3\//, "");
  const doc = openapi?.v3Doc?.(catalogue, gv);
  if (doc) sendJson(res, 200, doc);
  else throw notFoundPath();
}

/** Non-resource paths; returns false when the path is a resource path. */
function serveFixed(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: ApiServerOptions,
): boolean {
  const path = url.pathname.replace(/\/$/, "") || "/";
  const catalogue = options.store.resources;
  if (path === "/version") sendJson(res, 200, VERSION_INFO);
  else if (path === "/healthz" || path === "/readyz" || path === "/livez") sendText(res, 200, "ok");
  else if (path.startsWith("/openapi/")) serveOpenApi(res, url, options);
  else if (path === "/api" || path === "/apis") {
    const legacy = path === "/api";
    if (wantsAggregated(req.headers.accept)) {
      sendJson(res, 200, aggregatedDiscovery(catalogue, legacy), AGGREGATED_CONTENT_TYPE);
    } else if (legacy) sendJson(res, 200, apiVersions(req.headers.host ?? ""));
    else sendJson(res, 200, apiGroupList(catalogue));
  } else {
    const split = splitApiPath(path);
    if (!split) throw notFoundPath();
    if (split.rest.length > 0) return false;
    const list = apiResourceList(catalogue, split.group, split.version);
    if (!list) throw notFoundPath();
    sendJson(res, 200, list);
  }
  return true;
}

interface Handled {
  route?: ResourceRoute;
  verb?: string;
  /** Set once the request is authenticated and authorized. */
  actor?: Actor;
}

/** Creates the server (not yet listening). */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const hubOptions =
    options.bookmarkIntervalMs === undefined
      ? {}
      : { bookmarkIntervalMs: options.bookmarkIntervalMs };
  const hub = new WatchHub(options.store, hubOptions);
  const sockets = new Set<Socket>();
  const offRestart = options.faults.onRestart(compact => {
    hub.closeAll();
    if (compact) options.store.compact();
  });

  async function serveApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    handled: Handled,
  ): Promise<void> {
    const actor = handled.actor ?? requestActor(req);
    // TokenRequest and the access reviews are answered by the authorizer (src/sim/auth).
    if (options.auth && (await options.auth.serve(req, res, url, actor))) return;
    const split = splitApiPath(url.pathname);
    if (!split) throw notFoundPath();
    const route = resolveRoute(options.store.resources, split.group, split.version, split.rest);
    const watching =
      url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    const verb = verbOf(req.method ?? "GET", route, watching);
    handled.route = route;
    handled.verb = verb;
    const request = {
      verb,
      group: route.info.group,
      resource: route.info.resource,
      ...(route.namespace === undefined ? {} : { namespace: route.namespace }),
      ...(route.name === undefined ? {} : { name: route.name }),
      ...(req.headers["user-agent"] === undefined ? {} : { userAgent: req.headers["user-agent"] }),
      ...(url.searchParams.has("resourceVersion")
        ? { resourceVersion: url.searchParams.get("resourceVersion") ?? "" }
        : {}),
    };
    const faults: FaultDecision = options.faults.decide(request);
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.error) throw faults.error;
    options.audit.markRequestActor(actor);
    const deps = {
      // RBAC writes are checked for privilege escalation (src/sim/auth/escalation.ts).
      store: options.auth ? options.auth.guard(options.store, actor) : options.store,
      clock: options.clock,
      hub,
      audit: options.audit,
      ...(options.logs ? { logs: options.logs } : {}),
    };
    await serveResource({ req, res, url, route, verb, actor, faults }, deps);
  }

  function audit(req: IncomingMessage, url: URL, handled: Handled, code: number): void {
    const route = handled.route;
    const entry: Parameters<AuditLog["record"]>[0] = {
      source: "request",
      verb: (handled.verb ?? (req.method ?? "GET").toLowerCase()) as AuditVerb,
      group: route?.info.group ?? "",
      version: route?.gvr.version ?? "",
      resource: route?.info.resource ?? "",
      user: handled.actor?.user ?? "kubernetes-admin",
      code,
      path: url.pathname,
    };
    if (route?.subresource !== undefined) entry.subresource = route.subresource;
    if (route?.namespace !== undefined) entry.namespace = route.namespace;
    if (route?.name !== undefined) entry.name = route.name;
    if (req.headers["user-agent"] !== undefined) entry.userAgent = req.headers["user-agent"];
    options.audit.record(entry);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const handled: Handled = {};
    let code: number;
    try {
      // Authentication and authorization first, as the apiserver's filters do: 401/403.
      if (options.auth) handled.actor = options.auth.check(req, url);
      if (!serveFixed(req, res, url, options)) await serveApi(req, res, url, handled);
      code = res.statusCode;
    } catch (err) {
      code = sendError(res, err);
    }
    if (handled.route) audit(req, url, handled, code);
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  server.on("connection", track);
  let tlsServer: Server | undefined;

  function listenOn(srv: Server, scheme: string, port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, host, () => {
        const address = srv.address();
        const actualPort = typeof address === "object" && address ? address.port : port;
        resolve(`${scheme}://${host}:${actualPort}`);
      });
    });
  }

  return {
    server,
    hub,
    listen(port, host) {
      return listenOn(server, "http", port, host);
    },
    listenTls(port, host, tls) {
      tlsServer = createTlsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
        void handle(req, res);
      });
      tlsServer.keepAliveTimeout = 60_000;
      tlsServer.on("connection", track);
      return listenOn(tlsServer, "https", port, host);
    },
    close() {
      offRestart();
      hub.dispose();
      const closing = [server, tlsServer].filter((s): s is Server => s !== undefined);
      return new Promise(resolve => {
        let open = closing.length;
        for (const srv of closing) {
          srv.close(() => {
            open -= 1;
            if (open === 0) resolve();
          });
        }
        for (const s of sockets) s.destroy();
        for (const srv of closing) srv.closeAllConnections();
      });
    },
  };
}
