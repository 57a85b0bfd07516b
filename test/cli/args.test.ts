/** `plan` and `run` read the target flags with one parser: the same checks, the same messages. */
import { describe, expect, it } from "vitest";
import { parseRunArgs } from "../../src/cli/args.ts";
import { parsePlanArgs } from "../../src/cli/plan.ts";

const parsers = { plan: parsePlanArgs, run: parseRunArgs } as const;

describe.each(Object.entries(parsers))("%s's target flags", (_, parse) => {
  it.each([
    [["--target", "deployment/web"], "--namespace is required"],
    [["-n", "shop"], "--target is required (deployment/NAME)"],
    [["-n", "Shop", "--target", "deployment/web"], '"Shop" is not a namespace'],
    [
      ["-n", "shop", "--target", "job/db"],
      "must be deployment/NAME, statefulset/NAME or daemonset/NAME",
    ],
    [["-n", "shop", "--target", "deploy/web", "--name", "Bad_Name"], '--name: "Bad_Name"'],
    [["-n", "shop", "--target", "deploy/web", "--to-revision", "-1"], "--to-revision"],
    [["-n", "shop", "--target", "deploy/web", "-o", "xml"], "--output"],
  ])("%j is refused, naming the flag", (argv, message) => {
    expect(() => parse(argv, {})).toThrow(message);
  });

  it("defaults the drill name and takes the kubeconfig from the environment", () => {
    const options = parse(["-n", "shop", "--target", "deployment.apps/web"], {
      KUBECONFIG: "/kube/config",
    });
    expect(options).toMatchObject({
      namespace: "shop",
      target: "web",
      targetKind: "Deployment",
      name: "gate-web",
      output: "table",
      kubeconfig: "/kube/config",
    });
  });

  it("takes a StatefulSet or DaemonSet target, whose default drill name says its kind", () => {
    expect(parse(["-n", "shop", "--target", "statefulset/db"], {})).toMatchObject({
      target: "db",
      targetKind: "StatefulSet",
      name: "gate-statefulset-db",
    });
    expect(parse(["-n", "shop", "--target", "ds/agent"], {})).toMatchObject({
      target: "agent",
      targetKind: "DaemonSet",
      name: "gate-daemonset-agent",
    });
  });
});

describe("--to-revision", () => {
  it("is unset for plan (the drill's own applies) and 0 for run unless given", () => {
    const argv = ["-n", "shop", "--target", "deployment/web"];
    expect(parsePlanArgs(argv, {})).toMatchObject({ toRevision: undefined });
    expect(parseRunArgs(argv, {})).toMatchObject({ toRevision: 0 });
    expect(parsePlanArgs([...argv, "--to-revision", "3"], {})).toMatchObject({ toRevision: 3 });
  });
});
