import { afterEach, describe, expect, it, vi } from "vitest";
import { createClock } from "../../../src/sim/clock.ts";
import type { SimClock } from "../../../src/sim/types.ts";

// The simulator's clock (docs/KUBE-SIM.md "Time"): simulated time is real time times a scale, and every
// delay the world waits is scheduled on it.
describe("createClock", () => {
  let clock: SimClock | undefined;
  afterEach(() => clock?.dispose());

  it("starts at the given simulated epoch and runs scale times faster than real time", async () => {
    clock = createClock(1000, Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(clock.nowMs()).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 2, 3, 4, 5));
    const c = clock;
    const fired = await new Promise<number>(resolve => {
      c.setTimeout(() => {
        resolve(c.nowMs());
      }, 5_000);
    });
    // 5 simulated seconds pass in about 5 real milliseconds; time inside the callback is past the deadline.
    expect(fired - Date.UTC(2026, 0, 2, 3, 4, 5)).toBeGreaterThanOrEqual(5_000);
  });

  it("fires timers in deadline order, equal deadlines in the order they were set", async () => {
    clock = createClock(1000, 0);
    const order: string[] = [];
    const c = clock;
    await new Promise<void>(resolve => {
      c.setTimeout(() => order.push("late"), 2_000);
      c.setTimeout(() => order.push("a"), 1_000);
      c.setTimeout(() => order.push("b"), 1_000);
      c.setTimeout(() => order.push("zero"), 0);
      c.setTimeout(() => {
        order.push("end");
        resolve();
      }, 3_000);
    });
    expect(order).toEqual(["zero", "a", "b", "late", "end"]);
  });

  it("clearTimeout cancels a timer, also one due in the same batch", async () => {
    clock = createClock(1000, 0);
    const c = clock;
    const ran: string[] = [];
    await new Promise<void>(resolve => {
      const second = { id: -1 };
      c.setTimeout(() => {
        ran.push("first");
        c.clearTimeout(second);
      }, 1_000);
      Object.assign(
        second,
        c.setTimeout(() => ran.push("second"), 1_000),
      );
      const dropped = c.setTimeout(() => ran.push("dropped"), 500);
      c.clearTimeout(dropped);
      c.setTimeout(resolve, 1_500);
    });
    expect(ran).toEqual(["first"]);
  });

  it("dispose stops every pending timer", async () => {
    clock = createClock(1000, 0);
    const fn = vi.fn();
    clock.setTimeout(fn, 10);
    clock.dispose();
    const other = createClock(1000, 0);
    await new Promise<void>(resolve => other.setTimeout(resolve, 100));
    other.dispose();
    expect(fn).not.toHaveBeenCalled();
  });
});
