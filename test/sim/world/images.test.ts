import { describe, expect, it } from "vitest";
import {
  createImageRegistry,
  databaseNameFromValue,
  parseImageReference,
} from "../../../src/sim/images.ts";

describe("image references", () => {
  // github.com/distribution/reference normalize.go, ParseNormalizedNamed: docker.io is the default
  // registry and Docker Hub's official images live under library/; kubelet's applyDefaultImageTag
  // (pkg/kubelet/images/image_manager.go) adds ":latest" when neither tag nor digest is given.
  it.each([
    ["nginx", "docker.io/library/nginx", "latest", undefined],
    ["nginx:1.25", "docker.io/library/nginx", "1.25", undefined],
    ["bitnami/redis:7", "docker.io/bitnami/redis", "7", undefined],
    ["registry.example.com/shop/web:v2", "registry.example.com/shop/web", "v2", undefined],
    ["localhost:5000/app", "localhost:5000/app", "latest", undefined],
    [
      `nginx@sha256:${"a".repeat(64)}`,
      "docker.io/library/nginx",
      undefined,
      `sha256:${"a".repeat(64)}`,
    ],
  ])("%s", (image, repository, tag, digest) => {
    const parsed = parseImageReference(image);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.ref.repository).toBe(repository);
    expect(parsed.ref.tag).toBe(tag);
    expect(parsed.ref.digest).toBe(digest);
  });

  it("rejects upper-case repository names as the reference library does", () => {
    expect(parseImageReference("Nginx")).toEqual({
      ok: false,
      message: "invalid reference format: repository name must be lowercase",
    });
  });
});

describe("image registry", () => {
  it("gives deterministic digests and moves tags on push", () => {
    const a = createImageRegistry();
    const b = createImageRegistry();
    const v1 = a.push("registry.example.com/shop/web", "v1", { readyAfterMs: 10 });
    expect(v1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.push("registry.example.com/shop/web", "v1", { readyAfterMs: 10 })).toBe(v1);
    const v2 = a.push("registry.example.com/shop/web", "v1", { readyAfterMs: 20 });
    expect(v2).not.toBe(v1);
    const r = a.resolve("registry.example.com/shop/web:v1");
    expect(r).toMatchObject({
      ok: true,
      digest: v2,
      imageId: `registry.example.com/shop/web@${v2}`,
    });
    // The old digest stays pullable by digest.
    expect(a.resolve(`registry.example.com/shop/web@${v1}`)).toMatchObject({
      ok: true,
      digest: v1,
    });
  });

  // containerd's resolver error as the kubelet reports it in ErrImagePull
  // (rpc error from CRI PullImage, e.g. kubernetes-sigs/provider-aws-test-infra#281 log).
  it("fails a missing tag and a deleted digest with containerd's not found message", () => {
    const reg = createImageRegistry();
    const d = reg.push("registry.example.com/shop/web", "v1");
    const ref = "registry.example.com/shop/web:nope";
    expect(reg.resolve(ref)).toEqual({
      ok: false,
      reason: "NotFound",
      message: `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
    });
    reg.deleteDigest("registry.example.com/shop/web", d);
    expect(reg.repository("registry.example.com/shop/web")?.tags).toEqual({});
    expect(reg.resolve(`registry.example.com/shop/web@${d}`)).toMatchObject({
      ok: false,
      reason: "NotFound",
    });
  });

  it("requires credentials for the registry host of a private repository", () => {
    const reg = createImageRegistry();
    reg.push("registry.example.com/shop/web", "v1");
    reg.setPrivate("registry.example.com/shop/web", true);
    const denied = reg.resolve("registry.example.com/shop/web:v1");
    expect(denied).toMatchObject({ ok: false, reason: "Unauthorized" });
    expect(denied.ok ? "" : denied.message).toContain("authorization failed");
    expect(
      reg.resolve("registry.example.com/shop/web:v1", {
        credentials: new Set(["registry.example.com"]),
      }),
    ).toMatchObject({ ok: true });
  });

  it("keeps simulated databases and notifies listeners", () => {
    const reg = createImageRegistry();
    const seen: string[] = [];
    const off = reg.onChange(c => seen.push(`${c.kind}/${c.name}`));
    reg.createDatabase("shop", 3);
    reg.setDatabaseVersion("shop", 4);
    off();
    reg.setDatabaseVersion("shop", 5);
    expect(reg.databaseVersion("shop")).toBe(5);
    expect(seen).toEqual(["database/shop", "database/shop"]);
    expect(databaseNameFromValue("postgres://db:5432/shop?sslmode=disable")).toBe("shop");
    expect(databaseNameFromValue("shop")).toBe("shop");
  });
});
