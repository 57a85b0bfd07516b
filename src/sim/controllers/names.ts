/**
 * Names the controllers give: the pod-template-hash (and so `<deployment>-<hash>` ReplicaSet
 * names), and the random suffixes of pods and containers.
 *
 * Kubernetes hashes a Go dump of the template (pkg/controller/controller_utils.go, ComputeHash),
 * which TypeScript cannot reproduce byte for byte; we hash a canonical JSON of the template instead,
 * so equal templates give equal hashes. The rest follows Kubernetes: 32-bit FNV-1a, the
 * collisionCount appended as an 8-byte little-endian buffer, and the decimal digits of the sum
 * mapped through apimachinery's "safe" alphabet (pkg/util/rand/rand.go, SafeEncodeString).
 */
import { randomBytes } from "node:crypto";

/** apimachinery/pkg/util/rand: consonants and digits, no vowels (no bad words), no 0/1/3. */
export const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** The label that ties a ReplicaSet and its pods to one template (apps/v1 DefaultDeploymentUniqueLabelKey). */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** JSON with object keys sorted at every level: a stable serialisation for hashing. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(v => canonicalJson(v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * Drops nulls, empty objects and empty arrays at every level. apimachinery's Semantic.DeepEqual
 * treats nil and empty maps and slices as equal; the store defaults both templates alike, so
 * treating every empty value as absent is the practical equivalent on JSON.
 */
export function pruneEmpty(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(v => pruneEmpty(v));
    return items.length === 0 ? undefined : items;
  }
  if (value === null) return undefined;
  if (typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = pruneEmpty(v);
    if (p !== undefined) out[k] = p;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * EqualIgnoreHash (pkg/controller/deployment/util/deployment_util.go): two pod templates are the
 * same once the pod-template-hash label is ignored.
 */
export function templatesEqualIgnoreHash(a: unknown, b: unknown): boolean {
  return (
    canonicalJson(pruneEmpty(stripHashLabel(a))) === canonicalJson(pruneEmpty(stripHashLabel(b)))
  );
}

/** 32-bit FNV-1a over bytes, continuing from `seed` (the offset basis by default). */
export function fnv1a32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** SafeEncodeString: each character's code point modulo 27 picks a letter of the safe alphabet. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (const ch of s) out += SAFE_ALPHABET[(ch.codePointAt(0) ?? 0) % SAFE_ALPHABET.length] ?? "";
  return out;
}

/**
 * The pod-template-hash of a template (ComputeHash). The template is hashed without its own
 * pod-template-hash label, so a ReplicaSet's template and its Deployment's template hash alike.
 *
 * @param collisionCount the Deployment's status.collisionCount; undefined means none recorded
 */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  const data = new TextEncoder().encode(canonicalJson(pruneEmpty(stripHashLabel(template))));
  let h = fnv1a32(data);
  if (collisionCount !== undefined) {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a32(buf, h);
  }
  return safeEncodeString(String(h));
}

/** A copy of a pod template without metadata.labels["pod-template-hash"]. */
export function stripHashLabel(template: unknown): unknown {
  if (template === null || typeof template !== "object") return template;
  const t = structuredClone(template) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels && POD_TEMPLATE_HASH_LABEL in t.metadata.labels) {
    Reflect.deleteProperty(t.metadata.labels, POD_TEMPLATE_HASH_LABEL);
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return t;
}

/** `n` random characters of the safe alphabet (utilrand.String, used for generateName suffixes). */
export function randomSafeString(n: number): string {
  const bytes = randomBytes(n * 2);
  let out = "";
  for (let i = 0; i < n; i++) {
    const v = ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0);
    out += SAFE_ALPHABET[v % SAFE_ALPHABET.length] ?? "b";
  }
  return out;
}

/** A 64-hex-digit id, as containerd gives containers and sandboxes. */
export function randomHex64(): string {
  return randomBytes(32).toString("hex");
}
