/**
 * The drills' progress while the operator works, from a watch on the namespace's drills (list +
 * watch, as `kubectl get -w` does). On a terminal the table is redrawn in place; otherwise each
 * change is one appended line, so a log or a CI job reads it top to bottom.
 */
import type {
  CustomObjectsApi,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
} from "@kubernetes/client-node";
import type { RollbackDrill } from "../../api/types.ts";
import { GROUP, PLURAL, VERSION } from "../../api/vocabulary.ts";
import { createInformer } from "../../kube/informer.ts";
import { isSettled } from "../../scenarios/outcome.ts";
import type { Io } from "../io.ts";
import { paintVerdict, visibleLength, type Style } from "./style.ts";
import { renderTable } from "./table.ts";
import { formatSeconds } from "../../core/time.ts";

export interface ProgressOptions {
  readonly kubeConfig: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly namespace: string;
  /** The drills to follow, in the order shown. */
  readonly names: readonly string[];
  readonly io: Io;
  readonly style: Style;
  /** Redraw the table in place (a terminal) rather than append lines. */
  readonly live: boolean;
  /** Real milliseconds to wait for every verdict. */
  readonly timeoutMs: number;
  /** Simulated seconds per real second, to show simulated time beside real time. */
  readonly timeScale: number;
  /** The terminal's width, so a redraw rewinds over lines the terminal wrapped. */
  readonly columns?: number;
}

/** What a plain line reports about a drill: its phase, or its verdict once reached. */
function plainState(drill: RollbackDrill, style: Style): string {
  const status = drill.status;
  const run = status?.lastRun;
  if (run?.verdict === undefined) return style.cyan(status?.currentRun?.phase ?? "Pending");
  const revisions =
    run.fromRevision === undefined
      ? ""
      : `  revision ${String(run.fromRevision)} -> ${String(run.toRevision ?? "?")}`;
  const rto =
    run.rollbackSeconds === undefined ? "" : `, RTO ${formatSeconds(run.rollbackSeconds)}`;
  return `${paintVerdict(style, run.verdict, `${run.verdict} ${run.reason ?? ""}`)}${revisions}${rto}`;
}

/**
 * Follows the drills until each has settled (or the time is up) and resolves with them, in the
 * order of `names`; a drill not seen is left out.
 */
export async function followDrills(options: ProgressOptions): Promise<RollbackDrill[]> {
  const { io, style, names } = options;
  const started = Date.now();
  const informer = createInformer<KubernetesObject>({
    kubeConfig: options.kubeConfig,
    path: `/apis/${GROUP}/${VERSION}/namespaces/${options.namespace}/${PLURAL}`,
    list: () =>
      options.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: options.namespace,
      }) as Promise<KubernetesListObject<KubernetesObject>>,
    schedule: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      return () => {
        clearTimeout(timer);
      };
    },
    baseDelayMs: 100,
    maxDelayMs: 2_000,
  });
  const current = (): RollbackDrill[] =>
    names
      .map(name => informer.get(name, options.namespace) as RollbackDrill | undefined)
      .filter((d): d is RollbackDrill => d !== undefined);
  const elapsed = (): string => {
    const real = (Date.now() - started) / 1000;
    return `${real.toFixed(1)}s (${Math.round(real * options.timeScale).toString()}s simulated)`;
  };

  let drawn = 0;
  const redraw = (): void => {
    const drills = current();
    const finished = drills.filter(isSettled).length;
    const lines = [
      ...renderTable(drills, style),
      "",
      style.dim(`${finished.toString()}/${names.length.toString()} drills finished, ${elapsed()}`),
    ];
    // Move up over the previous drawing and clear it, then draw again.
    const rewind = drawn > 0 ? `\u001b[${drawn.toString()}A\u001b[0J` : "";
    io.out(rewind + lines.join("\n"));
    const columns = options.columns ?? 0;
    drawn = lines.reduce(
      (rows, line) =>
        rows + (columns > 0 ? Math.max(1, Math.ceil(visibleLength(line) / columns)) : 1),
      0,
    );
  };
  const lastShown = new Map<string, string>();
  const width = Math.max(...names.map(n => n.length));
  const appendChanges = (): void => {
    for (const drill of current()) {
      const state = plainState(drill, style);
      if (lastShown.get(drill.metadata.name) === state) continue;
      lastShown.set(drill.metadata.name, state);
      const at = `+${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
      io.out(`${at}  ${drill.metadata.name.padEnd(width)}  ${state}`);
    }
  };
  const show = options.live ? redraw : appendChanges;

  return new Promise<RollbackDrill[]>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      const drills = current();
      informer.stop();
      resolve(drills);
    };
    const onChange = (): void => {
      if (settled) return;
      show();
      if (names.every(name => isSettled(current().find(d => d.metadata.name === name)))) finish();
    };
    // The live view's elapsed time moves on between changes.
    const ticker = setInterval(() => {
      if (options.live && !settled) redraw();
    }, 500);
    const deadline = setTimeout(finish, options.timeoutMs);
    informer.on("add", onChange);
    informer.on("update", onChange);
    informer.start().then(onChange, (error: unknown) => {
      settled = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      informer.stop();
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}
