/**
 * Decodes the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) that kubectl's
 * imperative generators send (`kubectl create namespace|deployment|configmap|secret|...`), into
 * the object's JSON form as the apiserver would hold it after decoding.
 *
 * Facts used (k8s.io/apimachinery pkg/runtime/serializer/protobuf/protobuf.go, generated.proto of
 * k8s.io/api core/v1 and apps/v1, k8s.io/apimachinery meta/v1, runtime, intstr, resource):
 * - the body is the 4-byte magic `k8s\0` then a runtime.Unknown message
 *   {typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4};
 * - `raw` holds the object's own message, fields by the numbers in generated.proto.
 *
 * Go's generated marshallers write every non-pointer field, zero or not, so zero scalars are
 * dropped here (the JSON form omits them, `omitempty`) except for pointer fields (`keep`), and a
 * present message is an object even when empty (non-pointer structs marshal as `{}` in JSON).
 * A zero metav1.Time is `null` in JSON and therefore omitted.
 */
import { ApiError } from "./errors.ts";
import type { KubeObject } from "./types.ts";

type Scalar = "string" | "bytes" | "int" | "bool" | "time" | "quantity" | "intstr";

interface Field {
  name: string;
  type: Scalar | Message;
  repeated?: boolean;
  /** A map<string, V>: entries are messages {key=1, value=2}. */
  map?: "string" | "bytes" | "quantity";
  /** A pointer field in Go: its zero value is still sent on purpose. */
  keep?: boolean;
  /** An embedded Go struct (`json:",inline"`): its fields merge into the parent. */
  inline?: boolean;
}

interface Message {
  fields: Record<number, Field>;
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** A protobuf reader over one message's bytes: varints and length-delimited fields. */
class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw malformed("truncated varint");
      const byte = this.buf[this.pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw malformed("varint too long");
    }
  }

  bytes(): Uint8Array {
    const length = Number(this.varint());
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.end) throw malformed("truncated field");
    return this.buf.subarray(start, this.pos);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw malformed(`unsupported wire type ${wireType}`);
  }
}

function malformed(detail: string): ApiError {
  return new ApiError(400, "BadRequest", `unable to decode protobuf body: ${detail}`);
}

const text = new TextDecoder("utf-8");

/** Reads every (field number, wire type) in [start, end), calling `visit` positioned on the value. */
function eachField(
  buf: Uint8Array,
  visit: (reader: Reader, field: number, wireType: number) => void,
): void {
  const reader = new Reader(buf);
  while (reader.pos < reader.end) {
    const tag = Number(reader.varint());
    visit(reader, tag >>> 3, tag & 7);
  }
}

function decodeScalar(type: Scalar, reader: Reader, wireType: number): unknown {
  switch (type) {
    case "string":
      return text.decode(reader.bytes());
    case "bytes":
      return Buffer.from(reader.bytes()).toString("base64");
    case "int":
      return Number(BigInt.asIntN(64, reader.varint()));
    case "bool":
      return reader.varint() !== 0n;
    case "time":
      return decodeTime(reader.bytes());
    case "quantity":
      return decodeMessage(quantity, reader.bytes())["string"] ?? "0";
    case "intstr":
      return decodeIntOrString(reader.bytes());
    default:
      reader.skip(wireType);
      return undefined;
  }
}

/** metav1.Time {seconds=1, nanos=2}: RFC 3339 at second precision; zero is JSON null (omitted). */
function decodeTime(buf: Uint8Array): string | undefined {
  let seconds = 0;
  eachField(buf, (r, field, wire) => {
    if (field === 1) seconds = Number(r.varint());
    else r.skip(wire);
  });
  if (seconds === 0) return undefined;
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** intstr.IntOrString {type=1 (0 int, 1 string), intVal=2, strVal=3}. */
function decodeIntOrString(buf: Uint8Array): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = "";
  eachField(buf, (r, field, wire) => {
    if (field === 1) type = Number(r.varint());
    else if (field === 2) intVal = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 3) strVal = text.decode(r.bytes());
    else r.skip(wire);
  });
  return type === 1 ? strVal : intVal;
}

function decodeMapEntry(buf: Uint8Array, valueType: "string" | "bytes" | "quantity") {
  let key = "";
  let value: unknown = valueType === "quantity" ? "0" : "";
  eachField(buf, (r, field, wire) => {
    if (field === 1) key = text.decode(r.bytes());
    else if (field === 2) value = decodeScalar(valueType, r, wire);
    else r.skip(wire);
  });
  return [key, value] as const;
}

function isZero(value: unknown): boolean {
  return value === "" || value === 0 || value === false || value === undefined;
}

function decodeField(spec: Field, reader: Reader, wireType: number, out: Record<string, unknown>) {
  if (spec.map !== undefined) {
    const [key, value] = decodeMapEntry(reader.bytes(), spec.map);
    const map = (out[spec.name] ??= {}) as Record<string, unknown>;
    map[key] = value;
    return;
  }
  const value =
    typeof spec.type === "string"
      ? decodeScalar(spec.type, reader, wireType)
      : decodeMessage(spec.type, reader.bytes());
  if (spec.inline === true) {
    Object.assign(out, value);
    return;
  }
  if (spec.repeated === true) {
    ((out[spec.name] ??= []) as unknown[]).push(value);
    return;
  }
  if (isZero(value) && spec.keep !== true) return;
  out[spec.name] = value;
}

function decodeMessage(message: Message, buf: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  eachField(buf, (reader, field, wireType) => {
    const spec = message.fields[field];
    if (spec === undefined) reader.skip(wireType);
    else decodeField(spec, reader, wireType, out);
  });
  return out;
}

// --- Schemas: field numbers from generated.proto ----------------------------------------------

const msg = (fields: Record<number, Field>): Message => ({ fields });
const s = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: "string", ...extra });
const i = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: "int", ...extra });
const b = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: "bool", ...extra });
const m = (name: string, type: Message, extra: Partial<Field> = {}): Field => ({
  name,
  type,
  ...extra,
});
const strings = (name: string): Field => s(name, { repeated: true });
const stringMap = (name: string): Field => ({ name, type: "string", map: "string" });

const quantity = msg({ 1: s("string") });
const empty = msg({});
const localRef = msg({ 1: s("name") });
const inlineRef = m("", localRef, { inline: true });

const ownerReference = msg({
  1: s("kind"),
  3: s("name"),
  4: s("uid"),
  5: s("apiVersion"),
  6: b("controller", { keep: true }),
  7: b("blockOwnerDeletion", { keep: true }),
});

const objectMeta = msg({
  1: s("name"),
  2: s("generateName"),
  3: s("namespace"),
  5: s("uid"),
  6: s("resourceVersion"),
  7: i("generation"),
  8: { name: "creationTimestamp", type: "time" },
  9: { name: "deletionTimestamp", type: "time" },
  10: i("deletionGracePeriodSeconds", { keep: true }),
  11: stringMap("labels"),
  12: stringMap("annotations"),
  13: m("ownerReferences", ownerReference, { repeated: true }),
  14: strings("finalizers"),
});

const labelSelector = msg({
  1: stringMap("matchLabels"),
  2: m("matchExpressions", msg({ 1: s("key"), 2: s("operator"), 3: strings("values") }), {
    repeated: true,
  }),
});

const keySelector = msg({ 1: inlineRef, 2: s("key"), 3: b("optional", { keep: true }) });
const envVar = msg({
  1: s("name"),
  2: s("value"),
  3: m(
    "valueFrom",
    msg({
      1: m("fieldRef", msg({ 1: s("apiVersion"), 2: s("fieldPath") })),
      3: m("configMapKeyRef", keySelector),
      4: m("secretKeyRef", keySelector),
    }),
  ),
});
const envSource = msg({ 1: inlineRef, 2: b("optional", { keep: true }) });

const intstr = (name: string): Field => ({ name, type: "intstr" });
const probe = msg({
  1: m(
    "",
    msg({
      1: m("exec", msg({ 1: strings("command") })),
      2: m("httpGet", msg({ 1: s("path"), 2: intstr("port"), 3: s("host"), 4: s("scheme") })),
      3: m("tcpSocket", msg({ 1: intstr("port"), 2: s("host") })),
      4: m("grpc", msg({ 1: i("port"), 2: s("service", { keep: true }) })),
    }),
    { inline: true },
  ),
  2: i("initialDelaySeconds"),
  3: i("timeoutSeconds"),
  4: i("periodSeconds"),
  5: i("successThreshold"),
  6: i("failureThreshold"),
  7: i("terminationGracePeriodSeconds", { keep: true }),
});

const resources = msg({
  1: { name: "limits", type: "quantity", map: "quantity" },
  2: { name: "requests", type: "quantity", map: "quantity" },
});

const container = msg({
  1: s("name"),
  2: s("image"),
  3: strings("command"),
  4: strings("args"),
  5: s("workingDir"),
  6: m(
    "ports",
    msg({
      1: s("name"),
      2: i("hostPort"),
      3: i("containerPort"),
      4: s("protocol"),
      5: s("hostIP"),
    }),
    { repeated: true },
  ),
  7: m("env", envVar, { repeated: true }),
  8: m("resources", resources),
  9: m(
    "volumeMounts",
    msg({ 1: s("name"), 2: b("readOnly"), 3: s("mountPath"), 4: s("subPath") }),
    { repeated: true },
  ),
  10: m("livenessProbe", probe),
  11: m("readinessProbe", probe),
  13: s("terminationMessagePath"),
  14: s("imagePullPolicy"),
  16: b("stdin"),
  17: b("stdinOnce"),
  18: b("tty"),
  19: m(
    "envFrom",
    msg({ 1: s("prefix"), 2: m("configMapRef", envSource), 3: m("secretRef", envSource) }),
    { repeated: true },
  ),
  20: s("terminationMessagePolicy"),
  22: m("startupProbe", probe),
  24: s("restartPolicy"),
});

const keyToPath = msg({ 1: s("key"), 2: s("path"), 3: i("mode", { keep: true }) });
const volume = msg({
  1: s("name"),
  2: m(
    "",
    msg({
      2: m("emptyDir", msg({ 1: s("medium"), 2: { name: "sizeLimit", type: "quantity" } })),
      6: m(
        "secret",
        msg({
          1: s("secretName"),
          2: m("items", keyToPath, { repeated: true }),
          3: i("defaultMode", { keep: true }),
          4: b("optional", { keep: true }),
        }),
      ),
      10: m("persistentVolumeClaim", msg({ 1: s("claimName"), 2: b("readOnly") })),
      19: m(
        "configMap",
        msg({
          1: inlineRef,
          2: m("items", keyToPath, { repeated: true }),
          3: i("defaultMode", { keep: true }),
          4: b("optional", { keep: true }),
        }),
      ),
    }),
    { inline: true },
  ),
});

const podSpec = msg({
  1: m("volumes", volume, { repeated: true }),
  2: m("containers", container, { repeated: true }),
  3: s("restartPolicy"),
  4: i("terminationGracePeriodSeconds", { keep: true }),
  5: i("activeDeadlineSeconds", { keep: true }),
  6: s("dnsPolicy"),
  7: stringMap("nodeSelector"),
  8: s("serviceAccountName"),
  9: s("serviceAccount"),
  10: s("nodeName"),
  11: b("hostNetwork"),
  14: m("securityContext", empty),
  15: m("imagePullSecrets", localRef, { repeated: true }),
  16: s("hostname"),
  17: s("subdomain"),
  19: s("schedulerName"),
  20: m("initContainers", container, { repeated: true }),
  21: b("automountServiceAccountToken", { keep: true }),
  24: s("priorityClassName"),
  30: b("enableServiceLinks", { keep: true }),
});

const podTemplateSpec = msg({ 1: m("metadata", objectMeta), 2: m("spec", podSpec) });

const deployment = msg({
  1: m("metadata", objectMeta),
  2: m(
    "spec",
    msg({
      1: i("replicas", { keep: true }),
      2: m("selector", labelSelector),
      3: m("template", podTemplateSpec),
      4: m(
        "strategy",
        msg({
          1: s("type"),
          2: m("rollingUpdate", msg({ 1: intstr("maxUnavailable"), 2: intstr("maxSurge") })),
        }),
      ),
      5: i("minReadySeconds"),
      6: i("revisionHistoryLimit", { keep: true }),
      7: b("paused"),
      9: i("progressDeadlineSeconds", { keep: true }),
    }),
  ),
  3: m("status", empty),
});

const servicePort = msg({
  1: s("name"),
  2: s("protocol"),
  3: i("port"),
  4: intstr("targetPort"),
  5: i("nodePort"),
  6: s("appProtocol"),
});

const service = msg({
  1: m("metadata", objectMeta),
  2: m(
    "spec",
    msg({
      1: m("ports", servicePort, { repeated: true }),
      2: stringMap("selector"),
      3: s("clusterIP"),
      4: s("type"),
      5: strings("externalIPs"),
      7: s("sessionAffinity"),
      10: s("externalName"),
      17: s("ipFamilyPolicy"),
      18: strings("clusterIPs"),
      19: strings("ipFamilies"),
    }),
  ),
  3: m("status", msg({ 1: m("loadBalancer", empty) })),
});

/** Decoders by "apiVersion/kind" of the envelope. */
const kinds: Record<string, Message> = {
  "v1/Namespace": msg({
    1: m("metadata", objectMeta),
    2: m("spec", msg({ 1: strings("finalizers") })),
    3: m("status", msg({ 1: s("phase") })),
  }),
  "v1/ConfigMap": msg({
    1: m("metadata", objectMeta),
    2: stringMap("data"),
    3: { name: "binaryData", type: "bytes", map: "bytes" },
    4: b("immutable", { keep: true }),
  }),
  "v1/Secret": msg({
    1: m("metadata", objectMeta),
    2: { name: "data", type: "bytes", map: "bytes" },
    3: s("type"),
    4: stringMap("stringData"),
    5: b("immutable", { keep: true }),
  }),
  "v1/ServiceAccount": msg({
    1: m("metadata", objectMeta),
    2: m("secrets", msg({ 1: s("kind"), 2: s("namespace"), 3: s("name"), 5: s("apiVersion") }), {
      repeated: true,
    }),
    3: m("imagePullSecrets", localRef, { repeated: true }),
    4: b("automountServiceAccountToken", { keep: true }),
  }),
  "v1/Service": service,
  "v1/Pod": msg({ 1: m("metadata", objectMeta), 2: m("spec", podSpec), 3: m("status", empty) }),
  "apps/v1/Deployment": deployment,
};

/** The kinds decodeKubeProtobuf understands, as "apiVersion/kind". */
export const protobufKinds: readonly string[] = Object.keys(kinds);

function unsupported(kind: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is not supported for ${kind})`,
  );
}

/**
 * Decodes a `k8s\0`-prefixed runtime.Unknown envelope and the object inside. Throws ApiError 400
 * for a malformed body and 415 for a kind this simulator cannot decode from protobuf.
 */
export function decodeKubeProtobuf(body: Uint8Array): KubeObject {
  if (body.length < 4 || MAGIC.some((byte, index) => body[index] !== byte)) {
    throw malformed("missing the k8s protobuf prefix");
  }
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array = new Uint8Array();
  let contentEncoding = "";
  eachField(body.subarray(4), (reader, field, wireType) => {
    if (field === 1) {
      const typeMeta = decodeMessage(msg({ 1: s("apiVersion"), 2: s("kind") }), reader.bytes());
      apiVersion = typeof typeMeta["apiVersion"] === "string" ? typeMeta["apiVersion"] : "";
      kind = typeof typeMeta["kind"] === "string" ? typeMeta["kind"] : "";
    } else if (field === 2) raw = reader.bytes();
    else if (field === 3) contentEncoding = text.decode(reader.bytes());
    else reader.skip(wireType);
  });
  if (contentEncoding !== "") throw unsupported(`content encoding ${contentEncoding}`);
  const message = kinds[`${apiVersion}/${kind}`];
  if (message === undefined) throw unsupported(`${apiVersion}, Kind=${kind}`);
  const fields = decodeMessage(message, raw);
  const metadata = (fields["metadata"] ?? {}) as KubeObject["metadata"];
  return { apiVersion, kind, ...fields, metadata };
}
