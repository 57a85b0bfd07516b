/**
 * The differential suite's scripted workloads: each script drives one backend through kubectl (the
 * same binary for both) and returns named observations, as text normalised so that only what a
 * backend decides remains: HTTP outcomes as kubectl reports them (exit code, `Error from server
 * (Reason): message` with the field paths of an Invalid), defaulted objects, the Deployment
 * controller's revisions, conditions and events, server-side Tables, namespace termination,
 * garbage collection and RBAC. The same script on the simulator and on the real cluster must give
 * the same text; a difference is fixed in the simulator or named in src/sim/FIDELITY.md.
 *
 * Names are the same on both backends (each script has its own namespace), so they need no
 * normalising; UIDs, resourceVersions, timestamps, ages, IPs and pod-template-hashes do (the
 * hash is compared once, raw, on its own: `rollout.pod-template-hash`).
 */
import { containerImageName, SIM_GROUP } from "../../src/sim/contract.ts";
import { deploymentObject, type DeploymentOptions } from "../../test/kit/builders.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One backend's kubectl: the arguments after `--kubeconfig`, and optional stdin. */
export type Kubectl = (args: readonly string[], stdin?: string) => Promise<KubectlResult>;

export interface Script {
  readonly name: string;
  /** The namespace it works in (deleted first if a previous run left it). */
  readonly namespace: string;
  /** Records its observations in `o` as it goes, so a script that stops keeps what it saw. */
  run(k: Kubectl, ns: string, o: Record<string, string>): Promise<void>;
}

const UID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b/g;
/** kubectl describe's times (RFC 1123 with a numeric zone). */
const RFC1123 = /\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\b/g;
const IP = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;
/** An age as kubectl prints it (0s, 5s, 3m2s, 2d4h, <unknown>, <invalid>). */
const AGE = /(?<=\s|^)(\d+[smhdy])+(?=\s|$)|<unknown>|<invalid>/gm;
/** Pod-template-hash values: a Deployment's ReplicaSet names and their label. */
const HASHED = /\b([a-z][a-z0-9-]*?)-([bcdfghjklmnpqrstvwxz2456789]{6,10})\b/g;

/** Text normalised: UIDs, times, IPs and ages replaced; pod-template-hashes too unless `raw`. */
export function normalise(text: string, opts: { hashes?: boolean } = {}): string {
  let out = text
    .replace(UID, "<uid>")
    .replace(TIME, "<time>")
    .replace(RFC1123, "<time>")
    .replace(IP, "<ip>");
  out = out.replace(AGE, "<age>");
  if (opts.hashes !== false)
    out = out
      .replace(HASHED, "$1-<hash>")
      .replace(/pod-template-hash[=:]\s*"?[a-z0-9]{6,10}"?/g, "pod-template-hash=<hash>");
  // Column padding follows the widest value, which normalising changed: one space between columns.
  return out
    .split("\n")
    .map(l => l.trimEnd().replace(/(?<=\S) {2,}/g, " "))
    .join("\n")
    .trim();
}

/** A table's rows sorted (the server orders them by name, and names carry hashes). */
export function sortedRows(text: string): string {
  const [head = "", ...rows] = text.split("\n");
  return [head, ...rows.sort()].join("\n");
}

/** kubectl's outcome as one line of text: exit code and what it printed. */
export function outcome(r: KubectlResult): string {
  return normalise(`exit ${String(r.code)}\n${r.stdout}${r.stderr}`);
}

/** Metadata that differs by nature between two servers, dropped before comparing objects. */
const VOLATILE_METADATA = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "managedFields",
  "generateName",
  "selfLink",
];

/** A JSON value with sorted keys, as text, volatile metadata dropped. */
export function canonical(value: unknown, isMetadata = false): string {
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map(x => walk(x));
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (key === "metadata" && VOLATILE_METADATA.includes(k)) continue;
      out[k] = walk((v as Record<string, unknown>)[k], k);
    }
    return out;
  };
  const text = JSON.stringify(isMetadata ? walk({ metadata: value }) : walk(value), null, 1) as
    string | undefined;
  return normalise(text ?? "(absent)");
}

async function must(k: Kubectl, args: readonly string[], stdin?: string): Promise<string> {
  const r = await k(args, stdin);
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} exited ${String(r.code)}: ${r.stderr}`);
  return r.stdout;
}

async function json<T>(k: Kubectl, args: readonly string[]): Promise<T> {
  return JSON.parse(await must(k, [...args, "-o", "json"])) as T;
}

interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  finalizers?: string[];
  managedFields?: {
    manager?: string;
    operation?: string;
    apiVersion?: string;
    fieldsType?: string;
    subresource?: string;
    fieldsV1?: unknown;
  }[];
}
interface Obj {
  metadata: Meta;
  spec?: Record<string, unknown>;
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    [k: string]: unknown;
  };
}
interface List<T = Obj> {
  items: T[];
}

/** Polls a condition through kubectl (both backends act asynchronously), up to `ms`. */
async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`fidelity: ${what} did not happen within ${String(ms)} ms`);
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}

/** The kit's Deployment as kubectl's stdin, with no replicas: these observations need no pods. */
const deployment = (
  ns: string,
  name: string,
  image: string,
  options: DeploymentOptions = {},
): string => JSON.stringify(deploymentObject(ns, name, image, { replicas: 0, ...options }));

const conditions = (o: Obj): string =>
  (o.status?.conditions ?? [])
    .map(c => `${c.type}=${c.status} ${c.reason ?? ""}: ${c.message ?? ""}`)
    .join("\n");

/** The Deployment's ReplicaSets as kubectl rollout history sees them: revision, replicas, owner. */
async function replicaSets(k: Kubectl, ns: string, app: string): Promise<string> {
  const list = await json<List>(k, ["-n", ns, "get", "replicasets", "-l", `app=${app}`]);
  return normalise(
    list.items
      .map(rs => ({
        revision: Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "0"),
        line: [
          `rev ${rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "-"}`,
          rs.metadata.name,
          `replicas ${String(rs.spec?.["replicas"])}`,
          `history ${rs.metadata.annotations?.["deployment.kubernetes.io/revision-history"] ?? "-"}`,
          `owners ${(rs.metadata.ownerReferences ?? []).map(o => `${o.kind}/${o.name}${o.controller === true ? "*" : ""}`).join(",")}`,
          `image ${String((rs.spec?.["template"] as { spec: { containers: { image: string }[] } }).spec.containers.map(c => c.image))}`,
        ].join(" "),
      }))
      .sort((a, b) => a.revision - b.revision)
      .map(x => x.line)
      .join("\n"),
  );
}

/** Waits until the Deployment controller has observed the Deployment's current generation. */
async function observed(k: Kubectl, ns: string, name: string): Promise<void> {
  await eventually(`${ns}/${name} observed`, 30_000, async () => {
    const d = await json<Obj & { metadata: { generation?: number } }>(k, [
      "-n",
      ns,
      "get",
      "deployment",
      name,
    ]);
    const s = d.status as { observedGeneration?: number } | undefined;
    return s?.observedGeneration === d.metadata.generation;
  });
}

const apiErrors: Script = {
  name: "api",
  namespace: "fidelity-api",
  async run(k, ns, o) {
    o["create in a missing namespace"] = outcome(
      await k(["-n", "fidelity-nowhere", "create", "configmap", "c", "--from-literal=a=b"]),
    );
    await must(k, ["-n", ns, "create", "configmap", "c", "--from-literal=a=b"]);
    o["create an existing name"] = outcome(
      await k(["-n", ns, "create", "configmap", "c", "--from-literal=a=b"]),
    );
    o["get a missing object"] = outcome(await k(["-n", ns, "get", "configmap", "nope"]));
    o["an invalid name"] = outcome(
      await k(["-n", ns, "create", "configmap", "Bad_Name", "--from-literal=a=b"]),
    );
    const mismatched = JSON.parse(deployment(ns, "mismatch", "busybox:1")) as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    mismatched.spec.template.metadata.labels = { app: "other" };
    o["a Deployment whose selector does not match its template"] = outcome(
      await k(["create", "-f", "-"], JSON.stringify(mismatched)),
    );
    o["a Deployment without containers"] = outcome(
      await k(["create", "-f", "-"], deployment(ns, "empty", "x", { pod: { containers: [] } })),
    );
    o["an unknown field, kubectl's default Strict validation"] = outcome(
      await k(
        ["create", "-f", "-"],
        JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "typo", namespace: ns },
          data: { a: "b" },
          dataa: { c: "d" },
        }),
      ),
    );
    await must(
      k,
      ["create", "-f", "-"],
      deployment(ns, "web", "busybox:1", {
        pod: {
          containers: [
            { name: "app", image: "busybox:1" },
            { name: "side", image: "busybox:1" },
          ],
        },
      }),
    );
    o["change an immutable selector"] = outcome(
      await k([
        "-n",
        ns,
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        JSON.stringify({
          spec: {
            selector: { matchLabels: { app: "moved" } },
            template: { metadata: { labels: { app: "moved" } } },
          },
        }),
      ]),
    );
    const stale = await must(k, ["-n", ns, "get", "configmap", "c", "-o", "json"]);
    await must(k, [
      "-n",
      ns,
      "patch",
      "configmap",
      "c",
      "--type=merge",
      "-p",
      '{"data":{"a":"2"}}',
    ]);
    o["replace with a stale resourceVersion"] = outcome(
      await k(["replace", "-f", "-"], stale.replace(/"a": "b"/, '"a": "3"')),
    );
    o["a JSON patch whose test fails"] = outcome(
      await k([
        "-n",
        ns,
        "patch",
        "configmap",
        "c",
        "--type=json",
        "-p",
        '[{"op":"test","path":"/data/a","value":"zzz"},{"op":"replace","path":"/data/a","value":"4"}]',
      ]),
    );
    o["a JSON patch"] = outcome(
      await k([
        "-n",
        ns,
        "patch",
        "configmap",
        "c",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/data/z","value":"26"}]',
        "-o",
        "jsonpath={.data}",
      ]),
    );
    o["a strategic merge patch of one container (merged by name)"] = outcome(
      await k([
        "-n",
        ns,
        "patch",
        "deployment",
        "web",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}}}',
        "-o",
        "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}",
      ]),
    );
    o["a merge patch replacing a list"] = outcome(
      await k([
        "-n",
        ns,
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox:3"}]}}}}',
        "-o",
        "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}",
      ]),
    );
    o["a server-side dry run creates nothing"] = outcome(
      await k(["-n", ns, "create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server"]),
    );
    o["after the dry run"] = outcome(await k(["-n", ns, "get", "configmap", "dry"]));
    o["delete a missing object"] = outcome(await k(["-n", ns, "delete", "configmap", "nope"]));
  },
};

const defaults: Script = {
  name: "defaults",
  namespace: "fidelity-defaults",
  async run(k, ns, o) {
    await must(k, ["create", "-f", "-"], deployment(ns, "web", "busybox:1"));
    const d = await json<Obj>(k, ["-n", ns, "get", "deployment", "web"]);
    o["a Deployment's defaulted spec"] = canonical(d.spec);
    o["a Deployment's metadata"] = canonical(d.metadata, true);
    const fields = (d.metadata.managedFields ?? []).map(f => ({
      manager: f.manager,
      operation: f.operation,
      apiVersion: f.apiVersion,
      fieldsType: f.fieldsType,
      subresource: f.subresource,
    }));
    o["a created Deployment's managedFields entries"] = canonical(fields);
    o["a created Deployment's managedFields fieldsV1"] = canonical(
      (d.metadata.managedFields ?? []).find(
        f => f.operation === "Update" && f.subresource === undefined,
      )?.fieldsV1,
    );
    await observed(k, ns, "web");
    const after = await json<Obj>(k, ["-n", ns, "get", "deployment", "web"]);
    o["a settled Deployment's status (0 replicas)"] = canonical({
      ...after.status,
      conditions: undefined,
    });
    o["a settled Deployment's conditions"] = normalise(conditions(after));
    await must(
      k,
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "rollbackdrill.io/v1alpha1",
        kind: "RollbackDrill",
        metadata: { name: "web", namespace: ns },
        spec: { targetRef: { kind: "Deployment", name: "web" } },
      }),
    );
    const drill = await json<Obj>(k, ["-n", ns, "get", "rollbackdrill", "web"]);
    o["a RollbackDrill with a typo, kubectl's default Strict validation"] = outcome(
      await k(
        ["create", "-f", "-"],
        JSON.stringify({
          apiVersion: "rollbackdrill.io/v1alpha1",
          kind: "RollbackDrill",
          metadata: { name: "typo", namespace: ns },
          spec: { targetRef: { kind: "Deployment", name: "web" }, checks: { stableSecond: 10 } },
        }),
      ),
    );
    o["a RollbackDrill's defaulted spec (CRD schema defaults)"] = canonical(drill.spec);
    await must(
      k,
      ["apply", "--server-side", "--field-manager=fidelity", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "applied", namespace: ns, labels: { a: "1" } },
        data: { k: "v" },
      }),
    );
    const applied = await json<Obj>(k, ["-n", ns, "get", "configmap", "applied"]);
    o["a server-side apply's managedFields"] = canonical(
      (applied.metadata.managedFields ?? []).map(f => ({ ...f, time: undefined })),
    );
    o["a server-side apply conflict"] = outcome(
      await k(
        ["apply", "--server-side", "--field-manager=other", "-f", "-"],
        JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "applied", namespace: ns },
          data: { k: "w" },
        }),
      ),
    );
  },
};

const rollout: Script = {
  name: "rollout",
  namespace: "fidelity-rollout",
  async run(k, ns, o) {
    const step = async (label: string, args: readonly string[]): Promise<void> => {
      o[`${label}: kubectl`] = outcome(await k(["-n", ns, ...args]));
      await observed(k, ns, "web");
      o[`${label}: ReplicaSets`] = await replicaSets(k, ns, "web");
    };
    await must(
      k,
      ["create", "-f", "-"],
      deployment(ns, "web", "busybox:1", { revisionHistoryLimit: 2 }),
    );
    await observed(k, ns, "web");
    o["created: ReplicaSets"] = await replicaSets(k, ns, "web");
    o["rollout status"] = outcome(
      await k(["-n", ns, "rollout", "status", "deployment/web", "--timeout=20s"]),
    );
    const first = await json<List>(k, ["-n", ns, "get", "replicasets", "-l", "app=web"]);
    o["pod-template-hash of the same template (raw)"] = first.items
      .map(rs => rs.metadata.labels?.["pod-template-hash"] ?? "none")
      .join(",");
    await step("set image", ["set", "image", "deployment/web", "app=busybox:2"]);
    o["rollout history"] = outcome(await k(["-n", ns, "rollout", "history", "deployment/web"]));
    o["rollout history --revision=1"] = outcome(
      await k(["-n", ns, "rollout", "history", "deployment/web", "--revision=1"]),
    );
    await step("undo", ["rollout", "undo", "deployment/web"]);
    await step("undo --to-revision=2", ["rollout", "undo", "deployment/web", "--to-revision=2"]);
    o["undo to a missing revision"] = outcome(
      await k(["-n", ns, "rollout", "undo", "deployment/web", "--to-revision=9"]),
    );
    await step("pause", ["rollout", "pause", "deployment/web"]);
    await step("set image while paused", ["set", "image", "deployment/web", "app=busybox:3"]);
    const paused = await json<Obj>(k, ["-n", ns, "get", "deployment", "web"]);
    o["paused: conditions"] = normalise(conditions(paused));
    await step("resume", ["rollout", "resume", "deployment/web"]);
    await step("restart", ["rollout", "restart", "deployment/web"]);
    await step("set image again (history limit 2 prunes)", [
      "set",
      "image",
      "deployment/web",
      "app=busybox:4",
    ]);
    await step("scale", ["scale", "deployment/web", "--replicas=0"]);
    const d = await json<Obj>(k, ["-n", ns, "get", "deployment", "web"]);
    o["conditions after the roll-outs"] = normalise(conditions(d));
    o["the pod template's restartedAt annotation"] = String(
      Object.keys(
        (d.spec?.["template"] as { metadata?: { annotations?: Record<string, string> } }).metadata
          ?.annotations ?? {},
      ),
    );
    const events = await json<
      List<{
        reason: string;
        message: string;
        type: string;
        source?: { component?: string };
        reportingComponent?: string;
        involvedObject: { kind: string };
      }>
    >(k, ["-n", ns, "get", "events"]);
    o["the Deployment controller's events"] = normalise(
      events.items
        .filter(e => e.involvedObject.kind === "Deployment")
        .map(
          e =>
            `${e.type} ${e.reason} ${e.source?.component ?? e.reportingComponent ?? ""}: ${e.message}`,
        )
        .sort()
        .join("\n"),
    );
    o["get deployment (server-side Table)"] = outcome(await k(["-n", ns, "get", "deployment"]));
    o["get deployment -o wide"] = outcome(await k(["-n", ns, "get", "deployment", "-o", "wide"]));
    o["get replicasets -o wide"] = sortedRows(
      outcome(await k(["-n", ns, "get", "replicasets", "-o", "wide"])),
    );
    o["wait --for=condition=Available"] = outcome(
      await k(["-n", ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=20s"]),
    );
    o["describe deployment"] = outcome(await k(["-n", ns, "describe", "deployment", "web"]));
  },
};

const lifecycle: Script = {
  name: "lifecycle",
  namespace: "fidelity-life",
  async run(k, ns, o) {
    // Garbage collection: orphaned ReplicaSets lose their owner; background deletion removes them.
    await must(k, ["create", "-f", "-"], deployment(ns, "orphaned", "busybox:1"));
    await observed(k, ns, "orphaned");
    o["delete --cascade=orphan"] = outcome(
      await k(["-n", ns, "delete", "deployment", "orphaned", "--cascade=orphan"]),
    );
    await eventually("orphaned ReplicaSets released", 30_000, async () =>
      (await json<List>(k, ["-n", ns, "get", "replicasets", "-l", "app=orphaned"])).items.every(
        rs => (rs.metadata.ownerReferences ?? []).length === 0,
      ),
    );
    o["orphaned ReplicaSets"] = await replicaSets(k, ns, "orphaned");
    await must(k, ["create", "-f", "-"], deployment(ns, "cascaded", "busybox:1"));
    await observed(k, ns, "cascaded");
    o["delete (background)"] = outcome(await k(["-n", ns, "delete", "deployment", "cascaded"]));
    await eventually(
      "cascaded ReplicaSets deleted",
      30_000,
      async () =>
        (await json<List>(k, ["-n", ns, "get", "replicasets", "-l", "app=cascaded"])).items
          .length === 0,
    );
    o["cascaded ReplicaSets"] = await replicaSets(k, ns, "cascaded");

    // RBAC: a ServiceAccount with no role, then with one.
    await must(k, ["-n", ns, "create", "serviceaccount", "nobody"]);
    const as = `--as=system:serviceaccount:${ns}:nobody`;
    o["a request without rights"] = outcome(await k(["-n", ns, "get", "deployments", as]));
    o["auth can-i without rights"] = outcome(
      await k(["-n", ns, "auth", "can-i", "create", "deployments", as]),
    );
    // kubectl's own generators send protobuf here; the Role and binding are also made from JSON,
    // so the rest of the script runs whatever the outcome.
    o["kubectl create role"] = outcome(
      await k(["-n", ns, "create", "role", "reader", "--verb=get,list", "--resource=deployments"]),
    );
    if (!o["kubectl create role"].startsWith("exit 0"))
      await must(
        k,
        ["create", "-f", "-"],
        JSON.stringify({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "reader", namespace: ns },
          rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] }],
        }),
      );
    await must(
      k,
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "reader", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [{ kind: "ServiceAccount", name: "nobody", namespace: ns }],
      }),
    );
    await eventually(
      "the binding granted",
      15_000,
      async () => (await k(["-n", ns, "auth", "can-i", "list", "deployments", as])).code === 0,
    );
    o["auth can-i with a Role"] = outcome(
      await k(["-n", ns, "auth", "can-i", "list", "deployments.apps", as]),
    );
    o["a write the Role does not grant"] = outcome(
      await k(["-n", ns, "delete", "deployment", "orphaned", as]),
    );

    // A namespace held in Terminating by a finalizer on an object inside it.
    const held = `${ns}-held`;
    await must(k, ["create", "namespace", held]);
    await must(
      k,
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "hold", namespace: held, finalizers: ["fidelity.rollbackdrill.io/hold"] },
      }),
    );
    o["delete a namespace (not waiting)"] = outcome(
      await k(["delete", "namespace", held, "--wait=false"]),
    );
    await eventually("the namespace reports what holds it", 30_000, async () => {
      const n = await json<Obj>(k, ["get", "namespace", held]);
      return (n.status?.conditions ?? []).some(
        c => c.type === "NamespaceFinalizersRemaining" && c.status === "True",
      );
    });
    const terminating = await json<Obj>(k, ["get", "namespace", held]);
    o["a terminating namespace's status"] = normalise(
      `phase ${String(terminating.status?.["phase"])}\n${conditions(terminating)}`,
    );
    o["create in a terminating namespace"] = outcome(
      await k(["-n", held, "create", "configmap", "late", "--from-literal=a=b"]),
    );
    await must(k, [
      "-n",
      held,
      "patch",
      "configmap",
      "hold",
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":null}}',
    ]);
    await eventually("the namespace gone", 60_000, async () => {
      return (await k(["get", "namespace", held])).code !== 0;
    });
    o["the namespace, once its last finalizer is removed"] = outcome(
      await k(["get", "namespace", held]),
    );
  },
};

/** ServiceAccounts as pulls depend on them: the default account, and pull secrets at admission. */
const accounts: Script = {
  name: "accounts",
  namespace: "fidelity-accounts",
  async run(k, ns, o) {
    await eventually(
      "the namespace's default ServiceAccount",
      30_000,
      async () => (await k(["-n", ns, "get", "serviceaccount", "default"])).code === 0,
    );
    o["a new namespace's ServiceAccounts"] = normalise(
      await must(k, ["-n", ns, "get", "serviceaccounts"]),
    );
    await must(
      k,
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "puller", namespace: ns },
        imagePullSecrets: [{ name: "regcred" }],
      }),
    );
    const pod = (name: string, spec: Record<string, unknown>): string =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: ns },
        spec: { containers: [{ name: "app", image: "busybox:1" }], ...spec },
      });
    await must(k, ["create", "-f", "-"], pod("via-account", { serviceAccountName: "puller" }));
    await must(
      k,
      ["create", "-f", "-"],
      pod("own-list", { serviceAccountName: "puller", imagePullSecrets: [{ name: "own" }] }),
    );
    for (const name of ["via-account", "own-list"]) {
      const created = await json<Obj>(k, ["-n", ns, "get", "pod", name]);
      o[`a Pod's image pull secrets (${name})`] = canonical(
        created.spec?.["imagePullSecrets"] ?? null,
      );
    }
    // The deprecated alias serviceAccount is kept equal to serviceAccountName in templates too.
    await must(
      k,
      ["create", "-f", "-"],
      deployment(ns, "aliased", "busybox:1", { pod: { serviceAccountName: "puller" } }),
    );
    const aliased = await json<Obj>(k, ["-n", ns, "get", "deployment", "aliased"]);
    const template = (aliased.spec?.["template"] ?? {}) as { spec?: Record<string, unknown> };
    o["a pod template's ServiceAccount fields"] = canonical({
      serviceAccountName: template.spec?.["serviceAccountName"] ?? null,
      serviceAccount: template.spec?.["serviceAccount"] ?? null,
    });
    o["a Pod on a ServiceAccount that does not exist"] = outcome(
      await k(["create", "-f", "-"], pod("ghost", { serviceAccountName: "ghost" })),
    );
  },
};

/** Times a client sends: metav1.Time fields come back in UTC at second precision, MicroTime not. */
const times: Script = {
  name: "times",
  namespace: "fidelity-times",
  async run(k, ns, o) {
    const event = (name: string, extra: Record<string, unknown>): string =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace: ns },
        involvedObject: { kind: "ConfigMap", name: "x", namespace: ns },
        reason: "Probe",
        message: "a time with milliseconds",
        type: "Normal",
        source: { component: "fidelity" },
        ...extra,
      });
    await must(
      k,
      ["create", "-f", "-"],
      event("ms", {
        firstTimestamp: "2026-01-02T03:04:05.678Z",
        lastTimestamp: "2026-01-02T05:04:05.999+02:00",
        count: 1,
      }),
    );
    const created = await json<Obj & Record<string, unknown>>(k, ["-n", ns, "get", "event", "ms"]);
    // Compared raw: the normalising of times would hide exactly what is observed here.
    o["an Event's metav1.Time fields sent with milliseconds and an offset"] = JSON.stringify({
      firstTimestamp: created["firstTimestamp"],
      lastTimestamp: created["lastTimestamp"],
    });
    o["a MicroTime with three fractional digits"] = outcome(
      await k(["create", "-f", "-"], event("micro", { eventTime: "2026-01-02T03:04:05.678Z" })),
    );
  },
};

/** The busybox the real cluster's node pulls from its local registry (e2e/cluster/node.ts). */
const BUSYBOX = "localhost:5000/rollback-drill/busybox";
const DIGEST = /sha256:[0-9a-f]{64}/g;

/**
 * The simulator's registry learns busybox as an API object of its own group; the real cluster
 * has it in its local registry already and refuses the unknown kind (not observed).
 */
async function learnBusybox(k: Kubectl): Promise<void> {
  await k(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: `${SIM_GROUP}/v1`,
      kind: "ContainerImage",
      metadata: { name: containerImageName(BUSYBOX) },
      spec: { repository: BUSYBOX, images: [{ tag: "1" }] },
    }),
  );
}

/** A workload kind's objects in one script's namespace, and how that script normalises text. */
interface Workloads {
  readonly k: Kubectl;
  readonly ns: string;
  /** kubectl's name of the kind: statefulset, daemonset. */
  readonly kind: string;
  readonly norm: (text: string) => string;
}

/** What the StatefulSet and DaemonSet scripts read of their workloads, for one status type. */
interface WorkloadReads<S> {
  get: <T>(kind: string, name: string) => Promise<T>;
  status: (name: string) => Promise<S>;
  /** Waits until the controller has observed the workload's generation and `what` holds. */
  settled: (name: string, what: (s: S) => boolean) => Promise<void>;
}

function workloadReads<S extends { observedGeneration?: number }>(w: Workloads): WorkloadReads<S> {
  const get = <T>(kind: string, name: string): Promise<T> =>
    json<T>(w.k, ["-n", w.ns, "get", kind, name]);
  return {
    get,
    status: async name => (await get<Obj & { status?: S }>(w.kind, name)).status ?? ({} as S),
    settled: async (name, what) => {
      await eventually(`${w.ns}/${name} settled`, 90_000, async () => {
        const set = await get<Obj & { metadata: { generation?: number } }>(w.kind, name);
        const s = (set.status ?? {}) as S;
        return s.observedGeneration === set.metadata.generation && what(s);
      });
    },
  };
}

/** The ControllerRevisions of `app`, as kubectl lists them. */
function revisionList(w: Workloads, app: string): Promise<List<Obj & { revision?: number }>> {
  return json<List<Obj & { revision?: number }>>(w.k, [
    "-n",
    w.ns,
    "get",
    "controllerrevisions",
    "-l",
    `app=${app}`,
  ]);
}

/** The ControllerRevisions of `app`, oldest first: revision, name, owners. */
async function revisionLines(w: Workloads, app: string): Promise<string> {
  const list = await revisionList(w, app);
  return w.norm(
    list.items
      .map(r => ({
        revision: r.revision ?? 0,
        line: `rev ${String(r.revision)} ${r.metadata.name} owners ${(r.metadata.ownerReferences ?? []).map(x => `${x.kind}/${x.name}${x.controller === true ? "*" : ""}`).join(",")}`,
      }))
      .sort((a, b) => a.revision - b.revision)
      .map(x => x.line)
      .join("\n"),
  );
}

/** A pod's first container's image, its digest normalised. */
const podImage = (p: Obj): string =>
  String((p.spec as { containers: { image: string }[] }).containers[0]?.image).replace(
    DIGEST,
    "sha256:<digest>",
  );

/**
 * The live (not terminating) pods of `app`, a sorted line each; `describe` is asked, once the
 * pods are listed, for how to write a pod's line.
 */
async function podLines(
  w: Workloads,
  app: string,
  describe: () => Promise<(p: Obj) => string>,
): Promise<string> {
  const list = await json<List>(w.k, ["-n", w.ns, "get", "pods", "-l", `app=${app}`]);
  const line = await describe();
  return w.norm(
    list.items
      .filter(p => (p.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined)
      .map(line)
      .sort()
      .join("\n"),
  );
}

// kubectl prints a line per status change it sees, and how many it sees while pods are
// replaced depends on timing (the real kubelet also reports a stopping pod not ready first):
// the exit code and the last line, the verdict, are compared.
async function rolloutVerdict(w: Workloads, name: string): Promise<string> {
  const r = await w.k(["-n", w.ns, "rollout", "status", `${w.kind}/${name}`, "--timeout=90s"]);
  const lines = `${r.stdout}${r.stderr}`.trim().split("\n");
  return w.norm(`exit ${String(r.code)}\n${lines.at(-1) ?? ""}`);
}

/** The image a pod's first container runs, pinned by the digest its status reports. */
function pinnedImage(pod: Obj | undefined): string {
  const imageID =
    (pod?.status?.["containerStatuses"] as { imageID?: string }[] | undefined)?.[0]?.imageID ?? "";
  return imageID.replace(/^docker-pullable:\/\//, "");
}

/** The distinct events of the controller for `involvedKind` (StatefulSet, DaemonSet), sorted. */
async function controllerEvents(w: Workloads, involvedKind: string): Promise<string> {
  const events = await json<
    List<{ reason: string; message: string; type: string; involvedObject: { kind: string } }>
  >(w.k, ["-n", w.ns, "get", "events"]);
  return w.norm(
    [
      ...new Set(
        events.items
          .filter(e => e.involvedObject.kind === involvedKind)
          .map(e => `${e.type} ${e.reason}: ${e.message}`),
      ),
    ]
      .sort()
      .join("\n"),
  );
}

/** Waits until the garbage collector has removed `app`'s pods and revisions. */
async function collected(w: Workloads, app: string): Promise<void> {
  await eventually(`${app}'s pods and revisions collected`, 90_000, async () => {
    const left = await json<List>(w.k, [
      "-n",
      w.ns,
      "get",
      "pods,controllerrevisions",
      "-l",
      `app=${app}`,
    ]);
    return left.items.length === 0;
  });
}

/** A StatefulSet of busybox pods that sleep until TERM, so a replaced pod goes at once. */
const statefulSet = (ns: string, name: string, spec: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "app",
              image: `${BUSYBOX}:1`,
              command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            },
          ],
        },
      },
      ...spec,
    },
  });

interface SetStatus {
  observedGeneration?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
}

/** The StatefulSet controller and its ControllerRevisions, through the kubectl a drill runs. */
const statefulsets: Script = {
  name: "statefulset",
  namespace: "fidelity-sts",
  async run(k, ns, o) {
    await learnBusybox(k);
    const w: Workloads = { k, ns, kind: "statefulset", norm: normalise };
    const { get, status, settled } = workloadReads<SetStatus>(w);
    const revisions = (app: string): Promise<string> => revisionLines(w, app);
    const pods = (app: string): Promise<string> =>
      podLines(w, app, async () => {
        const s = await status(app);
        return p => {
          const revision = p.metadata.labels?.["controller-revision-hash"] ?? "";
          const at =
            revision === s.currentRevision
              ? "current"
              : revision === s.updateRevision
                ? "update"
                : "other";
          return `${p.metadata.name} ${at} ${podImage(p)}`;
        };
      });
    const rolloutStatus = (name: string): Promise<string> => rolloutVerdict(w, name);

    await must(k, ["create", "-f", "-"], statefulSet(ns, "db"));
    o["rollout status"] = await rolloutStatus("db");
    await settled("db", s => s.readyReplicas === 2);
    const created = await get<Obj>("statefulset", "db");
    o["a StatefulSet's defaulted spec"] = canonical(created.spec);
    o["a settled StatefulSet's status"] = canonical(created.status);
    o["revisions after create"] = await revisions("db");
    o["controller-revision hash of the same template (raw)"] = String(
      created.status?.["updateRevision"],
    );
    const pod = await get<Obj>("pod", "db-0");
    o["a StatefulSet pod's metadata"] = canonical(
      { ...pod.metadata, ownerReferences: undefined },
      true,
    );
    o["a StatefulSet pod's identity"] = canonical({
      hostname: pod.spec?.["hostname"],
      subdomain: pod.spec?.["subdomain"],
    });
    o["a ControllerRevision"] = canonical(
      await get<Obj>("controllerrevision", String(created.status?.["updateRevision"])),
    );
    o["get statefulsets"] = outcome(await k(["-n", ns, "get", "statefulsets"]));
    o["get controllerrevisions"] = outcome(await k(["-n", ns, "get", "controllerrevisions"]));

    // set image to the same build pinned by digest: a new template, so a new revision.
    const pinned = pinnedImage(pod);
    o["set image"] = outcome(
      await k(["-n", ns, "set", "image", "statefulset/db", `app=${pinned}`]),
    ).replace(DIGEST, "sha256:<digest>");
    o["rollout status after set image"] = await rolloutStatus("db");
    await settled("db", s => s.updatedReplicas === 2 && s.currentRevision === s.updateRevision);
    o["revisions after set image"] = await revisions("db");
    o["pods after set image"] = await pods("db");
    o["rollout history"] = outcome(await k(["-n", ns, "rollout", "history", "statefulset/db"]));
    o["rollout history --revision=1"] = outcome(
      await k(["-n", ns, "rollout", "history", "statefulset/db", "--revision=1"]),
    );
    o["undo"] = outcome(await k(["-n", ns, "rollout", "undo", "statefulset/db"]));
    await settled("db", s => s.updatedReplicas === 2 && s.currentRevision === s.updateRevision);
    o["revisions after undo"] = await revisions("db");
    o["pods after undo"] = await pods("db");
    o["undo to the revision already current"] = outcome(
      await k(["-n", ns, "rollout", "undo", "statefulset/db", "--to-revision=3"]),
    );
    o["undo --to-revision=2"] = outcome(
      await k(["-n", ns, "rollout", "undo", "statefulset/db", "--to-revision=2"]),
    );
    await settled("db", s => s.updatedReplicas === 2 && s.currentRevision === s.updateRevision);
    o["revisions after undo --to-revision=2"] = await revisions("db");
    o["undo to a missing revision"] = outcome(
      await k(["-n", ns, "rollout", "undo", "statefulset/db", "--to-revision=9"]),
    );

    // OnDelete: a new template changes nothing until a pod is deleted.
    await must(
      k,
      ["create", "-f", "-"],
      statefulSet(ns, "od", { updateStrategy: { type: "OnDelete" } }),
    );
    await settled("od", s => s.readyReplicas === 2);
    o["OnDelete: rollout status"] = outcome(
      await k(["-n", ns, "rollout", "status", "statefulset/od", "--timeout=10s"]),
    );
    await must(k, ["-n", ns, "set", "image", "statefulset/od", `app=${pinned}`]);
    await settled("od", s => s.updateRevision !== s.currentRevision);
    o["OnDelete: pods after set image"] = await pods("od");
    o["OnDelete: status after set image"] = canonical(await status("od"));
    await must(k, ["-n", ns, "delete", "pod", "od-1", "--wait=false"]);
    await settled("od", s => s.updatedReplicas === 1 && s.readyReplicas === 2);
    o["OnDelete: pods after a pod's delete"] = await pods("od");
    o["OnDelete: revisions"] = await revisions("od");

    // A partition: ordinals below it keep the current revision.
    await must(
      k,
      ["create", "-f", "-"],
      statefulSet(ns, "part", {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } },
      }),
    );
    await settled("part", s => s.readyReplicas === 2);
    await must(k, ["-n", ns, "set", "image", "statefulset/part", `app=${pinned}`]);
    o["partition: rollout status"] = await rolloutStatus("part");
    await settled("part", s => s.updatedReplicas === 1 && s.readyReplicas === 2);
    o["partition: pods"] = await pods("part");
    o["partition: status"] = canonical(await status("part"));

    o["the StatefulSet controller's events"] = await controllerEvents(w, "StatefulSet");

    o["delete (background)"] = outcome(await k(["-n", ns, "delete", "statefulset", "db"]));
    await collected(w, "db");
    o["after the delete"] = outcome(
      await k(["-n", ns, "get", "pods,controllerrevisions", "-l", "app=db"]),
    );
  },
};

/** A DaemonSet of busybox pods that sleep until TERM, on the one node named `node`. */
const daemonSet = (
  ns: string,
  name: string,
  node: string,
  spec: Record<string, unknown> = {},
): string =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": node },
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "app",
              image: `${BUSYBOX}:1`,
              command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            },
          ],
        },
      },
      ...spec,
    },
  });

interface DaemonStatus {
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
}

/**
 * The DaemonSet controller and its ControllerRevisions, through the kubectl a drill runs. The
 * real cluster has one node and the fidelity suite's simulator three, so every DaemonSet here
 * selects the first node by its hostname label, and that node's name reads `<node>`.
 */
const daemonsets: Script = {
  name: "daemonset",
  namespace: "fidelity-ds",
  async run(k, ns, o) {
    await learnBusybox(k);
    const nodes = await json<List>(k, ["get", "nodes"]);
    const node = nodes.items.map(n => n.metadata.name).sort()[0] ?? "";
    // The node's name, pod names' random suffixes and the controller-revision-hash (the
    // simulator approximates ComputeHash, see FIDELITY.md) read alike on both.
    const norm = (text: string): string =>
      normalise(
        text
          .split(node)
          .join("<node>")
          .replace(/\b((?:agent|od)-)[bcdfghjklmnpqrstvwxz2456789]{5}\b/g, "$1<pod>")
          .replace(
            /(controller-revision-hash"?[=:]\s*"?)[bcdfghjklmnpqrstvwxz2456789]{1,10}/g,
            "$1<hash>",
          ),
      );
    const w: Workloads = { k, ns, kind: "daemonset", norm };
    const { get, status, settled } = workloadReads<DaemonStatus>(w);
    const done = (s: DaemonStatus): boolean =>
      s.desiredNumberScheduled === 1 && s.updatedNumberScheduled === 1 && s.numberAvailable === 1;
    const revisions = (app: string): Promise<string> => revisionLines(w, app);
    const pods = (app: string): Promise<string> =>
      podLines(w, app, async () => {
        const newest = await revisionList(w, app);
        const latest = newest.items.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
        const hash = latest?.metadata.labels?.["controller-revision-hash"];
        return p => {
          const at = p.metadata.labels?.["controller-revision-hash"] === hash ? "new" : "old";
          const on = (p.spec as { nodeName?: string }).nodeName ?? "";
          return `${at} on ${on} ${podImage(p)}`;
        };
      });
    const rolloutStatus = (name: string): Promise<string> => rolloutVerdict(w, name);
    const result = async (args: readonly string[]): Promise<string> => {
      const r = await k(args);
      return norm(`exit ${String(r.code)}\n${r.stdout}${r.stderr}`);
    };

    const create = await k(["create", "-f", "-"], daemonSet(ns, "agent", node));
    o["create"] = norm(`exit ${String(create.code)}\n${create.stdout}${create.stderr}`);
    o["rollout status"] = await rolloutStatus("agent");
    await settled("agent", done);
    const created = await get<Obj>("daemonset", "agent");
    o["a DaemonSet's defaulted spec"] = norm(canonical(created.spec));
    o["a settled DaemonSet's status"] = norm(canonical(created.status));
    o["a DaemonSet's annotations"] = norm(canonical(created.metadata.annotations));
    o["revisions after create"] = await revisions("agent");
    const podList = await json<List>(k, ["-n", ns, "get", "pods", "-l", "app=agent"]);
    const pod = podList.items[0];
    o["a DaemonSet pod's metadata"] = norm(
      canonical({ ...pod?.metadata, ownerReferences: undefined }, true),
    );
    o["a DaemonSet pod's affinity and tolerations"] = norm(
      canonical({ affinity: pod?.spec?.["affinity"], tolerations: pod?.spec?.["tolerations"] }),
    );
    const agentRevisions = await revisionList(w, "agent");
    o["a DaemonSet's ControllerRevision"] = norm(canonical(agentRevisions.items[0]));
    o["get daemonsets"] = await result(["-n", ns, "get", "daemonsets"]);
    o["get daemonsets -o wide"] = await result(["-n", ns, "get", "ds", "-o", "wide"]);

    const pinned = pinnedImage(pod);
    o["set image"] = (
      await result(["-n", ns, "set", "image", "daemonset/agent", `app=${pinned}`])
    ).replace(DIGEST, "sha256:<digest>");
    o["rollout status after set image"] = await rolloutStatus("agent");
    await settled("agent", done);
    o["revisions after set image"] = await revisions("agent");
    o["pods after set image"] = await pods("agent");
    o["rollout history"] = await result(["-n", ns, "rollout", "history", "daemonset/agent"]);
    o["rollout history --revision=1"] = await result([
      "-n",
      ns,
      "rollout",
      "history",
      "daemonset/agent",
      "--revision=1",
    ]);
    o["undo"] = await result(["-n", ns, "rollout", "undo", "daemonset/agent"]);
    await settled("agent", done);
    o["revisions after undo"] = await revisions("agent");
    o["pods after undo"] = await pods("agent");
    o["undo to the revision already current"] = await result([
      "-n",
      ns,
      "rollout",
      "undo",
      "daemonset/agent",
      "--to-revision=3",
    ]);
    o["undo to a missing revision"] = await result([
      "-n",
      ns,
      "rollout",
      "undo",
      "daemonset/agent",
      "--to-revision=9",
    ]);
    o["selector change refused"] = await result([
      "-n",
      ns,
      "patch",
      "daemonset/agent",
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: {
          selector: { matchLabels: { app: "agent", tier: "x" } },
          template: { metadata: { labels: { app: "agent", tier: "x" } } },
        },
      }),
    ]);

    // OnDelete: a new template changes nothing until the pod is deleted.
    await must(
      k,
      ["create", "-f", "-"],
      daemonSet(ns, "od", node, { updateStrategy: { type: "OnDelete" } }),
    );
    await settled("od", s => s.numberAvailable === 1);
    o["OnDelete: rollout status"] = await result([
      "-n",
      ns,
      "rollout",
      "status",
      "daemonset/od",
      "--timeout=10s",
    ]);
    await must(k, ["-n", ns, "set", "image", "daemonset/od", `app=${pinned}`]);
    await settled("od", s => s.numberAvailable === 1);
    o["OnDelete: pods after set image"] = await pods("od");
    o["OnDelete: status after set image"] = norm(canonical(await status("od")));
    const odPods = await json<List>(k, ["-n", ns, "get", "pods", "-l", "app=od"]);
    await must(k, [
      "-n",
      ns,
      "delete",
      "pod",
      odPods.items[0]?.metadata.name ?? "",
      "--wait=false",
    ]);
    await settled("od", s => s.updatedNumberScheduled === 1 && s.numberAvailable === 1);
    o["OnDelete: pods after the pod's delete"] = await pods("od");
    o["OnDelete: revisions"] = await revisions("od");

    o["the DaemonSet controller's events"] = await controllerEvents(w, "DaemonSet");

    o["delete (background)"] = await result(["-n", ns, "delete", "daemonset", "agent"]);
    await collected(w, "agent");
    o["after the delete"] = await result([
      "-n",
      ns,
      "get",
      "pods,controllerrevisions",
      "-l",
      "app=agent",
    ]);
  },
};

export const SCRIPTS: readonly Script[] = [
  apiErrors,
  defaults,
  rollout,
  lifecycle,
  accounts,
  times,
  statefulsets,
  daemonsets,
];

/** What is not compared at all, and why (listed in the printout and in src/sim/FIDELITY.md). */
export const NOT_COMPARED: readonly string[] = [
  "watch bookmarks and the 410 Gone after compaction: the real API server compacts every 5 min (--etcd-compaction-interval); forcing one would take etcd's own client",
  "pods and the kubelet: the simulator's kubelets run no containers; the e2e scenarios compare their verdicts on both backends instead",
];
