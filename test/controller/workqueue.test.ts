import { describe, expect, it } from "vitest";
import { createManualClock } from "../../src/controller/clock.ts";
import { createWorkqueue } from "../../src/controller/workqueue.ts";

function setup(options: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
  const clock = createManualClock(new Date("2026-01-01T00:00:00Z"));
  const depths: number[] = [];
  const queue = createWorkqueue({ clock, ...options, onDepth: d => depths.push(d) });
  return { clock, queue, depths };
}

describe("workqueue", () => {
  it("de-duplicates a key added many times while it waits", async () => {
    const { queue } = setup();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
    expect(queue.len()).toBe(0);
  });

  it("never hands a key in flight to a second worker, and requeues it once when done", async () => {
    const { queue } = setup();
    queue.add("ns/a");
    const first = await queue.get();
    expect(first).toBe("ns/a");
    queue.add("ns/a");
    queue.add("ns/a");
    expect(queue.len()).toBe(0);
    let second: string | undefined;
    void queue.get().then(k => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    queue.done("ns/a");
    await Promise.resolve();
    expect(second).toBe("ns/a");
    queue.done("ns/a");
    expect(queue.len()).toBe(0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const { queue } = setup();
    const next = queue.get();
    queue.add("ns/x");
    await expect(next).resolves.toBe("ns/x");
  });

  it("addAfter waits on the clock, and the earliest of two schedules wins", async () => {
    const { clock, queue } = setup();
    queue.addAfter("ns/a", 10_000);
    queue.addAfter("ns/a", 3_000);
    queue.addAfter("ns/a", 20_000);
    clock.advance(2_999);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("ns/a");
    queue.done("ns/a");
    clock.advance(60_000);
    expect(queue.len()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it("backs off per key exponentially up to the cap, and forget resets it", async () => {
    const { clock, queue } = setup({ baseDelayMs: 100, maxDelayMs: 500 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now().getTime();
      queue.addRateLimited("ns/a");
      let waited = 0;
      while (queue.len() === 0 && waited < 10_000) {
        clock.advance(1);
        waited++;
      }
      delays.push(clock.now().getTime() - start);
      expect(waited).toBe(delays.at(-1));
      queue.done((await queue.get())!);
    }
    expect(delays).toEqual([100, 200, 400, 500, 500]);
    expect(queue.retries("ns/a")).toBe(5);
    expect(queue.retries("ns/b")).toBe(0);
    queue.forget("ns/a");
    expect(queue.retries("ns/a")).toBe(0);
  });

  it("keeps back-off separate per key", () => {
    const { clock, queue } = setup({ baseDelayMs: 100 });
    queue.addRateLimited("ns/a");
    queue.addRateLimited("ns/a");
    queue.addRateLimited("ns/b");
    clock.advance(100);
    expect(queue.len()).toBe(2);
  });

  it("shutdown releases idle workers, cancels delayed keys, and drain waits for keys in flight", async () => {
    const { clock, queue } = setup();
    queue.add("ns/a");
    queue.addAfter("ns/b", 1_000);
    const inFlight = await queue.get();
    const idle = queue.get();
    queue.add("ns/c");
    expect(await idle).toBe("ns/c");
    const idle2 = queue.get();
    queue.shutdown();
    expect(await idle2).toBeUndefined();
    expect(await queue.get()).toBeUndefined();
    expect(clock.pending()).toBe(0);
    queue.add("ns/d");
    expect(queue.len()).toBe(0);
    let drained = false;
    const drain = queue.drain().then(() => (drained = true));
    queue.done(inFlight!);
    await Promise.resolve();
    expect(drained).toBe(false);
    queue.done("ns/c");
    await drain;
    expect(drained).toBe(true);
    expect(queue.isShutdown).toBe(true);
  });

  it("reports its depth as keys come and go", async () => {
    const { queue, depths } = setup();
    queue.add("a");
    queue.add("b");
    await queue.get();
    expect(depths).toEqual([1, 2, 1]);
  });
});
