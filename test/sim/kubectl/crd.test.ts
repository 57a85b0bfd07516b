/**
 * The project's CRD and samples through kubectl: apply (client-side and --server-side), the
 * additionalPrinterColumns in get (default, wide, yaml, -w), and the schema and CEL rejections a
 * real apiserver answers. Sources: staging/src/k8s.io/kubectl/pkg/cmd/apply/apply.go (the
 * created/configured/unchanged/serverside-applied operations), apiextensions-apiserver
 * pkg/registry/customresource/tableconvertor (printer columns) and
 * pkg/registry/customresource/strategy.go (validation, CEL).
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HAS_KUBECTL, NEEDS_KUBECTL, columns, kubectlSimForBlock, lines } from "./harness.ts";

const ROOT = join(import.meta.dirname, "../../..");
const CRD_FILE = join(ROOT, "crds/rollbackdrills.rollbackdrill.io.yaml");
const CRD = "customresourcedefinition.apiextensions.k8s.io/rollbackdrills.rollbackdrill.io";

/** The sample drills (kustomization.yaml is kustomize's, not an object to apply). */
async function samples(): Promise<{ files: string[]; names: string[] }> {
  const dir = join(ROOT, "config/samples");
  const files = (await readdir(dir))
    .filter(f => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .sort()
    .map(f => join(dir, f));
  const names = await Promise.all(
    files.map(
      async f => (parse(await readFile(f, "utf8")) as { metadata: { name: string } }).metadata.name,
    ),
  );
  return { files, names };
}

function badDrill(spec: string): string {
  return [
    "apiVersion: rollbackdrill.io/v1alpha1",
    "kind: RollbackDrill",
    "metadata:",
    "  name: bad",
    "  namespace: shop",
    "spec:",
    spec,
  ].join("\n");
}

describe.skipIf(!HAS_KUBECTL)(
  `kubectl and the RollbackDrill CRD ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    const k = kubectlSimForBlock();

    it("applies the CRD and the samples client-side and server-side", async () => {
      // apply.go: created, then unchanged for the same manifest, serverside-applied with --server-side.
      expect(await k.kubectl("apply", "-f", CRD_FILE)).toBe(`${CRD} created\n`);
      expect(await k.kubectl("apply", "-f", CRD_FILE)).toBe(`${CRD} unchanged\n`);
      expect(await k.kubectl("apply", "--server-side", "-f", CRD_FILE)).toBe(
        `${CRD} serverside-applied\n`,
      );
      // cmd/wait: the Established condition (apiextensions-apiserver establishing controller).
      expect(
        await k.kubectl(
          "wait",
          "--for=condition=Established",
          "crd/rollbackdrills.rollbackdrill.io",
        ),
      ).toBe(`${CRD} condition met\n`);

      await k.kubectl("create", "namespace", "shop");
      const { files, names } = await samples();
      expect(files.length).toBeGreaterThan(1);
      const args = files.flatMap(f => ["-f", f]);
      const said = (op: string): string =>
        names.map(n => `rollbackdrill.rollbackdrill.io/${n} ${op}\n`).join("");
      expect(await k.kubectl("apply", ...args)).toBe(said("created"));
      expect(await k.kubectl("apply", ...args)).toBe(said("unchanged"));
      expect(await k.kubectl("apply", "--server-side", ...args)).toBe(said("serverside-applied"));

      // -o yaml: the stored object, with the schema's defaults filled in (structural defaulting).
      const web = parse(
        await k.kubectl("get", "rollbackdrill", "web", "-n", "shop", "-o", "yaml"),
      ) as {
        apiVersion: string;
        kind: string;
        metadata: { generation: number; annotations: Record<string, string> };
        spec: { targetRef: Record<string, string>; checks: Record<string, unknown> };
      };
      expect([web.apiVersion, web.kind]).toEqual(["rollbackdrill.io/v1alpha1", "RollbackDrill"]);
      expect(web.metadata.generation).toBe(1);
      expect(Object.keys(web.metadata.annotations)).toContain(
        "kubectl.kubernetes.io/last-applied-configuration",
      );
      expect(web.spec.targetRef).toEqual({
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "web",
      });
      expect(web.spec.checks).toMatchObject({ stableSeconds: 30, timeoutSeconds: 600 });
    });

    it("prints the printer columns, wide columns and a watched status change", async () => {
      // tableconvertor: NAME, then each additionalPrinterColumn with priority 0 (upper-cased by
      // kubectl's table printer); -o wide adds those with priority > 0.
      const table = lines(await k.kubectl("get", "rollbackdrills", "-n", "shop"));
      expect(columns(table[0] ?? "")).toEqual([
        "NAME",
        "TARGET",
        "PHASE",
        "VERDICT",
        "REASON",
        "FROM",
        "TO",
        "RTO",
        "LAST RUN",
        "AGE",
      ]);
      const { names } = await samples();
      expect(table.slice(1).map(l => columns(l)[0])).toEqual([...names].sort());
      const wide = lines(await k.kubectl("get", "rollbackdrills", "-n", "shop", "-o", "wide"));
      expect(columns(wide[0] ?? "").slice(10)).toEqual([
        "FROM DIGEST",
        "TO DIGEST",
        "DIGEST CHECK",
        "NEXT RUN",
      ]);

      // A status written through the status subresource shows up in the columns and in -w.
      // Done once the whole row has arrived: kubectl may write it in more than one chunk.
      const watch = k.watch(["get", "rollbackdrill", "web", "-n", "shop", "-w"], out =>
        /\nweb\s+web\s+Idle\s+Passed\s[^\n]*\n/.test(out),
      );
      await watch.started;
      const status = {
        status: {
          phase: "Idle",
          nextRunTime: "2099-01-02T02:30:00Z",
          verdict: "Passed",
          reason: "Passed",
          lastRun: {
            id: "1",
            trigger: "Created",
            startTime: "2026-01-02T03:04:05Z",
            completionTime: "2026-01-02T03:05:05Z",
            verdict: "Passed",
            fromRevision: 3,
            toRevision: 2,
            rollbackSeconds: 12.5,
          },
        },
      };
      expect(
        await k.kubectl(
          "patch",
          "rollbackdrill",
          "web",
          "-n",
          "shop",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify(status),
        ),
      ).toBe("rollbackdrill.rollbackdrill.io/web patched\n");
      const watched = lines(await watch.done);
      expect(columns(watched[0] ?? "")[0]).toBe("NAME");
      const row = columns(watched.at(-1) ?? "");
      // integer and number columns print as the JSON numbers; the date column as an age.
      expect(row.slice(0, 8)).toEqual(["web", "web", "Idle", "Passed", "Passed", "3", "2", "12.5"]);
      expect(row[8]).toMatch(/^\d+[smhdy]/);
      // NEXT RUN, a time to come, prints as itself (a date column would print <invalid>).
      const wideRow = lines(
        await k.kubectl("get", "rollbackdrill", "web", "-n", "shop", "-o", "wide"),
      );
      expect(columns(wideRow[1] ?? "").at(-1)).toBe("2099-01-02T02:30:00Z");
      // The main resource ignores status, so the generation did not move (status subresource).
      expect(
        await k.kubectl(
          "get",
          "rollbackdrill",
          "web",
          "-n",
          "shop",
          "-o",
          "jsonpath={.metadata.generation}",
        ),
      ).toBe("1");
    });

    it("rejects drills that break the schema or a CEL rule, worded as the apiserver does", async () => {
      // strategy.go Validate: CEL rules (x-kubernetes-validations) report at their fieldPath with the
      // schema type as the value ("object"); the spec's rule comes before the nested checks' rule.
      const cel = await k.file(
        "cel.yaml",
        badDrill(
          [
            "  targetRef: { kind: Deployment, name: web }",
            "  timeZone: Europe/Paris",
            "  checks: { stableSeconds: 900, timeoutSeconds: 60 }",
          ].join("\n"),
        ),
      );
      const celResult = await k.run("apply", "-f", cel);
      expect(celResult.code).toBe(1);
      expect(celResult.stderr).toBe(
        [
          'The RollbackDrill "bad" is invalid: ',
          '* spec.timeZone: Invalid value: "object": timeZone requires schedule',
          '* spec.checks.stableSeconds: Invalid value: "object": stableSeconds must be less than timeoutSeconds',
          "",
        ].join("\n"),
      );

      // An enum failure is blocking: CEL is skipped with the apiserver's note (hasBlockingErr).
      const schema = await k.file(
        "schema.yaml",
        badDrill("  targetRef: { kind: CronJob, name: web }\n  timeZone: Europe/Paris"),
      );
      const schemaResult = await k.run("apply", "--server-side", "-f", schema);
      expect(schemaResult.code).toBe(1);
      const errs = schemaResult.stderr.split("\n");
      expect(errs[0]).toBe('The RollbackDrill "bad" is invalid: ');
      expect(errs[1]).toBe(
        '* spec.targetRef.kind: Unsupported value: "CronJob": supported values: "Deployment", "StatefulSet", "DaemonSet"',
      );
      expect(errs[2]).toMatch(
        /^\* <nil>: Invalid value: "?null"?: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation$/,
      );
      // Nothing was stored.
      const get = await k.run("get", "rollbackdrill", "bad", "-n", "shop");
      expect(get.stderr).toBe(
        'Error from server (NotFound): rollbackdrills.rollbackdrill.io "bad" not found\n',
      );
    });
  },
);

describe.skipIf(!HAS_KUBECTL)(
  `kubectl apply -f crds/ and -k config/crd, the two ways users install the CRD ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    const k = kubectlSimForBlock();

    it("crds/ holds only manifests, so the plain form applies the CRD and exits 0", async () => {
      const r = await k.run("apply", "-f", join(ROOT, "crds"));
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${CRD} created\n` });
    });

    it("config/crd's kustomization renders the same CRD, and -k applies it", async () => {
      const rendered = await k.kubectl("kustomize", join(ROOT, "config/crd"));
      const file = await readFile(CRD_FILE, "utf8");
      expect(parse(rendered)).toEqual(parse(file));
      expect(await k.kubectl("apply", "-k", join(ROOT, "config/crd"))).toBe(`${CRD} unchanged\n`);
    });
  },
);
