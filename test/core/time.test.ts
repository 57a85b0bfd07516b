import { describe, expect, it } from "vitest";
import { formatSeconds, formatTime, parseTime, secondsBetween } from "../../src/core/time.ts";

describe("time", () => {
  it.each([
    "1970-01-01T00:00:00Z",
    "2024-02-29T23:59:59Z",
    "2025-01-01T00:00:00.5Z",
    "2000-03-01T12:34:56.789Z",
    "1969-12-31T23:59:59Z",
    "2100-12-31T00:00:00Z",
  ])("parses %s as Date does and formats it back", text => {
    const ms = parseTime(text);
    expect(ms).toBe(Date.parse(text));
    expect(formatTime(ms!)).toBe(new Date(ms!).toISOString().replace(".000Z", "Z"));
  });

  it("honours offsets", () => {
    expect(parseTime("2025-01-01T02:00:00+02:00")).toBe(Date.parse("2025-01-01T00:00:00Z"));
    expect(parseTime("2025-01-01T00:00:00-01:30")).toBe(Date.parse("2025-01-01T01:30:00Z"));
  });

  it("rejects what is not RFC 3339", () => {
    expect(parseTime("yesterday")).toBeUndefined();
    expect(parseTime(undefined)).toBeUndefined();
    expect(parseTime("2025-01-01")).toBeUndefined();
  });

  it("keeps seconds to the millisecond, and rounds them only for display", () => {
    expect(secondsBetween(0, 12_345)).toBe(12.345);
    expect(secondsBetween(1_000, 1_483)).toBe(0.483);
    expect(formatSeconds(12.345)).toBe("12.3s");
    expect(formatSeconds(3)).toBe("3s");
    // Under a second: two decimals, so half a second never reads 0s.
    expect(formatSeconds(0.483)).toBe("0.48s");
    expect(formatSeconds(0.5)).toBe("0.5s");
    expect(formatSeconds(0.004)).toBe("0s");
    expect(formatSeconds(0)).toBe("0s");
  });
});
