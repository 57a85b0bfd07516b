import { describe, expect, it } from "vitest";
import { aDrill, aPod, aTarget, aTemplate, sha } from "./builders.ts";
import { World } from "./world.ts";

const M = aTemplate([{ name: "app", image: "registry.example.com/web@" + sha("m") }]);
const N = aTemplate([{ name: "app", image: "registry.example.com/web@" + sha("n") }]);

describe("a whole run", () => {
  it("passes for a pinned, healthy target", () => {
    const target = aTarget([
      { revision: 1, template: M },
      { revision: 2, template: N, digests: { app: sha("n") } },
    ]);
    const world = new World(aDrill(), target, (t, hash) => [
      aPod(`p-${hash}`, hash, t, { app: t === M ? sha("m") : sha("n") }),
    ]);
    world.kubelet = (t, hash) => [
      aPod(`p-${hash}`, hash, t, { app: t.spec.containers[0]!.image.split("@")[1]! }),
    ];
    world.runToEnd();
    const status = world.drill.status!;
    expect(status.lastRun?.verdict).toBe("Passed");
  });
});
