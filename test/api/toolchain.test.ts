/**
 * The project runs on Node 24 LTS whatever Node launched npm: the registry's `node` package is a
 * pinned devDependency, and npm puts its binary first on PATH for every script (so `npm test`
 * runs this file on it). If the pin or its install script approval is lost, this fails.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

describe("the toolchain", () => {
  it("runs the tests on the pinned Node 24", () => {
    expect(pkg.devDependencies["node"]).toMatch(/^24\.\d+\.\d+$/);
    expect(process.versions.node).toBe(pkg.devDependencies["node"]);
  });

  it("lets npm run the node package's install script, which fetches the runtime", () => {
    expect(pkg.allowScripts["node"]).toBe(true);
    // The lowest Node that runs `npm ci` (which then fetches Node 24) and the built CLI: the demo
    // ran on Node 20.20. test/config/install.test.ts keeps the README saying the same.
    expect(pkg.engines.node).toBe(">=20");
  });
});
