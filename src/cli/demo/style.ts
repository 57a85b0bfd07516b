/**
 * Terminal styling for the demo: plain ANSI SGR codes (no colour library), switched off when the
 * output is not a terminal, when NO_COLOR is set, or with --no-color.
 */
import type { Verdict } from "../../api/vocabulary.ts";

export interface Style {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly green: (text: string) => string;
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    text === "" ? text : `\u001b[${String(open)}m${text}\u001b[${String(close)}m`;

const plain = (text: string): string => text;

export function createStyle(colour: boolean): Style {
  if (!colour)
    return { bold: plain, dim: plain, green: plain, red: plain, yellow: plain, cyan: plain };
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
}

/** Colours a verdict (or a reason, by the verdict it came with). */
export function paintVerdict(
  style: Style,
  verdict: Verdict | undefined,
  text: string = verdict ?? "",
): string {
  switch (verdict) {
    case "Passed":
      return style.green(text);
    case "Failed":
      return style.red(text);
    case "Error":
      return style.yellow(text);
    case undefined:
      return text;
  }
}

/** The visible width of a string that may hold SGR codes. */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}
