import { describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { createStyle, visibleLength } from "../../src/cli/demo/style.ts";
import { shortDigest, wrap } from "../../src/cli/demo/summary.ts";
import { renderTable } from "../../src/cli/demo/table.ts";
import { aDrill } from "../core/builders.ts";

const drill = (name: string, status: RollbackDrill["status"]): RollbackDrill =>
  aDrill({
    metadata: { name, namespace: "production", uid: name },
    spec: { targetRef: { kind: "Deployment", name } },
    ...(status === undefined ? {} : { status }),
  });

const drills = [
  drill("pinned-web", {
    phase: "Idle",
    verdict: "Passed",
    reason: "Passed",
    lastRun: {
      id: "1",
      trigger: "Created",
      startTime: "2026-01-01T00:00:00Z",
      verdict: "Passed",
      reason: "Passed",
      fromRevision: 2,
      toRevision: 1,
      rollbackSeconds: 3.2,
    },
  }),
  drill("latest-api", {
    phase: "Verifying",
    currentRun: {
      id: "1",
      trigger: "Created",
      phase: "Verifying",
      startTime: "2026-01-01T00:00:00Z",
      phaseStartTime: "2026-01-01T00:00:00Z",
    },
  }),
  drill("new", undefined),
];

// eslint-disable-next-line no-control-regex
const strip = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, "");

describe("the demo's table", () => {
  it("prints kubectl's columns, blank where a value is unset, three spaces apart", () => {
    expect(renderTable(drills, createStyle(false))).toEqual([
      "NAME         TARGET       PHASE       VERDICT   REASON   FROM   TO   RTO",
      "pinned-web   pinned-web   Idle        Passed    Passed   2      1    3.2s",
      "latest-api   latest-api   Verifying",
      "new          new",
    ]);
  });

  it("colours verdicts and running phases without moving a column", () => {
    const coloured = renderTable(drills, createStyle(true));
    expect(coloured.map(strip)).toEqual(renderTable(drills, createStyle(false)));
    expect(coloured[1]).toContain("\u001b[32mPassed\u001b[39m");
    expect(coloured[2]).toContain("\u001b[36mVerifying\u001b[39m");
    expect(visibleLength(coloured[1] ?? "")).toBe(strip(coloured[1] ?? "").length);
  });
});

describe("the demo's summary helpers", () => {
  it("wraps at 100 columns with an indent, keeping every word", () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${String(i)}`).join(" ");
    const lines = wrap(text, "  message     ");
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines.slice(1).every(l => l.startsWith(" ".repeat(14)))).toBe(true);
    expect(
      lines
        .join(" ")
        .split(/\s+/)
        .filter(w => w !== ""),
    ).toEqual(["message", ...text.split(" ")]);
  });

  it("shortens digests and image IDs to sha256 and 12 hex digits", () => {
    const hex = "0123456789abcdef".repeat(4);
    expect(shortDigest(`sha256:${hex}`)).toBe("sha256:0123456789ab");
    expect(shortDigest(`registry.example.com/shop/web@sha256:${hex}`)).toBe("sha256:0123456789ab");
    expect(shortDigest(undefined)).toBe("(none)");
  });
});
