import { describe, expect, it } from "vitest";
import { digestOf, evaluateDigests, parseImageRef } from "../../src/core/digest.ts";
import { externalOwnerWarning } from "../../src/core/preflight.ts";
import { objectsToLookUp } from "../../src/core/refs.ts";
import { equalIgnoreHash, resolveRevisions } from "../../src/core/revisions.ts";
import { sandboxNameFor, undoPatch } from "../../src/core/sandbox.ts";
import { validate } from "../../src/core/validate.ts";
import {
  aCompleteDeployment,
  aDrill,
  anObserved,
  aPod,
  aReplicaSet,
  aTarget,
  aTemplate,
  sha,
  T0,
  TARGET_UID,
  withHash,
} from "./builders.ts";

describe("image references", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest", "latest", undefined],
    ["nginx:1.25", "docker.io/library/nginx:1.25", "1.25", undefined],
    ["shop/web", "docker.io/shop/web:latest", "latest", undefined],
    ["registry.example.com:5000/web:v1", "registry.example.com:5000/web:v1", "v1", undefined],
    ["localhost/web", "localhost/web:latest", "latest", undefined],
    [`web@${sha("a")}`, `docker.io/library/web@${sha("a")}`, undefined, sha("a")],
    [`web:v1@${sha("a")}`, `docker.io/library/web:v1@${sha("a")}`, "v1", sha("a")],
    ["index.docker.io/library/nginx:1", "docker.io/library/nginx:1", "1", undefined],
  ])("%s -> %s", (ref, normalized, tag, digest) => {
    const parsed = parseImageRef(ref);
    expect(parsed.normalized).toBe(normalized);
    expect(parsed.tag).toBe(tag);
    expect(parsed.digest).toBe(digest);
  });

  it.each([
    [`docker.io/library/nginx@${sha("a")}`, sha("a")],
    [`docker-pullable://nginx@${sha("a")}`, sha("a")],
    [sha("a"), sha("a")],
    ["docker://sha256:abc", undefined],
    [undefined, undefined],
  ])("the digest of imageID %s", (imageId, digest) => {
    expect(digestOf(imageId)).toBe(digest);
  });
});

describe("digest rules", () => {
  const tagged = (image: string) => aTemplate([{ name: "app", image }]);
  const pods = (digest: string) => [aPod("p", "s3", tagged("x"), { app: digest })];
  const base = { fromRevision: 2, toRevision: 1 };

  it.each([
    [
      "same mutable tag, tag moved",
      "app:latest",
      "app:latest",
      sha("B"),
      sha("B"),
      undefined,
      "SameDigest",
    ],
    [
      // Production's pods run a cached older build of the tag; the sandbox pulls anew. A real undo
      // changes no image: cached nodes run the broken build again, others pull the new one.
      "same mutable tag, old image still there",
      "app:latest",
      "app:latest",
      sha("B"),
      sha("A"),
      undefined,
      "SameDigest",
    ],
    [
      "same mutable tag, what ran unknown",
      "app:stable",
      "app:stable",
      undefined,
      sha("A"),
      undefined,
      "UnverifiedDigest",
    ],
    [
      "same mutable tag, even when the ledger saw revision 1 run what the sandbox pulled",
      "app:stable",
      "docker.io/library/app:stable",
      sha("B"),
      sha("A"),
      sha("A"),
      "SameDigest",
    ],
    [
      "different tags that resolve to one image",
      "app:v2",
      "app:v1",
      sha("B"),
      sha("B"),
      undefined,
      "SameDigest",
    ],
    [
      "identical pinned refs: a configuration-only rollback",
      `app@${sha("A")}`,
      `app@${sha("A")}`,
      sha("A"),
      sha("A"),
      undefined,
      "Passed",
    ],
    [
      "the same pinned digest, written differently: still configuration only",
      `registry.example.com/app:1.0@${sha("A")}`,
      `registry.example.com/app@${sha("A")}`,
      sha("A"),
      sha("A"),
      undefined,
      "Passed",
    ],
    [
      "pinned target, runs what it pins",
      `app@${sha("B")}`,
      `app@${sha("A")}`,
      sha("B"),
      sha("A"),
      undefined,
      "Passed",
    ],
    [
      "pinned target, runs something else",
      `app@${sha("B")}`,
      `app@${sha("A")}`,
      sha("B"),
      sha("C"),
      undefined,
      "DigestMismatch",
    ],
    [
      "ledger knows revision 1, tag moved since",
      "app:v2",
      "app:v1",
      sha("B"),
      sha("C"),
      sha("A"),
      "DigestMismatch",
    ],
    [
      "ledger knows revision 1, still the same",
      "app:v2",
      "app:v1",
      sha("B"),
      sha("A"),
      sha("A"),
      "Passed",
    ],
    [
      "a tag nothing saw revision 1 run: the sandbox's pull proves only today's tag",
      "app:v2",
      "app:v1",
      sha("B"),
      sha("A"),
      undefined,
      "UnverifiedDigest",
    ],
    [
      "broken digest unknown, and the target's digest too",
      "app:v2",
      "app:v1",
      undefined,
      sha("A"),
      undefined,
      "UnverifiedDigest",
    ],
  ])("%s -> %s", (...row) => {
    const [name, fromImage, toImage, broken, running, ledger, verdict] = row;
    const result = evaluateDigests({
      ...base,
      fromTemplate: tagged(fromImage),
      toTemplate: tagged(toImage),
      rolledBackPods: pods(running),
      brokenDigests: broken === undefined ? [] : [{ name: "app", digest: broken }],
      ...(ledger === undefined
        ? {}
        : {
            ledger: {
              revision: 1,
              observedTime: "2024-12-01T00:00:00Z",
              containers: [{ name: "app", image: toImage, digest: ledger }],
            },
          }),
    });
    expect(result.evidence[0]?.verdict).toBe(verdict);
    expect(result.finding?.reason ?? "Passed").toBe(verdict);
    expect(result.evidence[0]?.digestCheck).toBe(
      verdict !== "Passed"
        ? "Failed"
        : name.includes("configuration")
          ? "NotApplicable"
          : "Verified",
    );
    if (result.finding !== undefined) {
      expect(result.finding.message).toContain('container "app"');
      expect(result.finding.message).toContain(running);
      expect(result.finding.message).toMatch(/Pin images by digest/);
    }
  });

  it("same mutable tag: names the reference, both digests and which pod ran what on which node", () => {
    const image = "registry.example.com/shop/worker:stable";
    const broken = [
      { ...aPod("w-1", "h2", tagged(image), { app: sha("A") }), spec: { nodeName: "node-1" } },
      { ...aPod("w-2", "h2", tagged(image), { app: sha("B") }), spec: { nodeName: "node-2" } },
    ];
    const result = evaluateDigests({
      ...base,
      fromTemplate: tagged(image),
      toTemplate: tagged(image),
      rolledBackPods: pods(sha("C")),
      brokenDigests: [
        { name: "app", digest: sha("A") },
        { name: "app", digest: sha("B") },
      ],
      brokenPods: broken,
    });
    expect(result.finding?.reason).toBe("SameDigest");
    const message = result.finding?.message ?? "";
    for (const words of [
      image,
      `${sha("A")} (pod w-1 on node-1)`,
      `${sha("B")} (pod w-2 on node-2)`,
      `got ${sha("C")}`,
      "imagePullPolicy IfNotPresent",
      "is not known to have run",
      "Pin images by digest",
    ])
      expect(message).toContain(words);
  });

  it("a sandbox digest equal to any digest the broken revision's pods ran is SameDigest", () => {
    // Pods of revision 2 disagree (one node served a cached build): the second digest counts too.
    const result = evaluateDigests({
      ...base,
      fromTemplate: tagged("app:v2"),
      toTemplate: tagged("app:v1"),
      rolledBackPods: pods(sha("C")),
      brokenDigests: [
        { name: "app", digest: sha("B") },
        { name: "app", digest: sha("C") },
      ],
    });
    expect(result.finding?.reason).toBe("SameDigest");
    expect(result.evidence[0]).toMatchObject({ fromDigest: sha("B"), toDigest: sha("C") });
  });
});

describe("revisions, as kubectl rollout undo reads them", () => {
  const t = (image: string) => aTemplate([{ name: "app", image }]);

  it("takes the highest revision below the current, ignoring ReplicaSets it does not control", () => {
    const target = aTarget([
      { revision: 1, template: t("a:1") },
      { revision: 3, template: t("a:3") },
      { revision: 4, template: t("a:4") },
    ]);
    const stranger = aReplicaSet("someone-else", { revision: 9, template: t("a:9"), hash: "x" });
    const r = resolveRevisions(target.deployment, [...target.replicaSets, stranger], 0);
    expect(r.ok && [r.current.revision, r.target.revision]).toEqual([4, 3]);
  });

  it("names the existing revisions when toRevision is missing (also above the current)", () => {
    const target = aTarget([
      { revision: 2, template: t("a:2") },
      { revision: 5, template: t("a:5") },
    ]);
    const r = resolveRevisions(target.deployment, target.replicaSets, 9);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.message).toContain(
        "unable to find specified revision 9 in history (existing revisions: 2, 5)",
      );
  });

  it("compares templates without the pod-template-hash label, nil equal to empty", () => {
    const a = withHash(aTemplate([{ name: "app", image: "a:1" }], { volumes: [] }), "abc");
    const b = withHash(aTemplate([{ name: "app", image: "a:1" }]), "def");
    expect(equalIgnoreHash(a, b)).toBe(true);
    expect(equalIgnoreHash(a, aTemplate([{ name: "app", image: "a:2" }]))).toBe(false);
  });

  it("builds the undo patch kubectl sends: the RS template without its hash, annotations rebuilt", () => {
    const template = aTemplate([{ name: "app", image: "a:1" }]);
    const rs = aReplicaSet(TARGET_UID, { revision: 1, template, hash: "abc" });
    rs.metadata.annotations = {
      ...rs.metadata.annotations,
      "kubernetes.io/change-cause": "v1",
      "deployment.kubernetes.io/desired-replicas": "2",
    };
    const deployment = aCompleteDeployment(
      aTemplate([{ name: "app", image: "a:2" }]),
      {},
      {
        annotations: {
          "deployment.kubernetes.io/revision": "2",
          "team/owner": "shop",
          "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
      },
    );
    expect(undoPatch(deployment, rs)).toEqual([
      {
        op: "replace",
        path: "/spec/template",
        value: { ...template, metadata: { labels: { app: "web" } } },
      },
      {
        op: "replace",
        path: "/metadata/annotations",
        value: {
          "kubectl.kubernetes.io/last-applied-configuration": "{}",
          "deployment.kubernetes.io/revision": "2",
          "kubernetes.io/change-cause": "v1",
        },
      },
    ]);
  });
});

describe("preflight: who owns the target", () => {
  const dep = (labels: Record<string, string>, annotations: Record<string, string>) =>
    aCompleteDeployment(aTemplate([{ name: "app", image: "a:1" }]), {}, { labels, annotations });

  it.each([
    [
      "Helm",
      dep(
        { "app.kubernetes.io/managed-by": "Helm" },
        { "meta.helm.sh/release-name": "shop-web", "meta.helm.sh/release-namespace": "shop" },
      ),
      "helm rollback shop-web <release revision> -n shop",
    ],
    [
      "Argo CD (tracking id)",
      dep(
        { "app.kubernetes.io/instance": "web" },
        { "argocd.argoproj.io/tracking-id": "shop-web:apps/Deployment:shop/web" },
      ),
      "argocd app rollback shop-web",
    ],
    [
      "Argo CD (instance label)",
      dep({ "app.kubernetes.io/instance": "web" }, { "argocd.argoproj.io/sync-wave": "1" }),
      "auto-sync reverts a kubectl rollout undo",
    ],
    [
      "Flux HelmRelease",
      dep({ "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "flux" }, {}),
      "flux suspend helmrelease web",
    ],
    [
      "Flux Kustomization",
      dep({ "kustomize.toolkit.fluxcd.io/name": "apps" }, {}),
      "reverting the release in Git",
    ],
  ])("%s", (_name, deployment, command) => {
    const warning = externalOwnerWarning(deployment, 3);
    expect(warning?.reason).toBe("ExternallyManaged");
    expect(warning?.message).toContain(command);
  });

  it("says nothing for a kubectl-managed Deployment", () => {
    expect(externalOwnerWarning(dep({ app: "web" }, {}), 3)).toBeUndefined();
  });
});

describe("validation", () => {
  const ns = (labels: Record<string, string> | undefined) =>
    anObserved({
      sandbox: {
        namespace: { name: "drills", phase: "Active", ...(labels === undefined ? {} : { labels }) },
        replicaSets: [],
        pods: [],
      },
    });
  const drill = aDrill({ spec: { sandbox: { namespace: "drills" } } });

  it.each([
    ["a free name", undefined, []],
    [
      "this drill's own sandbox",
      {
        "app.kubernetes.io/managed-by": "rollback-drill",
        "rollbackdrill.io/drill-uid": drill.metadata.uid,
      },
      [],
    ],
    [
      "another drill's sandbox",
      {
        "app.kubernetes.io/managed-by": "rollback-drill",
        "rollbackdrill.io/drill-uid": "other",
        "rollbackdrill.io/drill-namespace": "shop",
        "rollbackdrill.io/drill-name": "api",
      },
      ["spec.sandbox.namespace"],
    ],
    ["a namespace someone else made", {}, ["spec.sandbox.namespace"]],
  ])("sandbox namespace: %s", (_name, labels, fields) => {
    const observed = labels === undefined ? anObserved() : ns(labels);
    expect(validate(drill, observed, T0.getTime()).map(e => e.field)).toEqual(fields);
  });

  it("names another drill that owns the namespace", () => {
    const errors = validate(
      drill,
      ns({
        "app.kubernetes.io/managed-by": "rollback-drill",
        "rollbackdrill.io/drill-uid": "other",
        "rollbackdrill.io/drill-namespace": "shop",
        "rollbackdrill.io/drill-name": "api",
      }),
      T0.getTime(),
    );
    expect(errors[0]?.message).toContain("sandbox of drill shop/api");
  });

  it.each([["kube-system"], ["default"], ["kube-anything"]])(
    "refuses system namespace %s",
    name => {
      expect(
        validate(aDrill({ spec: { sandbox: { namespace: name } } }), anObserved(), T0.getTime())[0]
          ?.message,
      ).toContain("system namespace");
    },
  );
});

describe("sandbox names", () => {
  it("are DNS-1123 labels of at most 63 characters, deterministic per drill uid and run", () => {
    const long = aDrill({
      metadata: {
        name: "a.very-long.drill-name-that-goes-on-and-on-and-on-well-past-sixty-three-chars",
      },
    });
    const name = sandboxNameFor(long, "12345");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name).toMatch(/^rbd-a-very-long-drill.*-0f1e2d-12345$/);
    expect(sandboxNameFor(long, "12345")).toBe(name);
    expect(sandboxNameFor(aDrill({ spec: { sandbox: { namespace: "fixed" } } }), "1")).toBe(
      "fixed",
    );
  });
});

describe("references to copy", () => {
  it("finds ConfigMaps and Secrets in volumes, projections, env, envFrom and pull secrets, init containers included", () => {
    const template = aTemplate([{ name: "app", image: "a:1" }], {
      volumes: [
        { name: "cfg", configMap: { name: "cm-vol" } },
        {
          name: "proj",
          projected: {
            sources: [{ configMap: { name: "cm-proj" } }, { secret: { name: "s-proj" } }],
          },
        },
      ],
      imagePullSecrets: [{ name: "pull" }],
      initContainers: [
        { name: "init", image: "i:1", envFrom: [{ secretRef: { name: "s-init" } }] },
      ],
    });
    template.spec.containers[0]!.env = [
      { name: "X", valueFrom: { configMapKeyRef: { name: "cm-env", key: "x" } } },
    ];
    expect(
      objectsToLookUp(aDrill({ spec: { sandbox: { copySecrets: ["extra"] } } }), [template]),
    ).toEqual({
      configMaps: ["cm-env", "cm-proj", "cm-vol"],
      secrets: ["extra", "pull", "s-init", "s-proj"],
    });
  });
});
