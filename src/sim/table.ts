/**
 * Server-side Tables (meta.k8s.io/v1), what `kubectl get` prints: the built-in printers of
 * pkg/printers/internalversion/printers.go, the CRD's additionalPrinterColumns
 * (apiextensions-apiserver/pkg/registry/customresource/tableconvertor/tableconvertor.go) and the
 * default Name / Created At table (apiserver/pkg/registry/rest/table.go).
 */
import { labelSelectorString } from "./selectors.ts";
import type { KubeObject, ResourceInfo } from "./types.ts";

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;
export type IncludeObject = "None" | "Metadata" | "Object";

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};
}
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}
function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** k8s.io/apimachinery/pkg/util/duration: HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** printers.go: translateTimestampSince. */
export function age(timestamp: string | undefined, nowMs: number): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(nowMs - t);
}

const NAME_DESC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

function col(
  name: string,
  type = "string",
  priority = 0,
  description = "",
  format = "",
): ColumnDefinition {
  return { name, type, format, description, priority };
}
const NAME = col("Name", "string", 0, NAME_DESC, "name");
const AGE = col("Age", "string", 0, AGE_DESC);

interface Printer {
  columns: ColumnDefinition[];
  cells(object: KubeObject, nowMs: number): Cell[];
}

function templateContainers(object: KubeObject): Obj[] {
  return arr(obj(obj(obj(object["spec"])["template"])["spec"])["containers"]).map(obj);
}

function wideContainers(object: KubeObject): Cell[] {
  const cs = templateContainers(object);
  const selector = labelSelectorString(obj(object["spec"])["selector"]);
  return [cs.map(c => str(c["name"])).join(","), cs.map(c => str(c["image"])).join(","), selector];
}

const WIDE_WORKLOAD = [
  col("Containers", "string", 1, "Names of each container in the template."),
  col("Images", "string", 1, "Images referenced by each container in the template."),
  col("Selector", "string", 1, "Label selector for pods."),
];

const deployments: Printer = {
  columns: [
    NAME,
    col("Ready", "string", 0, "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "string",
      0,
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
      "Available",
      "string",
      0,
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    ...WIDE_WORKLOAD,
  ],
  cells(o, now) {
    const spec = obj(o["spec"]);
    const status = obj(o["status"]);
    const desired = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
    return [
      o.metadata.name ?? "",
      `${num(status["readyReplicas"])}/${desired}`,
      num(status["updatedReplicas"]),
      num(status["availableReplicas"]),
      age(o.metadata.creationTimestamp, now),
      ...wideContainers(o),
    ];
  },
};

const replicasets: Printer = {
  columns: [
    NAME,
    col("Desired", "integer", 0, "Replicas is the number of desired pods."),
    col("Current", "integer", 0, "Replicas is the most recently observed number of replicas."),
    col("Ready", "integer", 0, "The number of ready replicas for this replica set."),
    AGE,
    ...WIDE_WORKLOAD,
  ],
  cells(o, now) {
    const status = obj(o["status"]);
    const spec = obj(o["spec"]);
    return [
      o.metadata.name ?? "",
      typeof spec["replicas"] === "number" ? spec["replicas"] : 1,
      num(status["replicas"]),
      num(status["readyReplicas"]),
      age(o.metadata.creationTimestamp, now),
      ...wideContainers(o),
    ];
  },
};

interface PodState {
  reason: string;
  ready: number;
  restarts: number;
  lastRestart: number;
}

function initContainerReason(pod: KubeObject, state: PodState): boolean {
  const statuses = arr(obj(pod["status"])["initContainerStatuses"]).map(obj);
  const total = arr(obj(pod["spec"])["initContainers"]).length;
  for (const [i, c] of statuses.entries()) {
    state.restarts += num(c["restartCount"]);
    const st = obj(c["state"]);
    const terminated = st["terminated"] === undefined ? undefined : obj(st["terminated"]);
    const waiting = st["waiting"] === undefined ? undefined : obj(st["waiting"]);
    if (terminated && num(terminated["exitCode"]) === 0) continue;
    if (terminated) {
      const r = str(terminated["reason"]);
      if (r !== "") state.reason = `Init:${r}`;
      else if (num(terminated["signal"]) !== 0)
        state.reason = `Init:Signal:${num(terminated["signal"])}`;
      else state.reason = `Init:ExitCode:${num(terminated["exitCode"])}`;
    } else if (
      waiting &&
      str(waiting["reason"]) !== "" &&
      waiting["reason"] !== "PodInitializing"
    ) {
      state.reason = `Init:${str(waiting["reason"])}`;
    } else {
      state.reason = `Init:${i}/${total}`;
    }
    return true;
  }
  return false;
}

function containerReason(pod: KubeObject, state: PodState): boolean {
  const statuses = arr(obj(pod["status"])["containerStatuses"]).map(obj);
  let hasRunning = false;
  for (const c of [...statuses].reverse()) {
    state.restarts += num(c["restartCount"]);
    const last = obj(obj(c["lastState"])["terminated"]);
    const finished = Date.parse(str(last["finishedAt"]));
    if (!Number.isNaN(finished) && finished > state.lastRestart) state.lastRestart = finished;
    const st = obj(c["state"]);
    const waiting = obj(st["waiting"]);
    const terminated = st["terminated"] === undefined ? undefined : obj(st["terminated"]);
    if (str(waiting["reason"]) !== "") state.reason = str(waiting["reason"]);
    else if (terminated && str(terminated["reason"]) !== "")
      state.reason = str(terminated["reason"]);
    else if (terminated) {
      const signal = num(terminated["signal"]);
      state.reason = signal !== 0 ? `Signal:${signal}` : `ExitCode:${num(terminated["exitCode"])}`;
    } else if (c["ready"] === true && st["running"] !== undefined) {
      hasRunning = true;
      state.ready++;
    }
  }
  return hasRunning;
}

function hasCondition(pod: KubeObject, type: string): boolean {
  return arr(obj(pod["status"])["conditions"]).some(
    c => obj(c)["type"] === type && obj(c)["status"] === "True",
  );
}

/** printers.go: printPod's STATUS, READY and RESTARTS logic. */
export function podStatus(pod: KubeObject): PodState {
  const status = obj(pod["status"]);
  const state: PodState = {
    reason: str(status["reason"]) || str(status["phase"]),
    ready: 0,
    restarts: 0,
    lastRestart: 0,
  };
  const initializing = initContainerReason(pod, state);
  if (!initializing || hasCondition(pod, "Initialized")) {
    state.restarts = 0;
    const hasRunning = containerReason(pod, state);
    if (state.reason === "Completed" && hasRunning) {
      state.reason = hasCondition(pod, "Ready") ? "Running" : "NotReady";
    }
  }
  const phase = str(status["phase"]);
  if (pod.metadata.deletionTimestamp !== undefined) {
    if (status["reason"] === "NodeLost") state.reason = "Unknown";
    else if (phase !== "Succeeded" && phase !== "Failed") state.reason = "Terminating";
  }
  return state;
}

const pods: Printer = {
  columns: [
    NAME,
    col("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", 0, "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "string",
      0,
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    col(
      "IP",
      "string",
      1,
      "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    ),
    col(
      "Node",
      "string",
      1,
      "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.",
    ),
    col(
      "Nominated Node",
      "string",
      1,
      "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    ),
    col(
      "Readiness Gates",
      "string",
      1,
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    ),
  ],
  cells(o, now) {
    const s = podStatus(o);
    const spec = obj(o["spec"]);
    const status = obj(o["status"]);
    const total = arr(spec["containers"]).length;
    const restarts =
      s.restarts !== 0 && s.lastRestart > 0
        ? `${s.restarts} (${humanDuration(now - s.lastRestart)} ago)`
        : String(s.restarts);
    const gates = arr(spec["readinessGates"]).map(obj);
    const gatesTrue = gates.filter(g => hasCondition(o, str(g["conditionType"]))).length;
    return [
      o.metadata.name ?? "",
      `${s.ready}/${total}`,
      s.reason,
      restarts,
      age(o.metadata.creationTimestamp, now),
      str(status["podIP"]) || "<none>",
      str(spec["nodeName"]) || "<none>",
      str(status["nominatedNodeName"]) || "<none>",
      gates.length === 0 ? "<none>" : `${gatesTrue}/${gates.length}`,
    ];
  },
};

const namespaces: Printer = {
  columns: [NAME, col("Status", "string", 0, "The status of the namespace"), AGE],
  cells: (o, now) => [
    o.metadata.name ?? "",
    str(obj(o["status"])["phase"]),
    age(o.metadata.creationTimestamp, now),
  ],
};

const configmaps: Printer = {
  columns: [NAME, col("Data", "string", 0, "Data contains the configuration data."), AGE],
  cells: (o, now) => [
    o.metadata.name ?? "",
    Object.keys(obj(o["data"])).length + Object.keys(obj(o["binaryData"])).length,
    age(o.metadata.creationTimestamp, now),
  ],
};

const secrets: Printer = {
  columns: [
    NAME,
    col("Type", "string", 0, "Used to facilitate programmatic handling of secret data."),
    col("Data", "string", 0, "Data contains the secret data."),
    AGE,
  ],
  cells: (o, now) => [
    o.metadata.name ?? "",
    str(o["type"]) || "Opaque",
    Object.keys(obj(o["data"])).length,
    age(o.metadata.creationTimestamp, now),
  ],
};

const serviceaccounts: Printer = {
  columns: [
    NAME,
    col(
      "Secrets",
      "string",
      0,
      "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    AGE,
  ],
  cells: (o, now) => [
    o.metadata.name ?? "",
    arr(o["secrets"]).length,
    age(o.metadata.creationTimestamp, now),
  ],
};

function servicePorts(spec: Obj): string {
  const ports = arr(spec["ports"]).map(obj);
  if (ports.length === 0) return "<none>";
  return ports
    .map(p => {
      const node = num(p["nodePort"]);
      const base = node > 0 ? `${num(p["port"])}:${node}` : `${num(p["port"])}`;
      return `${base}/${str(p["protocol"]) || "TCP"}`;
    })
    .join(",");
}

const services: Printer = {
  columns: [
    NAME,
    col("Type", "string", 0, "The type of the service."),
    col("Cluster-IP", "string", 0, "The cluster IP of the service."),
    col("External-IP", "string", 0, "The external IPs of the service."),
    col("Port(s)", "string", 0, "The ports of the service."),
    AGE,
    col(
      "Selector",
      "string",
      1,
      "Route service traffic to pods with label keys and values matching this selector.",
    ),
  ],
  cells(o, now) {
    const spec = obj(o["spec"]);
    const sel = Object.entries(obj(spec["selector"])).sort(([a], [b]) => (a < b ? -1 : 1));
    const external = arr(spec["externalIPs"]).map(str);
    return [
      o.metadata.name ?? "",
      str(spec["type"]) || "ClusterIP",
      str(spec["clusterIP"]) || "<none>",
      external.length > 0 ? external.join(",") : "<none>",
      servicePorts(spec),
      age(o.metadata.creationTimestamp, now),
      sel.length === 0 ? "<none>" : sel.map(([k, v]) => `${k}=${str(v)}`).join(","),
    ];
  },
};

function nodeAddress(status: Obj, type: string): string {
  const found = arr(status["addresses"])
    .map(obj)
    .find(a => a["type"] === type);
  return found ? str(found["address"]) : "<none>";
}

const nodes: Printer = {
  columns: [
    NAME,
    col("Status", "string", 0, "The status of the node"),
    col("Roles", "string", 0, "The roles of the node"),
    AGE,
    col("Version", "string", 0, "Kubelet Version reported by the node."),
    col(
      "Internal-IP",
      "string",
      1,
      "List of addresses reachable to the node. Queried from cloud provider, if available.",
    ),
    col(
      "External-IP",
      "string",
      1,
      "List of addresses reachable to the node. Queried from cloud provider, if available.",
    ),
    col(
      "OS-Image",
      "string",
      1,
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    ),
    col(
      "Kernel-Version",
      "string",
      1,
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    col(
      "Container-Runtime",
      "string",
      1,
      "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    ),
  ],
  cells(o, now) {
    const status = obj(o["status"]);
    const info = obj(status["nodeInfo"]);
    const ready = arr(status["conditions"])
      .map(obj)
      .find(c => c["type"] === "Ready");
    let state = ready ? (ready["status"] === "True" ? "Ready" : "NotReady") : "Unknown";
    if (obj(o["spec"])["unschedulable"] === true) state += ",SchedulingDisabled";
    const roles = Object.keys(o.metadata.labels ?? {})
      .filter(k => k.startsWith("node-role.kubernetes.io/"))
      .map(k => k.slice("node-role.kubernetes.io/".length))
      .sort();
    return [
      o.metadata.name ?? "",
      state,
      roles.length > 0 ? roles.join(",") : "<none>",
      age(o.metadata.creationTimestamp, now),
      str(info["kubeletVersion"]),
      nodeAddress(status, "InternalIP"),
      nodeAddress(status, "ExternalIP"),
      str(info["osImage"]) || "<unknown>",
      str(info["kernelVersion"]) || "<unknown>",
      str(info["containerRuntimeVersion"]) || "<unknown>",
    ];
  },
};

const events: Printer = {
  columns: [
    col("Last Seen", "string", 0, "Time when this Event was last seen"),
    col(
      "Type",
      "string",
      0,
      "Type of this event (Normal, Warning), new types could be added in the future.",
    ),
    col(
      "Reason",
      "string",
      0,
      "This should be a short, machine understandable string that gives the reason for this event being generated. Should be in UpperCamelCase format (e.g. FailedScheduling, SuccessfulCreate).",
    ),
    col("Object", "string", 0, "The object that this event is about."),
    col("Subobject", "string", 1, "The subobject of the object that this event is about."),
    col(
      "Source",
      "string",
      1,
      "The component reporting this event. Should be a short machine understandable string.",
    ),
    col("Message", "string", 0, "A human-readable description of the status of this operation."),
    col(
      "First Seen",
      "string",
      1,
      "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    ),
    col("Count", "string", 1, "The number of times this event has occurred."),
    col("Name", "string", 1, NAME_DESC, "name"),
  ],
  cells(o, now) {
    const involved = obj(o["involvedObject"]);
    const source = obj(o["source"]);
    const last = str(o["lastTimestamp"]) || str(o["eventTime"]) || o.metadata.creationTimestamp;
    const first = str(o["firstTimestamp"]) || str(o["eventTime"]) || o.metadata.creationTimestamp;
    const src = [str(source["component"]) || str(o["reportingComponent"]), str(source["host"])]
      .filter(Boolean)
      .join(", ");
    return [
      age(last, now),
      str(o["type"]),
      str(o["reason"]),
      `${str(involved["kind"]).toLowerCase()}/${str(involved["name"])}`,
      str(involved["fieldPath"]),
      src,
      str(o["message"]).trim(),
      age(first, now),
      typeof o["count"] === "number" ? o["count"] : 1,
      o.metadata.name ?? "",
    ];
  },
};

const statefulsets: Printer = {
  columns: [
    NAME,
    col("Ready", "string", 0, "Number of the pod with ready state"),
    AGE,
    col("Containers", "string", 1, "Names of each container in the template."),
    col("Images", "string", 1, "Images referenced by each container in the template."),
  ],
  cells(o, now) {
    const spec = obj(o["spec"]);
    const status = obj(o["status"]);
    const cs = templateContainers(o);
    return [
      o.metadata.name ?? "",
      `${num(status["readyReplicas"])}/${num(spec["replicas"])}`,
      age(o.metadata.creationTimestamp, now),
      cs.map(c => str(c["name"])).join(","),
      cs.map(c => str(c["image"])).join(","),
    ];
  },
};

const DS_DOC = "More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";

/** labels.FormatLabels: sorted `k=v` pairs, `<none>` for none. */
function formatLabels(labels: Obj): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? "<none>" : keys.map(k => `${k}=${str(labels[k])}`).join(",");
}

/** printDaemonSet (pkg/printers/internalversion/printers.go). */
const daemonsets: Printer = {
  columns: [
    NAME,
    col(
      "Desired",
      "integer",
      0,
      `The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). ${DS_DOC}`,
    ),
    col(
      "Current",
      "integer",
      0,
      `The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. ${DS_DOC}`,
    ),
    col(
      "Ready",
      "integer",
      0,
      "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
    ),
    col(
      "Up-to-date",
      "integer",
      0,
      "The total number of nodes that are running updated daemon pod",
    ),
    col(
      "Available",
      "integer",
      0,
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
      "Node Selector",
      "string",
      0,
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    AGE,
    col("Containers", "string", 1, "Names of each container in the template."),
    col("Images", "string", 1, "Images referenced by each container in the template."),
    col(
      "Selector",
      "string",
      1,
      "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
  ],
  cells(o, now) {
    const status = obj(o["status"]);
    const podSpec = obj(obj(obj(o["spec"])["template"])["spec"]);
    return [
      o.metadata.name ?? "",
      num(status["desiredNumberScheduled"]),
      num(status["currentNumberScheduled"]),
      num(status["numberReady"]),
      num(status["updatedNumberScheduled"]),
      num(status["numberAvailable"]),
      formatLabels(obj(podSpec["nodeSelector"])),
      age(o.metadata.creationTimestamp, now),
      ...wideContainers(o),
    ];
  },
};

/** printControllerRevision: the controller as `<kind>.<group>/<name>` (formatResourceName). */
const controllerrevisions: Printer = {
  columns: [
    NAME,
    col("Controller", "string", 0, "Controller of the object"),
    col(
      "Revision",
      "string",
      0,
      "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
  ],
  cells(o, now) {
    const ref = (o.metadata.ownerReferences ?? []).find(r => r.controller === true);
    let controller = "<none>";
    if (ref !== undefined) {
      const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
      const kind = group === "" ? ref.kind : `${ref.kind}.${group}`;
      controller = `${kind.toLowerCase()}/${ref.name}`;
    }
    return [
      o.metadata.name ?? "",
      controller,
      num(o["revision"]),
      age(o.metadata.creationTimestamp, now),
    ];
  },
};

const defaultPrinter: Printer = {
  columns: [NAME, col("Created At", "date", 0, AGE_DESC)],
  cells: o => [o.metadata.name ?? "", o.metadata.creationTimestamp ?? null],
};

const BUILTIN: Record<string, Printer> = {
  "apps/deployments": deployments,
  "apps/replicasets": replicasets,
  "apps/statefulsets": statefulsets,
  "apps/daemonsets": daemonsets,
  "apps/controllerrevisions": controllerrevisions,
  "/pods": pods,
  "/namespaces": namespaces,
  "/configmaps": configmaps,
  "/secrets": secrets,
  "/serviceaccounts": serviceaccounts,
  "/services": services,
  "/nodes": nodes,
  "/events": events,
};

/** Evaluates a simple Kubernetes JSONPath (`.a.b`, `[0]`, `[*]`, `[?(@.k=="v")]`) to its results. */
export function evalJsonPath(root: unknown, path: string): unknown[] {
  const expr = path.replace(/^\{/, "").replace(/\}$/, "").trim();
  const tokens = expr.match(/\.[^.[\]]+|\[[^\]]*\]/g) ?? [];
  let current: unknown[] = [root];
  for (const token of tokens) {
    const next: unknown[] = [];
    for (const value of current) {
      if (token.startsWith(".")) {
        const v = obj(value)[token.slice(1)];
        if (v !== undefined) next.push(v);
        continue;
      }
      const inner = token.slice(1, -1);
      const list = arr(value);
      if (inner === "*") next.push(...list);
      else if (/^-?\d+$/.test(inner)) {
        const n = Number(inner);
        const v = list[n < 0 ? list.length + n : n];
        if (v !== undefined) next.push(v);
      } else {
        const m = /^\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\)$/.exec(inner);
        if (m) next.push(...list.filter(item => evalJsonPath(item, `.${m[1] ?? ""}`)[0] === m[2]));
      }
    }
    current = next;
  }
  return current;
}

function printed(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** tableconvertor.go: one cell of an additionalPrinterColumn. */
function crdCell(object: KubeObject, column: Obj, nowMs: number): Cell {
  const results = evalJsonPath(object, str(column["jsonPath"]));
  if (results.length === 0) return null;
  const first = results[0];
  switch (column["type"]) {
    case "string":
      return results.map(printed).join(" ");
    case "integer":
      return typeof first === "number" ? Math.trunc(first) : null;
    case "number":
      return typeof first === "number" ? first : null;
    case "boolean":
      return typeof first === "boolean" ? first : null;
    case "date":
      return typeof first === "string"
        ? Number.isNaN(Date.parse(first))
          ? "<invalid>"
          : age(first, nowMs)
        : null;
    default:
      return null;
  }
}

function crdPrinter(info: ResourceInfo): Printer | undefined {
  const crd = info.crd;
  if (!crd) return undefined;
  const version = arr(obj(crd["spec"])["versions"])
    .map(obj)
    .find(v => v["name"] === info.version);
  const cols = arr(version?.["additionalPrinterColumns"]).map(obj);
  if (cols.length === 0) {
    return {
      columns: [NAME, col("Age", "date", 0, AGE_DESC)],
      cells: (o, now) => [o.metadata.name ?? "", age(o.metadata.creationTimestamp, now)],
    };
  }
  return {
    columns: [
      NAME,
      ...cols.map(c =>
        col(
          str(c["name"]),
          str(c["type"]),
          num(c["priority"]),
          str(c["description"]) ||
            `Custom resource definition column (in JSONPath format): ${str(c["jsonPath"])}`,
          str(c["format"]),
        ),
      ),
    ],
    cells: (o, now) => [o.metadata.name ?? "", ...cols.map(c => crdCell(o, c, now))],
  };
}

function printerFor(info: ResourceInfo): Printer {
  return crdPrinter(info) ?? BUILTIN[`${info.group}/${info.resource}`] ?? defaultPrinter;
}

function rowObject(object: KubeObject, include: IncludeObject): Obj | undefined {
  if (include === "None") return undefined;
  if (include === "Object") return object;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: object.metadata };
}

/** Builds the Table for a list or a single object. */
export function toTable(
  info: ResourceInfo,
  objects: KubeObject[],
  options: { nowMs: number; includeObject: IncludeObject; listMeta?: Obj; noHeaders?: boolean },
): Record<string, unknown> {
  const printer = printerFor(info);
  const rows = objects.map(o => {
    const row: Obj = { cells: printer.cells(o, options.nowMs) };
    const included = rowObject(o, options.includeObject);
    if (included) row["object"] = included;
    return row;
  });
  const table: Record<string, unknown> = {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: options.listMeta ?? {},
    columnDefinitions: options.noHeaders ? null : printer.columns,
    rows,
  };
  return table;
}
