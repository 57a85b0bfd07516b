/**
 * config/prometheus against the metrics the operator really exposes: every expression parses with
 * the Prometheus team's own PromQL grammar (@prometheus-io/lezer-promql, the parser of the
 * Prometheus UI), every metric an alert names is exposed (with the series the registry serves for
 * a drill), every label a matcher, a grouping or an annotation uses exists on it, and the
 * ServiceMonitor scrapes the metrics Service's port.
 */
import { readFile } from "node:fs/promises";
import { parser as promql } from "@prometheus-io/lezer-promql";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import type { RollbackDrill } from "../../src/api/types.ts";
import { createMetrics, recordRun } from "../../src/controller/metrics.ts";
import { parseExposition } from "./metrics-exposition.ts";

const CONFIG = new URL("../../config/", import.meta.url);

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

async function yamlOf(path: string): Promise<Record<string, unknown>> {
  return parse(await readFile(new URL(path, CONFIG), "utf8")) as Record<string, unknown>;
}

async function rules(): Promise<Rule[]> {
  const doc = (await yamlOf("prometheus/prometheusrule.yaml")) as {
    kind: string;
    spec: { groups: { rules: Rule[] }[] };
  };
  expect(doc.kind).toBe("PrometheusRule");
  return doc.spec.groups.flatMap(g => g.rules);
}

/** Metric name -> the label names its series carry, from the registry's own exposition. */
async function exposedLabels(): Promise<Map<string, Set<string>>> {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const drill = {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: {
      namespace: "ns",
      name: "d",
      uid: "u",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: { targetRef: { kind: "Deployment", name: "web" }, toRevision: 0 },
    status: {
      lastRun: {
        id: "1",
        trigger: "Created",
        startTime: "2026-01-01T00:00:00Z",
        verdict: "Passed",
      },
      lastSuccessTime: "2026-01-01T00:01:00Z",
    },
  } as unknown as RollbackDrill;
  metrics.observe({
    drills: () => [drill],
    target: () => undefined,
    nowMs: () => Date.UTC(2026, 0, 2),
  });
  recordRun(
    metrics,
    { namespace: "ns", name: "d" },
    {
      verdict: "Passed",
      reason: "Passed",
      durationSeconds: 10,
      rollbackSeconds: 3,
    },
  );
  metrics.reconcileTotal.inc({ controller: "rollbackdrill", result: "success" });
  metrics.reconcileErrors.inc({ controller: "rollbackdrill" });
  metrics.workqueueDepth.set({ name: "rollbackdrill" }, 0);
  const labels = new Map<string, Set<string>>();
  for (const sample of parseExposition(await registry.metrics()).samples) {
    const set = labels.get(sample.name) ?? new Set<string>();
    for (const name of Object.keys(sample.labels)) set.add(name);
    labels.set(sample.name, set);
  }
  return labels;
}

/** The expression without its string literals (so brackets and names inside them are ignored). */
function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

function isBalanced(expr: string): boolean {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: string[] = [];
  for (const ch of withoutStrings(expr)) {
    if ("([{".includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

const METRIC = /\b(?:rollbackdrill|controller_runtime|workqueue)_[a-z_]+\b/g;

describe("config/prometheus", () => {
  it("alerts on what issue 5 asks, each with summary, description and runbook", async () => {
    const all = await rules();
    expect(all.map(r => r.alert).sort()).toEqual([
      "RollbackDrillFailing",
      "RollbackDrillStale",
      "RollbackNotRehearsed",
    ]);
    for (const rule of all) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smhdwy]$/);
      expect(rule.labels["severity"], rule.alert).toMatch(/^(critical|warning|info)$/);
      for (const key of ["summary", "description", "runbook"])
        expect(rule.annotations[key]?.length ?? 0, `${rule.alert} ${key}`).toBeGreaterThan(20);
    }
  });

  it("has expressions that parse as PromQL", async () => {
    for (const rule of await rules()) expect(promqlErrors(rule.expr), rule.alert).toEqual([]);
  });

  it("uses only metrics and labels the registry exposes, with balanced brackets", async () => {
    const exposed = await exposedLabels();
    for (const rule of await rules()) {
      const expr = rule.expr;
      expect(isBalanced(expr), `${rule.alert}: ${expr}`).toBe(true);
      const names = withoutStrings(expr).match(METRIC) ?? [];
      expect(names.length, rule.alert).toBeGreaterThan(0);
      const labels = new Set<string>();
      for (const name of names) {
        const known = exposed.get(name);
        expect(
          known,
          `${rule.alert} names ${name}, which the operator does not expose`,
        ).toBeDefined();
        for (const label of known ?? []) labels.add(label);
      }
      // Matchers: {label="x", label!~"y"}.
      for (const block of expr.matchAll(/\{([^}]*)\}/g))
        for (const m of (block[1] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g))
          expect(labels, `${rule.alert}: matcher on ${m[1] ?? ""}`).toContain(m[1]);
      // Grouping: by (...), without (...), on (...), ignoring (...).
      const grouped = [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap(g =>
        (g[1] ?? "")
          .split(",")
          .map(l => l.trim())
          .filter(l => l !== ""),
      );
      for (const label of grouped)
        expect(labels, `${rule.alert}: groups by ${label}`).toContain(label);
      // Annotations may only use labels the alert's series carry.
      const carried = /\bby\s*\(/.test(expr) ? new Set(grouped) : labels;
      for (const text of Object.values(rule.annotations))
        for (const m of text.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g))
          expect(carried, `${rule.alert}: annotation uses $labels.${m[1] ?? ""}`).toContain(m[1]);
    }
  });

  it("scrapes the metrics Service's named port", async () => {
    const monitor = (await yamlOf("prometheus/servicemonitor.yaml")) as {
      kind: string;
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    const service = (await yamlOf("manager/service.yaml")) as {
      metadata: { labels: Record<string, string> };
      spec: { ports: { name: string }[] };
    };
    expect(monitor.kind).toBe("ServiceMonitor");
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.spec.ports.map(p => p.name)).toContain(monitor.spec.endpoints[0]?.port);
    expect(monitor.spec.endpoints[0]?.path).toBe("/metrics");
    const kustomization = (await yamlOf("prometheus/kustomization.yaml")) as {
      resources: string[];
    };
    expect(kustomization.resources.sort()).toEqual(["prometheusrule.yaml", "servicemonitor.yaml"]);
    // Each file is one document.
    for (const file of kustomization.resources)
      expect(
        parseAllDocuments(await readFile(new URL(`prometheus/${file}`, CONFIG), "utf8")),
      ).toHaveLength(1);
  });
});

/** Positions where the PromQL grammar could not parse the expression (error nodes), if any. */
function promqlErrors(expr: string): number[] {
  const errors: number[] = [];
  promql.parse(expr).iterate({
    enter: node => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
}

describe("the checks themselves", () => {
  it("reject PromQL that does not parse", () => {
    expect(promqlErrors("max by (a) (rate(m[5m])) > 1")).toEqual([]);
    expect(promqlErrors("max by (a) (rate(m[5m]) > ")).not.toEqual([]);
    expect(promqlErrors("m{a=}")).not.toEqual([]);
  });

  it("catch unbalanced brackets and ignore those in strings", () => {
    expect(isBalanced('max by (a) (m{x="("})')).toBe(true);
    expect(isBalanced("max by (a (m)")).toBe(false);
    expect(isBalanced('m{a="b"]')).toBe(false);
  });
});
