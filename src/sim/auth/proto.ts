/**
 * Decodes the protobuf bodies kubectl sends for `auth can-i` (SelfSubjectAccessReview,
 * SelfSubjectRulesReview), `create token` (TokenRequest) and SubjectAccessReview, into their JSON
 * form. Field numbers are those of kubernetes/kubernetes staging/src/k8s.io/api/authorization/v1
 * and authentication/v1 generated.proto; the envelope is the `k8s\0` magic and a runtime.Unknown
 * {typeMeta=1 {apiVersion=1, kind=2}, raw=2} (k8s.io/apimachinery runtime/serializer/protobuf).
 */
import { badRequest } from "../errors.ts";
import type { KubeObject } from "../types.ts";

type Fields = Map<number, (bigint | Uint8Array)[]>;

function varint(buf: Uint8Array, pos: { at: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.at >= buf.length) throw badRequest("malformed protobuf: truncated varint");
    const byte = buf[pos.at++] ?? 0;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

/** Every field of one message, by number: varints as bigint, length-delimited as bytes. */
function fields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = varint(buf, pos);
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: bigint | Uint8Array;
    if (wire === 0) value = varint(buf, pos);
    else if (wire === 2) {
      const len = Number(varint(buf, pos));
      value = buf.subarray(pos.at, pos.at + len);
      pos.at += len;
    } else if (wire === 1 || wire === 5) {
      pos.at += wire === 1 ? 8 : 4;
      continue;
    } else throw badRequest(`malformed protobuf: wire type ${String(wire)}`);
    const list = out.get(num) ?? [];
    list.push(value);
    out.set(num, list);
  }
  return out;
}

const text = new TextDecoder();

function bytesOf(f: Fields, n: number): Uint8Array | undefined {
  const v = f.get(n)?.[0];
  return v instanceof Uint8Array ? v : undefined;
}

function str(f: Fields, n: number): string | undefined {
  const b = bytesOf(f, n);
  return b === undefined ? undefined : text.decode(b);
}

function strs(f: Fields, n: number): string[] {
  return (f.get(n) ?? []).filter(v => v instanceof Uint8Array).map(v => text.decode(v));
}

/** Copies the named string fields that are set and non-empty (JSON omitempty). */
function strings(f: Fields, names: Record<number, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, name] of Object.entries(names)) {
    const v = str(f, Number(n));
    if (v !== undefined && v !== "") out[name] = v;
  }
  return out;
}

function sub(f: Fields, n: number): Fields | undefined {
  const b = bytesOf(f, n);
  return b === undefined ? undefined : fields(b);
}

const RESOURCE_ATTRIBUTES = {
  1: "namespace",
  2: "verb",
  3: "group",
  4: "version",
  5: "resource",
  6: "subresource",
  7: "name",
};

/** The resourceAttributes=1 / nonResourceAttributes=2 pair of the access review specs. */
function accessSpec(spec: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const resource = sub(spec, 1);
  if (resource) out["resourceAttributes"] = strings(resource, RESOURCE_ATTRIBUTES);
  const nonResource = sub(spec, 2);
  if (nonResource) out["nonResourceAttributes"] = strings(nonResource, { 1: "path", 2: "verb" });
  return out;
}

function decodeSpec(kind: string, spec: Fields): Record<string, unknown> {
  switch (kind) {
    case "SelfSubjectAccessReview":
      return accessSpec(spec);
    case "SubjectAccessReview":
      return {
        ...accessSpec(spec),
        ...strings(spec, { 3: "user", 6: "uid" }),
        ...(spec.has(4) ? { groups: strs(spec, 4) } : {}),
      };
    case "SelfSubjectRulesReview":
      return strings(spec, { 1: "namespace" });
    case "TokenRequest": {
      const out: Record<string, unknown> = { audiences: strs(spec, 1) };
      const seconds = spec.get(4)?.[0];
      if (typeof seconds === "bigint") out["expirationSeconds"] = Number(seconds);
      const bound = sub(spec, 3);
      if (bound) {
        out["boundObjectRef"] = strings(bound, { 1: "kind", 2: "apiVersion", 3: "name", 4: "uid" });
      }
      return out;
    }
    default:
      throw badRequest(`protobuf is not supported for ${kind}`);
  }
}

/** Decodes one of the four kinds; throws 400 for anything else or a malformed body. */
export function decodeAuthProtobuf(body: Uint8Array): KubeObject {
  if (
    body.length < 4 ||
    body[0] !== 0x6b ||
    body[1] !== 0x38 ||
    body[2] !== 0x73 ||
    body[3] !== 0
  ) {
    throw badRequest("malformed protobuf: missing the k8s magic prefix");
  }
  const envelope = fields(body.subarray(4));
  const typeMeta = sub(envelope, 1) ?? new Map<number, (bigint | Uint8Array)[]>();
  const apiVersion = str(typeMeta, 1) ?? "";
  const kind = str(typeMeta, 2) ?? "";
  const object = fields(bytesOf(envelope, 2) ?? new Uint8Array());
  const meta = sub(object, 1);
  const metadata = meta ? strings(meta, { 1: "name", 2: "generateName", 3: "namespace" }) : {};
  const spec = sub(object, 2) ?? new Map<number, (bigint | Uint8Array)[]>();
  return { apiVersion, kind, metadata, spec: decodeSpec(kind, spec) };
}
