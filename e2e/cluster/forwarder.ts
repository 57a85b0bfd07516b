/**
 * Relays TCP from the host's loopback to the node: `node forwarder.ts 127.0.0.1:6443=10.241.0.2:6443 ...`.
 * It binds only loopback addresses and connects only to the node's address, so it opens no path
 * out of the machine. Started detached by `cluster:up`, stopped by `cluster:down`.
 */
import { connect, createServer, type Socket } from "node:net";
import { NODE_IP } from "./topology.ts";

interface Route {
  listenHost: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
}

export function parseRoute(arg: string): Route {
  const m = /^(127\.\d+\.\d+\.\d+):(\d+)=([\d.]+):(\d+)$/.exec(arg);
  if (m === null) throw new Error(`not a route 127.x.y.z:PORT=HOST:PORT: ${arg}`);
  const route = {
    listenHost: m[1] ?? "",
    listenPort: Number(m[2]),
    targetHost: m[3] ?? "",
    targetPort: Number(m[4]),
  };
  if (route.targetHost !== NODE_IP)
    throw new Error(`the forwarder relays only to the node (${NODE_IP}), not ${route.targetHost}`);
  return route;
}

function relay(route: Route): Promise<void> {
  const server = createServer((client: Socket) => {
    const upstream = connect(route.targetPort, route.targetHost);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(route.listenPort, route.listenHost, () => {
      resolve();
    });
  });
}

if (import.meta.filename === process.argv[1]) {
  const routes = process.argv.slice(2).map(parseRoute);
  await Promise.all(routes.map(relay));
  console.log(
    `forwarding ${routes.map(r => `${r.listenHost}:${String(r.listenPort)} -> ${r.targetHost}:${String(r.targetPort)}`).join(", ")}`,
  );
  process.on("SIGTERM", () => process.exit(0));
}
