/**
 * What the README's install steps say agrees with the files they install: the Node versions
 * (README against package.json's engines), the operator's memory (README against the manifest),
 * and the samples' prerequisites (a drill copying Secrets names the binding it needs).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = join(import.meta.dirname, "../..");
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const README = read("README.md");

interface Manager {
  spec: {
    template: {
      spec: {
        containers: {
          image: string;
          resources: { requests: { memory: string }; limits: { memory: string } };
        }[];
      };
    };
  };
}

describe("the install steps agree with what they install", () => {
  it("the README's lowest Node is the one package.json's engines accepts", () => {
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines;
    const readme = /any Node from (\d+) on/.exec(README)?.[1];
    expect(readme, "the README names the lowest Node").toBeDefined();
    expect(engines.node).toBe(`>=${readme ?? ""}`);
  });

  it("the README's memory request and limit are the manifest's", () => {
    const manager = parse(read("config/manager/deployment.yaml")) as Manager;
    const resources = manager.spec.template.spec.containers[0]?.resources;
    const m = /requests (\d+Mi) and limits each replica to (\d+Mi)/.exec(README);
    expect(m, "the README states the memory request and limit").not.toBeNull();
    expect([resources?.requests.memory, resources?.limits.memory]).toEqual([m?.[1], m?.[2]]);
  });

  it("every sample that copies Secrets says which role binding it needs", () => {
    const dir = "config/samples";
    const copying = readdirSync(join(ROOT, dir)).filter(f => {
      const text = read(join(dir, f));
      return f.endsWith(".yaml") && /copySecrets:\s*\[\s*"/.test(text);
    });
    expect(copying.length).toBeGreaterThan(0);
    for (const file of copying)
      expect(read(join(dir, file)), file).toContain("--clusterrole=rollback-drill-secret-reader");
  });
});
