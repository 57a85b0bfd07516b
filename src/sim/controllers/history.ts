/**
 * Controller history (pkg/controller/history/controller_history.go) as the StatefulSet controller
 * uses it: a ControllerRevision holds one template of its set as the strategic merge patch that
 * restores it, `{"spec":{"template":{...,"$patch":"replace"}}}` (stateful_set_utils.go, getPatch),
 * named `<set>-<hash>` after the hash of that patch and the collision count, labelled with the
 * template's labels and `controller.kubernetes.io/hash`, owned by the set, and numbered by
 * `revision`.
 *
 * The patch is JSON with its keys sorted at every level: Go encodes the set, decodes it into maps
 * and encodes those again, and encoding/json writes a map's keys in order and escapes <, > and &
 * (HTML-safe). The hash is FNV-1 32 over those bytes followed by the collision count's decimal
 * digits, written with apimachinery's safe alphabet (HashControllerRevision). Both follow Go, so
 * a template the simulator stores exactly as the real apiserver does hashes alike; a template
 * stored differently still hashes stably, which is all the controller needs.
 */
import type { KubeObject } from "../types.ts";
import {
  byCreation,
  controllerRef,
  type ControllerRevisionView,
  type PodTemplate,
} from "./kube.ts";
import { pruneEmpty, safeEncodeString } from "./names.ts";

/** The label every ControllerRevision carries: its hash (history.ControllerRevisionHashLabel). */
export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

/** encoding/json of a value decoded into interface{}: sorted keys, HTML-safe strings. */
export function goJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return goString(value);
  if (typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(v => goJson(v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${goString(k)}:${goJson(v)}`).join(",")}}`;
}

function goString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** 32-bit FNV-1 (multiply, then xor), as Go's hash/fnv New32. */
export function fnv1_32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

/** The patch a revision stores for a template (getPatch), as a value with sorted keys. */
export function revisionData(template: PodTemplate): unknown {
  const patch = { spec: { template: { ...structuredClone(template), $patch: "replace" } } };
  return JSON.parse(goJson(patch)) as unknown;
}

/** HashControllerRevision: FNV-1 32 of the data's bytes and the collision count. */
export function revisionHash(data: unknown, collisionCount: number): string {
  const bytes = new TextEncoder().encode(`${goJson(data)}${String(collisionCount)}`);
  return safeEncodeString(String(fnv1_32(bytes)));
}

/** ControllerRevisionName: the parent's name (at most 223 characters), a dash and the hash. */
export function revisionName(parent: string, hash: string): string {
  return `${parent.slice(0, 223)}-${hash}`;
}

/** The template a revision restores (ApplyRevision's effect on spec.template). */
export function revisionTemplate(revision: ControllerRevisionView): PodTemplate | undefined {
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const template = data?.spec?.template;
  if (template === undefined) return undefined;
  const out = structuredClone(template);
  delete out["$patch"];
  return out;
}

/** newRevision: the revision `revision` of `set`'s current template (named, not yet stored). */
export function newRevision(
  set: KubeObject & { spec: { template: PodTemplate } },
  revision: number,
  collisionCount: number,
): ControllerRevisionView {
  const data = revisionData(set.spec.template);
  const hash = revisionHash(data, collisionCount);
  const metadata: KubeObject["metadata"] = {
    name: revisionName(set.metadata.name ?? "", hash),
    namespace: set.metadata.namespace ?? "",
    labels: { ...(set.spec.template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
    ownerReferences: [controllerRef(set)],
  };
  const annotations = set.metadata.annotations ?? {};
  if (Object.keys(annotations).length > 0) metadata.annotations = { ...annotations };
  return { apiVersion: "apps/v1", kind: "ControllerRevision", metadata, data, revision };
}

/** EqualRevision: the same stored bytes. */
export function equalRevision(a: ControllerRevisionView, b: ControllerRevisionView): boolean {
  return goJson(a.data) === goJson(b.data);
}

/**
 * Whether restoring `latest` gives the set's template again, compared semantically (empty and
 * absent values alike): setMatchesLatestExistingRevision, on by default
 * (StatefulSetSemanticRevisionComparison).
 */
export function semanticallyEqual(template: PodTemplate, latest: ControllerRevisionView): boolean {
  const restored = revisionTemplate(latest);
  return restored !== undefined && goJson(pruneEmpty(restored)) === goJson(pruneEmpty(template));
}

/** SortControllerRevisions: by revision, then creation, then name. */
export function byRevisionNumber(a: ControllerRevisionView, b: ControllerRevisionView): number {
  return a.revision !== b.revision ? a.revision - b.revision : byCreation(a, b);
}

/** nextRevision: one more than the highest, 1 for none (expects sorted revisions). */
export function nextRevision(sorted: readonly ControllerRevisionView[]): number {
  const last = sorted[sorted.length - 1];
  return last === undefined ? 1 : last.revision + 1;
}
