/**
 * The demo's closing summary: per drill its verdict against the scenario's expectation, the
 * evidence (digests from and to, the message, the warnings) and the scenario's one-line lesson.
 */
import type { RollbackDrill } from "../../api/types.ts";
import type { Scenario } from "../../scenarios/catalog.ts";
import { paintVerdict, type Style } from "./style.ts";
import { formatSeconds } from "../../core/time.ts";

export interface Result {
  readonly scenario: Scenario;
  readonly drill: RollbackDrill | undefined;
  /** What differs from the expectation; empty when the drill reached it. */
  readonly problems: readonly string[];
}

const WIDTH = 100;
const INDENT = "              ";

/** Wraps text to WIDTH columns; lines after the first are indented. */
export function wrap(text: string, first: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/).filter(w => w !== "")) {
    if (line.length + word.length + 1 > WIDTH && line.trim() !== "" && line !== first) {
      lines.push(line);
      line = INDENT;
    }
    line += line.endsWith(" ") ? word : ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** A digest shortened as kubectl and registries show them: algorithm and 12 hex digits. */
export const shortDigest = (digest: string | undefined): string => {
  if (digest === undefined) return "(none)";
  const at = digest.lastIndexOf("sha256:");
  return at < 0 ? digest : digest.slice(at, at + 19);
};

const label = (name: string): string => `  ${name.padEnd(INDENT.length - 2)}`;

function evidenceLines(drill: RollbackDrill): string[] {
  const run = drill.status?.lastRun;
  const lines: string[] = [];
  const revisions =
    run?.fromRevision === undefined
      ? ""
      : ` (revision ${String(run.fromRevision)} -> ${String(run.toRevision ?? "?")}${
          run.rollbackSeconds === undefined ? "" : `, RTO ${formatSeconds(run.rollbackSeconds)}`
        })`;
  for (const e of run?.evidence ?? [])
    lines.push(
      `${label("evidence")}${e.name}: ${shortDigest(e.fromDigest)} -> ${shortDigest(e.toDigest)}${revisions}`,
    );
  if (lines.length === 0 && revisions !== "") lines.push(`${label("evidence")}${revisions.trim()}`);
  lines.push(...wrap(run?.message ?? "", label("message")));
  for (const w of drill.status?.warnings ?? [])
    lines.push(...wrap(`${w.reason}: ${w.message}`, label("warning")));
  return lines;
}

/** One block per drill: the verdict line, the evidence, the lesson. */
export function renderSummary(results: readonly Result[], style: Style): string[] {
  const width = Math.max(...results.map(r => r.scenario.name.length));
  const lines: string[] = [style.bold("Summary"), ""];
  for (const { scenario, drill, problems } of results) {
    const run = drill?.status?.lastRun;
    const got =
      run?.verdict === undefined
        ? "no verdict"
        : paintVerdict(style, run.verdict, `${run.verdict} ${run.reason ?? ""}`);
    const mark = problems.length === 0 ? style.green("as expected") : style.red("UNEXPECTED");
    lines.push(`${style.bold(scenario.name.padEnd(width))}  ${got}  ${mark}  (${scenario.title})`);
    if (problems.length > 0) lines.push(`${label("problem")}${problems.join("; ")}`);
    if (drill !== undefined) lines.push(...evidenceLines(drill));
    lines.push(...wrap(scenario.lesson, label("lesson")), "");
  }
  return lines;
}

/** The closing line; names every drill that did not reach its expected verdict. */
export function renderVerdictLine(results: readonly Result[], style: Style): string {
  const missed = results.filter(r => r.problems.length > 0);
  if (missed.length === 0)
    return style.green(
      `All ${results.length.toString()} drills reached the verdicts their scenarios should give.`,
    );
  const named = missed.map(r => {
    const e = r.scenario.expected;
    return `${r.scenario.name} (expected ${e.verdict} ${e.reason}: ${r.problems.join("; ")})`;
  });
  return style.red(
    `${missed.length.toString()} of ${results.length.toString()} drills did not reach their expected verdicts: ${named.join(", ")}`,
  );
}
