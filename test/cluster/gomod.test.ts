import { describe, expect, it } from "vitest";
import { versionLdflags } from "../../e2e/cluster/build.ts";
import { ownedParts, parseUpstream, renderGoMod } from "../../e2e/cluster/gomod.ts";
import { KUBERNETES_VERSION, PROGRAMS, STAGING_VERSION } from "../../e2e/cluster/versions.ts";

/** The shape of k8s.io/kubernetes' go.mod, cut down: what the generator reads from it. */
const UPSTREAM = `module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/blang/semver/v4 v4.0.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming
)
`;

describe("the wrapper module's go.mod", () => {
  it("replaces every staging module Kubernetes points at ./staging with the published version", () => {
    const upstream = parseUpstream(UPSTREAM);
    expect(upstream).toEqual({
      go: "1.26.0",
      godebug: ["default=go1.26"],
      staging: ["k8s.io/api", "k8s.io/client-go", "k8s.io/cri-streaming"],
    });
    const goMod = renderGoMod(upstream);
    for (const m of upstream.staging)
      expect(goMod).toContain(`\t${m} => ${m} ${STAGING_VERSION}\n`);
    expect(goMod).toContain(`\tk8s.io/kubernetes ${KUBERNETES_VERSION}\n`);
    expect(goMod).toContain("go 1.26.0\n");
    expect(goMod).toContain("godebug default=go1.26\n");
    for (const p of Object.values(PROGRAMS)) expect(goMod).toContain(`\t${p}\n`);
  });

  it("the staging version follows the Kubernetes version (v1.X.Y -> v0.X.Y)", () => {
    expect(STAGING_VERSION).toBe(KUBERNETES_VERSION.replace("v1.", "v0."));
    expect(STAGING_VERSION).toMatch(/^v0\.\d+\.\d+$/);
  });

  it("refuses a go.mod that is not Kubernetes'", () => {
    expect(() => parseUpstream("module x\n")).toThrow(/no go line/);
    expect(() => parseUpstream("module x\n\ngo 1.26.0\n")).toThrow(/replaces no staging module/);
  });

  it("drift: what go mod tidy adds is not drift, a changed replace or tool is", () => {
    const generated = renderGoMod(parseUpstream(UPSTREAM));
    const tidied = generated.replace(
      "require (\n",
      "require (\n\tgithub.com/blang/semver/v4 v4.0.0 // indirect\n",
    );
    expect(ownedParts(tidied)).toBe(ownedParts(generated));
    const edited = generated.replace(`k8s.io/api ${STAGING_VERSION}`, "k8s.io/api v0.35.0");
    expect(ownedParts(edited)).not.toBe(ownedParts(generated));
    const lessTools = generated.replace("\tk8s.io/kubernetes/cmd/kubectl\n", "");
    expect(ownedParts(lessTools)).not.toBe(ownedParts(generated));
  });
});

describe("version ldflags", () => {
  it("stamp both packages that report a version, as Kubernetes' build does", () => {
    const flags = versionLdflags("v1.36.3", "2026-07-22T18:07:38Z");
    for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"])
      expect(flags).toEqual(
        expect.arrayContaining([
          `-X ${pkg}.gitVersion=v1.36.3`,
          `-X ${pkg}.gitMajor=1`,
          `-X ${pkg}.gitMinor=36`,
          `-X ${pkg}.gitTreeState=clean`,
          `-X ${pkg}.buildDate=2026-07-22T18:07:38Z`,
        ]),
      );
    expect(() => versionLdflags("master", "x")).toThrow(/not a Kubernetes version/);
  });
});
