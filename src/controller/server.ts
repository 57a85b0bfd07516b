/**
 * The probe and metrics endpoints on node:http: /healthz (the process serves), /readyz (caches
 * synced; a standby that is not the leader is ready too, so a rolling update can proceed) and
 * /metrics (the injected Registry in Prometheus' text format).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ProbeServerOptions {
  readonly registry?: Registry;
  readonly isReady: () => boolean;
}

export interface ProbeServer {
  /** Listens on host:port (port 0: any free one); resolves to the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** Parses a bind address as controller-runtime takes it (":8080", "127.0.0.1:8080", "0"). */
export function parseBindAddress(text: string): { host: string; port: number } | undefined {
  if (text === "0") return undefined;
  const at = text.lastIndexOf(":");
  const host = at <= 0 ? "0.0.0.0" : text.slice(0, at);
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bind address "${text}" is not host:port or :port`);
  }
  return { host, port };
}

export function createProbeServer(options: ProbeServerOptions): ProbeServer {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (code: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(code, { "Content-Type": type });
      res.end(body);
    };
    if (path === "/healthz") {
      send(200, "ok");
      return;
    }
    if (path === "/readyz") {
      if (options.isReady()) send(200, "ok");
      else send(503, "caches not synced");
      return;
    }
    const registry = options.registry;
    if (path === "/metrics" && registry !== undefined) {
      registry.metrics().then(
        text => {
          send(200, text, registry.contentType);
        },
        (err: unknown) => {
          send(500, String(err));
        },
      );
      return;
    }
    send(404, "not found");
  });
  return {
    listen: (port, host = "0.0.0.0") =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`);
        });
      }),
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close(err => {
          if (err === undefined) resolve();
          else reject(err);
        });
      }),
  };
}
