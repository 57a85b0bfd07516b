/**
 * What the gate prints and returns: the result (table for people, JSON or YAML whole) and the exit
 * status a verdict maps to.
 */
import { stringify } from "yaml";
import type { CurrentRun, DrillStatus, RunRecord, RunSummary } from "../api/types.ts";
import { shortDigest } from "../core/digest.ts";
import { formatSeconds } from "../core/time.ts";
import type { Output } from "./args.ts";

/** 0 Passed, 1 Failed, 2 anything else (an Error verdict, or none). */
export function exitCodeOf(verdict: string | undefined): number {
  if (verdict === "Passed") return 0;
  if (verdict === "Failed") return 1;
  return 2;
}

/** The result as printed: JSON/YAML carry it whole, the table says it for people. */
export interface GateResult {
  drill: { namespace: string; name: string };
  exitCode: number;
  run: RunRecord | RunSummary | CurrentRun;
  warnings: DrillStatus["warnings"];
}

export function formatTable(result: GateResult): string {
  const { run } = result;
  const lines = [
    `Drill:     ${result.drill.namespace}/${result.drill.name} (run ${run.id}, ${run.trigger})`,
  ];
  if ("phase" in run && run.verdict === undefined) lines.push(`Phase:     ${run.phase}`);
  if (run.verdict !== undefined) lines.push(`Verdict:   ${run.verdict} (${run.reason ?? "?"})`);
  if (run.fromRevision !== undefined)
    lines.push(
      `Rollback:  revision ${String(run.fromRevision)} -> ${String(run.toRevision ?? "?")}` +
        (run.rollbackSeconds === undefined
          ? ""
          : `, ${formatSeconds(run.rollbackSeconds)} to Ready`),
    );
  const message = "message" in run ? run.message : undefined;
  if (message !== undefined) lines.push(`Message:   ${message}`);
  for (const w of result.warnings ?? []) lines.push(`Warning:   ${w.reason}: ${w.message}`);
  const evidence = "evidence" in run ? (run.evidence ?? []) : [];
  if (evidence.length > 0) {
    const rows = [
      ["CONTAINER", "FROM", "TO", "FROM DIGEST", "TO DIGEST", "EXPECTED", "FINDING"],
      ...evidence.map(e => [
        `${e.name}${e.init === true ? " (init)" : ""}`,
        e.fromImage,
        e.toImage,
        shortDigest(e.fromDigest),
        shortDigest(e.toDigest),
        e.expectedDigest === undefined ? "-" : shortDigest(e.expectedDigest),
        e.verdict ?? "-",
      ]),
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? "").length))) ?? [];
    lines.push("");
    for (const row of rows)
      lines.push(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
      );
  }
  return lines.join("\n");
}

export function formatResult(result: GateResult, output: Output): string {
  switch (output) {
    case "json":
      return JSON.stringify(result, null, 2);
    case "yaml":
      return stringify(result).trimEnd();
    case "table":
      return formatTable(result);
  }
}
