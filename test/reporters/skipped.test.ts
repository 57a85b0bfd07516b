/** The skipped-tests summary: each skipped test by name with the reason its suite gives. */
import { describe, expect, it } from "vitest";
import { formatSkipped, reasonOf } from "./skipped.ts";

describe("the skipped-tests summary", () => {
  it("names each skipped test with its reason", () => {
    expect(
      formatSkipped([
        {
          file: "test/sim/kubectl/crd.test.ts",
          name: "kubectl and the RollbackDrill CRD (skipped: needs the real kubectl at /usr/bin/kubectl) > applies",
          note: undefined,
        },
        { file: "test/a.test.ts", name: "x > y", note: "no Docker engine answers" },
      ]),
    ).toEqual([
      "",
      "Skipped (2):",
      "  test/sim/kubectl/crd.test.ts > kubectl and the RollbackDrill CRD (skipped: needs the real kubectl at /usr/bin/kubectl) > applies: needs the real kubectl at /usr/bin/kubectl",
      "  test/a.test.ts > x > y: no Docker engine answers",
    ]);
    expect(formatSkipped([])).toEqual([]);
    expect(
      reasonOf({
        file: "e2e/scenarios.e2e.test.ts",
        name: "k3s backend skipped: no Docker engine at /var/run/docker.sock (and DOCKER_HOST is not set) > pinned-web: healthy app -> Passed Passed",
        note: undefined,
      }),
    ).toBe("no Docker engine at /var/run/docker.sock (and DOCKER_HOST is not set)");
    expect(reasonOf({ file: "f", name: "plain > test", note: undefined })).toBe(
      "no reason given (skipped in the test file)",
    );
  });
});
