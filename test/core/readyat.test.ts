/**
 * podsReadyAt: the rollback time ends when the rolled-back pods became Ready (the latest Ready
 * lastTransitionTime among them), not when the operator looked; the observation time instead when
 * it falls within that stamp's second, or when a stamp says nothing about this rollback.
 */
import { describe, expect, it } from "vitest";
import type { PodView } from "../../src/core/observed.ts";
import { podsReadyAt } from "../../src/core/phases.ts";
import { aPod, aTemplate, at, iso, sha } from "./builders.ts";

const M = aTemplate([{ name: "app", image: `r.example.com/web@${sha("m")}` }]);

/** A Ready pod whose Ready condition flipped at `seconds` (undefined: no stamp). */
function readySince(name: string, seconds: number | undefined): PodView {
  const pod = aPod(name, "s1", M, { app: sha("m") });
  const condition = {
    type: "Ready",
    status: "True",
    ...(seconds === undefined ? {} : { lastTransitionTime: iso(seconds) }),
  };
  return { ...pod, status: { ...pod.status, conditions: [condition] } };
}

const ms = (seconds: number): number => at(seconds).getTime();
const UNDO = 100;

describe("podsReadyAt", () => {
  const rows: { name: string; stamps: (number | undefined)[]; now: number; expected: number }[] = [
    { name: "one pod: its stamp, not the late look", stamps: [103], now: 130, expected: 103 },
    { name: "several pods: the latest stamp", stamps: [102, 105, 104], now: 130, expected: 105 },
    {
      name: "the look within the stamp's second: the look (as exact, never early)",
      stamps: [103],
      now: 103.4,
      expected: 103.4,
    },
    {
      name: "the look exactly one second after: the stamp",
      stamps: [103],
      now: 104,
      expected: 103,
    },
    {
      name: "a stamp before the undo's second (Ready through the drill): the look",
      stamps: [95],
      now: 120,
      expected: 120,
    },
    {
      name: "a stamp a whole second before the undo: the look",
      stamps: [99],
      now: 120,
      expected: 120,
    },
    {
      // Ready came after the undo and before 100.5 (the stamp's second ends there): not 0 s.
      name: "a stamp within the undo's second, before it: halfway to that second's end",
      stamps: [99.5],
      now: 120,
      expected: 100.25,
    },
    {
      name: "the same, looked at within the stamp's second: the look",
      stamps: [99.5],
      now: 100.2,
      expected: 100.2,
    },
    {
      name: "one pod without a stamp: the look",
      stamps: [103, undefined],
      now: 130,
      expected: 130,
    },
    {
      name: "a stamp after the look (clock skew): the look",
      stamps: [140],
      now: 130,
      expected: 130,
    },
    { name: "no pods: the look", stamps: [], now: 130, expected: 130 },
  ];

  it.each(rows)("$name", ({ stamps, now, expected }) => {
    // iso() drops sub-second digits only when they are zero; fractional stamps keep them.
    const pods = stamps.map((s, i) => readySince(`web-s1-${String(i)}`, s));
    expect(podsReadyAt(pods, ms(UNDO), ms(now))).toBe(ms(expected));
  });

  it("ignores a pod's Ready=False conditions' stamps: only Ready=True counts", () => {
    const pod = readySince("web-s1-0", undefined);
    const notReady: PodView = {
      ...pod,
      status: {
        ...pod.status,
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: iso(103) }],
      },
    };
    expect(podsReadyAt([notReady], ms(UNDO), ms(130))).toBe(ms(130));
  });
});
