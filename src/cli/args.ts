/**
 * The CLI's flags for `plan` and `run`: the ones they share (TARGET_FLAGS: namespace, target,
 * drill name, revision, output, kubeconfig), the gate's own (--wait, --timeout, --standalone), and
 * the checks that turn each into a typed option or an Error naming the flag.
 */
import { parseArgs } from "node:util";
import { TARGET_KINDS, type TargetKind } from "../api/vocabulary.ts";

export const OUTPUTS = ["table", "json", "yaml"] as const;
export type Output = (typeof OUTPUTS)[number];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface RunOptions {
  readonly namespace: string;
  /** The target's name. */
  readonly target: string;
  readonly targetKind: TargetKind;
  readonly name: string;
  readonly toRevision: number;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly output: Output;
  readonly kubeconfig: string | undefined;
  readonly standalone: boolean;
}

/** Go-style durations ("90s", "15m", "1h30m", "1.5h"); a bare number is seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map(p => p[0]).join("") !== text)
    throw new Error(`"${text}" is not a duration such as 90s, 15m or 1h30m`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? "s"] ?? 1000), 0);
}

/** The resource names kubectl takes for each target kind (singular, plural, short, with group). */
const KIND_NAMES: Readonly<Record<TargetKind, readonly string[]>> = {
  Deployment: ["deployment", "deployments", "deploy", "deployment.apps"],
  StatefulSet: ["statefulset", "statefulsets", "sts", "statefulset.apps"],
  DaemonSet: ["daemonset", "daemonsets", "ds", "daemonset.apps"],
};

export interface Target {
  kind: TargetKind;
  name: string;
}

/** `deployment/NAME`, `statefulset/NAME` or `daemonset/NAME`, as kubectl names them (deploy/, sts/, ds/ too). */
export function parseTarget(text: string): Target {
  const at = text.indexOf("/");
  const resource = at < 0 ? "" : text.slice(0, at).toLowerCase();
  const name = text.slice(at + 1);
  const kind = TARGET_KINDS.find(k => KIND_NAMES[k].includes(resource));
  if (kind === undefined)
    throw new Error(
      `"${text}" must be deployment/NAME, statefulset/NAME or daemonset/NAME (the kinds a drill can target)`,
    );
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    throw new Error(`"${name}" is not a ${kind} name`);
  return { kind, name };
}

export function parseNamespace(text: string | undefined): string {
  if (text === undefined) throw new Error("--namespace is required");
  if (!DNS_LABEL.test(text) || text.length > 63) throw new Error(`"${text}" is not a namespace`);
  return text;
}

export function parseToRevision(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 2147483647)
    throw new Error(`--to-revision: "${text}" must be a revision number (0: the previous one)`);
  return n;
}

export function parseOutput(text: string): Output {
  if (!(OUTPUTS as readonly string[]).includes(text))
    throw new Error(`--output: "${text}" must be one of ${OUTPUTS.join(", ")}`);
  return text as Output;
}

/** The flags `plan` and `run` share: which Deployment, which drill, which revision, how to print. */
export const TARGET_FLAGS = {
  namespace: { type: "string", short: "n" },
  target: { type: "string" },
  "to-revision": { type: "string" },
  name: { type: "string" },
  output: { type: "string", short: "o", default: "table" },
  kubeconfig: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** TARGET_FLAGS as parseArgs returns them. */
interface TargetValues {
  namespace?: string | undefined;
  target?: string | undefined;
  "to-revision"?: string | undefined;
  name?: string | undefined;
  output: string;
  kubeconfig?: string | undefined;
}

/** What TARGET_FLAGS say, checked; toRevision undefined when --to-revision was not given. */
export interface TargetOptions {
  readonly namespace: string;
  /** The target's name. */
  readonly target: string;
  readonly targetKind: TargetKind;
  readonly name: string;
  readonly toRevision: number | undefined;
  readonly output: Output;
  readonly kubeconfig: string | undefined;
}

/** Checks TARGET_FLAGS' values; throws an Error naming the bad flag. */
export function parseTargetFlags(
  values: TargetValues,
  env: Readonly<Record<string, string | undefined>>,
): TargetOptions {
  const namespace = parseNamespace(values.namespace);
  if (values.target === undefined) throw new Error("--target is required (deployment/NAME)");
  const { kind, name: target } = parseTarget(values.target);
  // A Deployment's gate drill keeps its name; another kind's says the kind, so a StatefulSet and
  // a Deployment of one name get a drill each.
  const name =
    values.name ??
    (kind === "Deployment" ? `gate-${target}` : `gate-${kind.toLowerCase()}-${target}`);
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253)
    throw new Error(`--name: "${name}" is not a valid RollbackDrill name`);
  const toRevision = values["to-revision"];
  return {
    namespace,
    target,
    targetKind: kind,
    name,
    toRevision: toRevision === undefined ? undefined : parseToRevision(toRevision),
    output: parseOutput(values.output),
    kubeconfig: values.kubeconfig ?? env["KUBECONFIG"],
  };
}

/** Parses flags once; throws an Error naming the bad flag. */
export function parseRunArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
): RunOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...TARGET_FLAGS,
      wait: { type: "boolean", default: false },
      timeout: { type: "string", default: "20m" },
      standalone: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const target = parseTargetFlags(values, env);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout);
  } catch (err) {
    throw new Error(`--timeout: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return Object.freeze({
    ...target,
    toRevision: target.toRevision ?? 0,
    wait: values.wait || values.standalone,
    timeoutMs,
    standalone: values.standalone,
  });
}
