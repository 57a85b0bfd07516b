import { describe, expect, it } from "vitest";
import {
  containerWithLogs,
  createLogCache,
  type CrashLogDeps,
} from "../../src/controller/gather.ts";
import type { ContainerStatusView, PodView } from "../../src/core/observed.ts";
import { BadRequestError, NotFoundError } from "../../src/kube/errors.ts";

const pod: PodView = { metadata: { name: "app-1", namespace: "sandbox", uid: "u1" } };
const key = { namespace: "sandbox", name: "app-1" };

/** A node whose container has crashed once and, unknown to the status we hold, restarted. */
function node(logs: { current: string; previous: string | undefined }): {
  deps: CrashLogDeps;
  asked: boolean[];
} {
  const asked: boolean[] = [];
  const deps: CrashLogDeps = {
    logs: createLogCache(),
    kube: {
      readPodLog: (_key, options) => {
        asked.push(options.previous);
        if (!options.previous) return Promise.resolve(logs.current);
        if (logs.previous === undefined) {
          return Promise.reject(
            new BadRequestError(
              'previous terminated container "app" in pod "app-1" not found',
              400,
            ),
          );
        }
        return Promise.resolve(logs.previous);
      },
    },
  };
  return { deps, asked };
}

const terminated: ContainerStatusView = {
  name: "app",
  restartCount: 0,
  state: { terminated: { exitCode: 1, reason: "Error" } },
};

describe("a crashed container's log lines", () => {
  it("come from the current instance while it is the terminated one", async () => {
    const { deps, asked } = node({
      current: "boot\nschema v1 ok\ninsert failed\n",
      previous: undefined,
    });
    const status = await containerWithLogs(pod, key, terminated, deps);
    expect(status.lastLogLines).toEqual(["boot", "schema v1 ok", "insert failed"]);
    expect(asked).toEqual([false]);
  });

  it("are not taken from the kubelet's note that a log is gone, and are asked for again", async () => {
    const gone = "unable to retrieve container logs for containerd://9de7ed0491f1d265cce2";
    const { deps, asked } = node({ current: gone, previous: `${gone}\n` });
    const first = await containerWithLogs(pod, key, terminated, deps);
    expect(first.lastLogLines).toEqual([]);
    expect(asked).toEqual([false, true]);
    const again = await containerWithLogs(pod, key, terminated, deps);
    expect(again.lastLogLines).toEqual([]);
    expect(asked).toEqual([false, true, false, true]);
  });

  it("come from the previous instance when the kubelet restarted it after the status we hold", async () => {
    const { deps, asked } = node({ current: "", previous: "schema v1 ok\ninsert failed\n" });
    const status = await containerWithLogs(pod, key, terminated, deps);
    expect(status.lastLogLines).toEqual(["schema v1 ok", "insert failed"]);
    expect(asked).toEqual([false, true]);
  });

  it("are empty, not an error, when neither instance has any, and are asked for again next time", async () => {
    const { deps, asked } = node({ current: "", previous: undefined });
    expect((await containerWithLogs(pod, key, terminated, deps)).lastLogLines).toEqual([]);
    expect((await containerWithLogs(pod, key, terminated, deps)).lastLogLines).toEqual([]);
    expect(asked).toEqual([false, true, false, true]);
  });

  it("are read once per crashed instance when there are some", async () => {
    const { deps, asked } = node({ current: "insert failed\n", previous: undefined });
    await containerWithLogs(pod, key, terminated, deps);
    await containerWithLogs(pod, key, terminated, deps);
    expect(asked).toEqual([false]);
  });

  it("are empty when the pod is gone", async () => {
    const deps: CrashLogDeps = {
      logs: createLogCache(),
      kube: { readPodLog: () => Promise.reject(new NotFoundError('pods "app-1" not found', 404)) },
    };
    expect((await containerWithLogs(pod, key, terminated, deps)).lastLogLines).toEqual([]);
  });

  it("are not asked for while nothing has crashed", async () => {
    const { deps, asked } = node({ current: "serving", previous: undefined });
    const running: ContainerStatusView = { name: "app", state: { running: {} } };
    expect((await containerWithLogs(pod, key, running, deps)).lastLogLines).toBeUndefined();
    expect(asked).toEqual([]);
  });
});
