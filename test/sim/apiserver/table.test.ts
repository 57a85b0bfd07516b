import { describe, expect, it } from "vitest";
import { createCatalogue } from "../../../src/sim/catalogue.ts";
import { evalJsonPath, humanDuration, podStatus, toTable } from "../../../src/sim/table.ts";
import type { KubeObject, ResourceInfo } from "../../../src/sim/types.ts";
import { DEPLOY, deployment, PODS } from "./helpers.ts";

const catalogue = createCatalogue();
const NOW = Date.UTC(2026, 0, 2, 4, 0, 0);

describe("server-side tables", () => {
  // k8s.io/apimachinery/pkg/util/duration/duration.go: HumanDuration
  it.each([
    [5_000, "5s"],
    [119_000, "119s"],
    [125_000, "2m5s"],
    [600_000, "10m"],
    [3 * 3600_000 + 60_000, "3h1m"],
    [30 * 3600_000, "30h"],
    [3 * 86400_000 + 3600_000, "3d1h"],
    [400 * 86400_000, "400d"],
    [3 * 365 * 86400_000, "3y"],
    [-5_000, "<invalid>"],
  ])("HumanDuration(%d ms) = %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  // pkg/printers/internalversion/printers.go: deploymentColumnDefinitions, printDeployment
  it("prints deployments with the real columns and wide priority", () => {
    const d = {
      ...deployment("web", 3),
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    d.metadata.creationTimestamp = "2026-01-02T03:55:00Z";
    const table = toTable(catalogue.byGVR(DEPLOY)!, [d], {
      nowMs: NOW,
      includeObject: "Metadata",
    }) as {
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    expect(table.columnDefinitions.map(c => `${c.name}:${c.priority}`)).toEqual([
      "Name:0",
      "Ready:0",
      "Up-to-date:0",
      "Available:0",
      "Age:0",
      "Containers:1",
      "Images:1",
      "Selector:1",
    ]);
    expect(table.rows[0]?.cells).toEqual(["web", "2/3", 3, 2, "5m", "app", "nginx:1", "app=web"]);
    expect(table.rows[0]?.object.kind).toBe("PartialObjectMetadata");
  });

  // printers.go: printPod status logic
  it("derives the pod STATUS column like printPod", () => {
    const pod = (status: object, meta: object = {}): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", ...meta },
      spec: { containers: [{ name: "c" }], initContainers: [{ name: "i" }] },
      status,
    });
    const waiting = {
      phase: "Running",
      initContainerStatuses: [{ state: { terminated: { exitCode: 0 } } }],
      containerStatuses: [{ restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } } }],
    };
    expect(podStatus(pod(waiting)).reason).toBe("CrashLoopBackOff");
    expect(podStatus(pod(waiting)).restarts).toBe(4);
    expect(
      podStatus(
        pod({
          phase: "Pending",
          initContainerStatuses: [{ state: { waiting: { reason: "PodInitializing" } } }],
        }),
      ).reason,
    ).toBe("Init:0/1");
    expect(
      podStatus(
        pod({
          phase: "Pending",
          initContainerStatuses: [{ state: { terminated: { exitCode: 2 } } }],
        }),
      ).reason,
    ).toBe("Init:ExitCode:2");
    const running = {
      phase: "Running",
      containerStatuses: [{ ready: true, state: { running: {} } }],
    };
    expect(podStatus(pod(running, { deletionTimestamp: "2026-01-02T03:00:00Z" })).reason).toBe(
      "Terminating",
    );
    expect(
      podStatus(
        pod({
          phase: "Succeeded",
          containerStatuses: [{ state: { terminated: { exitCode: 0, reason: "Completed" } } }],
        }),
      ).reason,
    ).toBe("Completed");
    const table = toTable(catalogue.byGVR(PODS)!, [pod(running)], {
      nowMs: NOW,
      includeObject: "None",
    }) as { rows: { cells: unknown[]; object?: unknown }[] };
    expect(table.rows[0]?.cells.slice(0, 4)).toEqual(["p", "1/1", "Running", "0"]);
    expect(table.rows[0]?.object).toBeUndefined();
  });

  // apiextensions-apiserver/.../tableconvertor/tableconvertor.go: additionalPrinterColumns
  it("prints custom resources from additionalPrinterColumns", () => {
    const crd: KubeObject = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "drills.example.com" },
      spec: {
        versions: [
          {
            name: "v1",
            additionalPrinterColumns: [
              { name: "Verdict", type: "string", jsonPath: ".status.lastRun.verdict" },
              {
                name: "Ready",
                type: "string",
                jsonPath: '.status.conditions[?(@.type=="Ready")].status',
              },
              { name: "Runs", type: "integer", jsonPath: ".status.runs", priority: 1 },
            ],
          },
        ],
      },
    };
    const info: ResourceInfo = {
      group: "example.com",
      version: "v1",
      resource: "drills",
      singular: "drill",
      kind: "Drill",
      listKind: "DrillList",
      namespaced: true,
      verbs: [],
      subresources: [],
      crd,
    };
    const cr: KubeObject = {
      apiVersion: "example.com/v1",
      kind: "Drill",
      metadata: { name: "d1" },
      status: { lastRun: { verdict: "Passed" }, conditions: [{ type: "Ready", status: "True" }] },
    };
    const table = toTable(info, [cr], { nowMs: NOW, includeObject: "Metadata" }) as {
      columnDefinitions: { name: string; description: string }[];
      rows: { cells: unknown[] }[];
    };
    expect(table.columnDefinitions.map(c => c.name)).toEqual(["Name", "Verdict", "Ready", "Runs"]);
    expect(table.columnDefinitions[1]?.description).toBe(
      "Custom resource definition column (in JSONPath format): .status.lastRun.verdict",
    );
    expect(table.rows[0]?.cells).toEqual(["d1", "Passed", "True", null]);
    expect(evalJsonPath({ a: [{ b: 1 }, { b: 2 }] }, "{.a[*].b}")).toEqual([1, 2]);
  });
});
