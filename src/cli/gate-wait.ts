/**
 * The gate's wait: which run of a drill answers the gate (findRun), and the watch that follows the
 * drill until that run has a verdict, printing its phases to stderr as it goes.
 */
import type {
  CurrentRun,
  DrillStatus,
  RollbackDrill,
  RunRecord,
  RunSummary,
} from "../api/types.ts";
import { RUN_NOW_ANNOTATION } from "../api/vocabulary.ts";
import type { Clock } from "../controller/clock.ts";
import type { KubeClient } from "../kube/client.ts";
import type { RunOptions } from "./args.ts";
import { explain, GateError } from "./cluster.ts";
import type { Io } from "./io.ts";

/** What the gate needs from its caller: injected so tests run it on the simulator's clock. */
export interface GateDeps {
  /** Default: the system clock. Timeouts, progress times and a standalone engine run on it. */
  readonly clock?: Clock;
  /** Progress phase by phase with elapsed time and colour when true; plain lines otherwise. */
  readonly isTTY?: boolean;
  /** Colour on a TTY unless set (NO_COLOR). */
  readonly noColor?: boolean;
  /** The run-now value; default a fresh unique one. */
  readonly token?: string;
}

/** Where the gate's run stands in a drill's status. */
export type RunView =
  | { state: "waiting" }
  | { state: "running"; run: CurrentRun }
  | { state: "done"; record: RunRecord | RunSummary; status: DrillStatus };

/**
 * The run answering `token` (or a newer run-now value someone set since: that run starts after
 * ours was asked for too, so it answers the gate's question as well).
 */
export function findRun(drill: RollbackDrill | undefined, token: string): RunView {
  const status = drill?.status;
  if (drill === undefined || status === undefined) return { state: "waiting" };
  const wanted = drill.metadata.annotations?.[RUN_NOW_ANNOTATION] ?? token;
  const tokens = wanted === token ? [token] : [token, wanted];
  if (status.lastRun?.runNowToken !== undefined && tokens.includes(status.lastRun.runNowToken))
    return { state: "done", record: status.lastRun, status };
  const past = status.history?.find(
    r => r.runNowToken !== undefined && tokens.includes(r.runNowToken),
  );
  if (past !== undefined) return { state: "done", record: past, status };
  const run = status.currentRun;
  if (run?.runNowToken !== undefined && tokens.includes(run.runNowToken))
    return { state: "running", run };
  return { state: "waiting" };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A wait in the words the flag took: 90s, 20m, 1h30m. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${String(s)}s`;
  const parts = [
    [Math.floor(s / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${String(n)}${unit}`)
    .join("");
}

/** Prints phase changes to stderr: coloured with elapsed time on a TTY, plain lines otherwise. */
function progressPrinter(io: Io, deps: GateDeps, startedMs: () => number) {
  let last = "";
  const tty = deps.isTTY === true;
  const colour = tty && deps.noColor !== true;
  const dim = (t: string): string => (colour ? `\u001b[2m${t}\u001b[22m` : t);
  const bold = (t: string): string => (colour ? `\u001b[1m${t}\u001b[22m` : t);
  return (what: string): void => {
    if (what === last) return;
    last = what;
    const elapsed = seconds(startedMs());
    io.err(tty ? `${dim(elapsed.padStart(7))}  ${bold(what)}` : `[${elapsed}] ${what}`);
  };
}

/** A watch error that ends the wait (set by the client's error hook), and who to tell. */
export interface WatchErrors {
  error?: string;
  onChange?: () => void;
}

/**
 * Watches the drill until the run answering `token` has a verdict (or, without --wait, has
 * started), printing its phases; rejects with a GateError on the timeout, the drill's deletion or
 * a watch the cluster refuses.
 */
export async function waitForRun(
  kube: KubeClient,
  options: RunOptions,
  token: string,
  deps: { clock: Clock; io: Io; gate: GateDeps; errors: WatchErrors },
): Promise<RunView> {
  const { clock } = deps;
  const started = clock.now().getTime();
  const progress = progressPrinter(deps.io, deps.gate, () => clock.now().getTime() - started);
  const informer = kube.informer("rollbackdrills", { namespace: options.namespace });
  return new Promise<RunView>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      informer.stop();
      fn();
    };
    const check = (): void => {
      // Events keep coming until the informer has stopped: none of them is news once settled.
      if (settled) return;
      if (deps.errors.error !== undefined) {
        const message = deps.errors.error;
        finish(() => {
          reject(new GateError(message));
        });
        return;
      }
      const view = findRun(informer.get(options.name, options.namespace), token);
      if (view.state === "running") {
        progress(`Run ${view.run.id}: ${view.run.phase}`);
        if (!options.wait)
          finish(() => {
            resolve(view);
          });
        return;
      }
      if (view.state !== "done") return;
      // Standalone: the engine stops with this process, so wait until it has cleaned up.
      if (options.standalone && view.status.currentRun?.id === view.record.id) {
        progress(`Run ${view.record.id}: ${view.record.verdict ?? "?"}, cleaning up`);
        return;
      }
      finish(() => {
        resolve(view);
      });
    };
    const timer = clock.setTimeout(() => {
      finish(() => {
        reject(
          new GateError(
            `timed out after ${duration(options.timeoutMs)} waiting for the run of rollbackdrill ${options.namespace}/${options.name}: is the operator running? (kubectl -n ${options.namespace} describe rollbackdrill ${options.name})`,
          ),
        );
      });
    }, options.timeoutMs);
    deps.errors.onChange = check;
    for (const event of ["add", "update"] as const) informer.on(event, check);
    informer.on("delete", d => {
      if (d.metadata.name === options.name)
        finish(() => {
          reject(new GateError(`rollbackdrill ${options.namespace}/${options.name} was deleted`));
        });
    });
    progress("Waiting for the operator to start the run");
    informer.start().then(check, (err: unknown) => {
      finish(() => {
        reject(new GateError(explain(err, "watch rollbackdrills"), { cause: err }));
      });
    });
  });
}
