/**
 * The drills as `kubectl get rollbackdrills` shows them (NAME TARGET PHASE VERDICT REASON FROM TO
 * RTO), from the same fields as the CRD's printer columns. Missing values are blank, as kubectl
 * prints an unset custom column.
 */
import type { RollbackDrill } from "../../api/types.ts";
import { paintVerdict, visibleLength, type Style } from "./style.ts";
import { formatSeconds } from "../../core/time.ts";

export const COLUMNS = ["NAME", "TARGET", "PHASE", "VERDICT", "REASON", "FROM", "TO", "RTO"];

/** The row's cells, unstyled. RTO rounded for display (formatSeconds); the status keeps milliseconds. */
export function cells(drill: RollbackDrill): string[] {
  const status = drill.status;
  const run = status?.lastRun;
  const rto = run?.rollbackSeconds;
  return [
    drill.metadata.name,
    drill.spec.targetRef.name,
    status?.phase ?? status?.currentRun?.phase ?? "",
    status?.verdict ?? "",
    status?.reason ?? "",
    run?.fromRevision === undefined ? "" : String(run.fromRevision),
    run?.toRevision === undefined ? "" : String(run.toRevision),
    rto === undefined ? "" : formatSeconds(rto),
  ];
}

function paintRow(style: Style, drill: RollbackDrill, row: string[]): string[] {
  const verdict = drill.status?.verdict;
  const running = drill.status?.currentRun !== undefined;
  return row.map((cell, i) => {
    if (i === 2 && running) return style.cyan(cell);
    if (i === 3 || i === 4) return paintVerdict(style, verdict, cell);
    return cell;
  });
}

/** Renders the table: columns padded to their widest cell, three spaces apart, as kubectl does. */
export function renderTable(drills: readonly RollbackDrill[], style: Style): string[] {
  const rows = drills.map(cells);
  const widths = COLUMNS.map((header, i) =>
    Math.max(header.length, ...rows.map(r => (r[i] ?? "").length)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => cell + " ".repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell))))
      .join("   ")
      .trimEnd();
  return [
    style.bold(line(COLUMNS)),
    ...drills.map((drill, i) => line(paintRow(style, drill, rows[i] ?? []))),
  ];
}
