/**
 * `rollback-drill sim`: serve the Kubernetes API simulator until interrupted, with a kubeconfig
 * for kubectl, the e2e suite or an operator in another process.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startSim } from "../sim/index.ts";
import { parseFlags, untilSignal, type Io } from "./io.ts";

export const SIM_USAGE = `Usage: rollback-drill sim [--port N] [--kubeconfig PATH] [--time-scale X]

Serve the Kubernetes API simulator on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM).

Flags:
  --port N           port to listen on (default 0: any free port)
  --kubeconfig PATH  where to write the kubeconfig (default: a file in the temp directory)
  --time-scale X     simulated seconds per real second (default 1; 1000 runs minutes in milliseconds)
`;

export interface SimFlags {
  port: number;
  kubeconfig: string;
  timeScale: number;
}

/** Parses the sim command's flags; throws an Error naming the flag on bad input. */
export function parseSimFlags(argv: string[], defaultKubeconfig: string): SimFlags | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "0" },
      kubeconfig: { type: "string", default: defaultKubeconfig },
      "time-scale": { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port: "${values.port}" is not a port number (0-65535)`);
  }
  const timeScale = Number(values["time-scale"]);
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new Error(`--time-scale: "${values["time-scale"]}" must be a number greater than 0`);
  }
  return { port, kubeconfig: values.kubeconfig, timeScale };
}

export async function simCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(
    "sim",
    SIM_USAGE,
    () => parseSimFlags(argv, join(tmpdir(), `rollback-drill-sim-${process.pid}.kubeconfig`)),
    io,
  );
  if ("exitCode" in flags) return flags.exitCode;
  const sim = await startSim({ port: flags.port, timeScale: flags.timeScale });
  await sim.writeKubeconfig(flags.kubeconfig);
  io.out(
    `Simulator ready at ${sim.url} (time scale ${flags.timeScale}); kubeconfig: ${flags.kubeconfig}`,
  );
  io.out(`  KUBECONFIG=${flags.kubeconfig} kubectl get nodes`);
  const signal = await untilSignal();
  io.out(`Received ${signal}, shutting down`);
  await sim.close();
  return 0;
}
