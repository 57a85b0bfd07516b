/**
 * The simulator is a package of its own (src/sim/package.json): its manifest names the entry points
 * other code may import (the lint holds everyone to them) and the packages it loads, and those are
 * exactly what its sources import, at the versions the repository installs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const simDir = join(root, "src/sim");

interface Manifest {
  name?: string;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const read = (file: string): Manifest => JSON.parse(readFileSync(file, "utf8")) as Manifest;
const sim = read(join(simDir, "package.json"));
const repo = read(join(root, "package.json"));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The packages a source imports by bare name (not node: modules, not relative files). */
function packagesImported(file: string): string[] {
  const names: string[] = [];
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  for (const { fileName: specifier } of importedFiles) {
    if (specifier.startsWith(".")) continue;
    const parts = specifier.split("/");
    const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
    if (specifier.startsWith("node:") || builtinModules.includes(name)) continue;
    names.push(name);
  }
  return names;
}

describe("the simulator's package", () => {
  it("is named, and every entry point it exports exists", () => {
    expect(sim.name).toBe("@rollback-drill/sim");
    const entries = Object.values(sim.exports ?? {});
    expect(entries).toContain("./index.ts");
    expect(entries).toContain("./contract.ts");
    for (const entry of entries) expect(() => readFileSync(join(simDir, entry))).not.toThrow();
  });

  it("lists exactly the packages its sources import, at the versions the repository installs", () => {
    const imported = new Set(sources(simDir).flatMap(packagesImported));
    expect(Object.keys(sim.dependencies ?? {}).sort()).toEqual([...imported].sort());
    const installed = { ...repo.dependencies, ...repo.devDependencies };
    for (const [name, range] of Object.entries(sim.dependencies ?? {}))
      expect(installed[name], name).toBe(range);
  });

  it("keeps its wire contract free of imports, so any layer may depend on it", () => {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(simDir, "contract.ts"), "utf8"));
    expect(importedFiles).toEqual([]);
  });
});
