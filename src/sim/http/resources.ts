/**
 * The resource endpoints: list/watch/get/create/update/patch/delete/deletecollection, the status,
 * scale, finalize and log subresources, and the authorization reviews
 * (k8s.io/apiserver/pkg/endpoints/handlers: get.go, create.go, update.go, patch.go, delete.go, watch.go).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { AUDIT_GROUP, SIM_GROUP } from "../catalogue.ts";
import { ApiError, badRequest, notFound } from "../errors.ts";
import { applyPatchBody, UNSUPPORTED_PATCH_MESSAGE } from "../patch.ts";
import { decodeKubeProtobuf } from "../protobuf.ts";
import { labelSelectorString, objectMatcher } from "../selectors.ts";
import type { SimStore } from "../store.ts";
import { toTable } from "../table.ts";
import type { IncludeObject } from "../table.ts";
import type {
  Actor,
  DeleteOptions,
  KubeObject,
  PatchType,
  SimClock,
  WriteOptions,
} from "../types.ts";
import type { WatchHub } from "../watch.ts";
import type { AuditLog } from "../audit.ts";
import type { FaultDecision } from "../faults.ts";
import { checkWriteFields } from "../admission/field-validation.ts";
import { decodeObjectBody, mediaType, readBody, sendJson, sendText } from "./respond.ts";
import { methodNotSupported } from "./route.ts";
import type { ResourceRoute } from "./route.ts";

/** Pod logs from the simulated kubelet. */
export type PodLogsFn = (
  namespace: string,
  name: string,
  container: string | undefined,
  options: { follow: boolean; previous: boolean; tailLines?: number; timestamps: boolean },
) => string;

export interface ResourceDeps {
  store: SimStore;
  clock: SimClock;
  hub: WatchHub;
  audit: AuditLog;
  logs?: PodLogsFn;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  route: ResourceRoute;
  verb: string;
  actor: Actor;
  faults: FaultDecision;
}

const PATCH_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

/** Decodes a create/update body: JSON, YAML or Kubernetes protobuf. */
export function decodeObject(req: IncomingMessage): Promise<KubeObject> {
  return decodeObjectBody(req, decodeKubeProtobuf);
}

function writeOptions(url: URL, subresource?: string): WriteOptions {
  const opts: WriteOptions = {};
  if (url.searchParams.getAll("dryRun").includes("All")) opts.dryRun = true;
  const manager = url.searchParams.get("fieldManager");
  if (manager) opts.fieldManager = manager;
  if (subresource !== undefined) opts.subresource = subresource;
  return opts;
}

function listKindOf(ctx: RequestContext): { kind: string; apiVersion: string } {
  const { info } = ctx.route;
  return {
    kind: info.listKind,
    apiVersion: info.group === "" ? info.version : `${info.group}/${info.version}`,
  };
}

/** `Accept: ...;as=Table;g=meta.k8s.io` */
function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? "";
  return accept.split(",").some(p => p.includes("as=Table") && p.includes("g=meta.k8s.io"));
}

function includeObject(url: URL): IncludeObject {
  const v = url.searchParams.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}

function sendObjects(
  ctx: RequestContext,
  deps: ResourceDeps,
  code: number,
  object: KubeObject,
): void {
  if (wantsTable(ctx.req)) {
    const table = toTable(ctx.route.info, [object], {
      nowMs: deps.clock.nowMs(),
      includeObject: includeObject(ctx.url),
      listMeta: { resourceVersion: object.metadata.resourceVersion ?? "" },
    });
    sendJson(ctx.res, code, table);
    return;
  }
  sendJson(ctx.res, code, object);
}

interface ContinueToken {
  rv: string;
  start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as ContinueToken;
    if (typeof parsed.start !== "string") throw new Error("bad");
    return parsed;
  } catch {
    throw badRequest(`invalid continue token: ${text}`);
  }
}

function itemKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
}

function list(ctx: RequestContext, deps: ResourceDeps): void {
  const { url, route } = ctx;
  const options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {};
  if (route.namespace !== undefined) options.namespace = route.namespace;
  const labelSelector = url.searchParams.get("labelSelector");
  const fieldSelector = url.searchParams.get("fieldSelector");
  if (labelSelector) options.labelSelector = labelSelector;
  if (fieldSelector) options.fieldSelector = fieldSelector;
  const result =
    route.info.group === AUDIT_GROUP
      ? {
          items: deps.audit.toObjects() as KubeObject[],
          resourceVersion: String(deps.store.currentResourceVersion()),
        }
      : deps.store.list(route.gvr, options);
  let items = result.items;
  const cont = url.searchParams.get("continue");
  if (cont) {
    const token = decodeContinue(cont);
    items = items.filter(o => itemKey(o) > token.start);
  }
  const limit = Number(url.searchParams.get("limit") ?? "0");
  const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
  if (limit > 0 && items.length > limit) {
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    metadata["continue"] = encodeContinue({
      rv: result.resourceVersion,
      start: last ? itemKey(last) : "",
    });
    metadata["remainingItemCount"] = items.length - limit;
    items = page;
  }
  if (wantsTable(ctx.req)) {
    sendJson(
      ctx.res,
      200,
      toTable(route.info, items, {
        nowMs: deps.clock.nowMs(),
        includeObject: includeObject(url),
        listMeta: metadata,
      }),
    );
    return;
  }
  sendJson(ctx.res, 200, { ...listKindOf(ctx), metadata, items });
}

function watch(ctx: RequestContext, deps: ResourceDeps): void {
  const { url, route, res, req } = ctx;
  const matches = objectMatcher(
    route.info.group,
    route.info.resource,
    url.searchParams.get("labelSelector") ?? undefined,
    url.searchParams.get("fieldSelector") ?? undefined,
  );
  const table = wantsTable(req);
  const include = includeObject(url);
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  res.flushHeaders();
  const rv = url.searchParams.get("resourceVersion") ?? "";
  const sink = {
    send(type: string, object: unknown): boolean {
      if (res.destroyed || res.writableEnded) return false;
      let out = object;
      if (table && (type === "ADDED" || type === "MODIFIED" || type === "DELETED")) {
        out = toTable(route.info, [object as KubeObject], {
          nowMs: deps.clock.nowMs(),
          includeObject: include,
        });
      }
      res.write(`${JSON.stringify({ type, object: out })}\n`);
      // Back-pressure: a watcher that cannot keep up is dropped rather than buffered without bound.
      return res.writableLength < 16 * 1024 * 1024;
    },
    end(): void {
      if (!res.writableEnded) res.end();
    },
  };
  if (ctx.faults.expireWatch && rv !== "" && rv !== "0") {
    sink.send(
      "ERROR",
      new ApiError(
        410,
        "Expired",
        `too old resource version: ${rv} (${deps.store.currentResourceVersion()})`,
      ).toStatus(),
    );
    sink.end();
    return;
  }
  const timeoutSeconds = Number(url.searchParams.get("timeoutSeconds") ?? "0");
  const request: Parameters<WatchHub["watch"]>[0] = {
    info: route.info,
    namespace: route.namespace,
    matches,
    resourceVersion: rv,
    allowBookmarks: url.searchParams.get("allowWatchBookmarks") === "true",
    sendInitialEvents: url.searchParams.get("sendInitialEvents") === "true",
  };
  if (timeoutSeconds > 0) request.timeoutMs = timeoutSeconds * 1000;
  if (ctx.faults.dropWatchAfterEvents !== undefined)
    request.dropAfterEvents = ctx.faults.dropWatchAfterEvents;
  const stop = deps.hub.watch(request, sink);
  req.on("close", stop);
  res.on("close", stop);
}

function scaleOf(object: KubeObject): KubeObject {
  const spec = (object["spec"] ?? {}) as Record<string, unknown>;
  const status = (object["status"] ?? {}) as Record<string, unknown>;
  const meta = object.metadata;
  const metadata: KubeObject["metadata"] = {};
  for (const k of ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] as const) {
    if (meta[k] !== undefined) metadata[k] = meta[k];
  }
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata,
    spec: { replicas: typeof spec["replicas"] === "number" ? spec["replicas"] : 0 },
    status: {
      replicas: typeof status["replicas"] === "number" ? status["replicas"] : 0,
      selector: labelSelectorString(spec["selector"]),
    },
  };
}

async function scale(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route, req } = ctx;
  const name = route.name ?? "";
  const current = deps.store.get(route.gvr, route.namespace, name);
  if (!current) throw notFound(route.info.group, route.info.resource, name);
  if (ctx.verb === "get") {
    sendJson(ctx.res, 200, scaleOf(current));
    return;
  }
  let wanted: KubeObject;
  if (ctx.verb === "update") wanted = await decodeObject(req);
  else {
    const type = PATCH_TYPES[mediaType(req.headers["content-type"])];
    if (type === undefined || type === "apply")
      throw new ApiError(415, "UnsupportedMediaType", UNSUPPORTED_PATCH_MESSAGE);
    const body: unknown = JSON.parse((await readBody(req)).toString("utf8"));
    wanted = applyPatchBody(type, scaleOf(current), body, {
      group: "autoscaling",
      kind: "Scale",
      resource: "scale",
      custom: false,
    });
  }
  const replicas = (wanted["spec"] as { replicas?: unknown } | undefined)?.replicas;
  const update: KubeObject = {
    apiVersion: current.apiVersion,
    kind: current.kind,
    metadata: { name, resourceVersion: wanted.metadata.resourceVersion ?? "" },
    spec: { replicas },
  };
  if (route.namespace !== undefined) update.metadata.namespace = route.namespace;
  const saved = deps.store.update(route.gvr, update, ctx.actor, writeOptions(ctx.url, "scale"));
  sendJson(ctx.res, 200, scaleOf(saved));
}

function podLog(ctx: RequestContext, deps: ResourceDeps): void {
  const { route, url } = ctx;
  const name = route.name ?? "";
  if (!deps.store.get(route.gvr, route.namespace, name)) throw notFound("", "pods", name);
  const tail = url.searchParams.get("tailLines");
  const options: Parameters<PodLogsFn>[3] = {
    follow: url.searchParams.get("follow") === "true",
    previous: url.searchParams.get("previous") === "true",
    timestamps: url.searchParams.get("timestamps") === "true",
  };
  if (tail !== null) options.tailLines = Number(tail);
  const text =
    deps.logs?.(
      route.namespace ?? "",
      name,
      url.searchParams.get("container") ?? undefined,
      options,
    ) ?? "";
  sendText(ctx.res, 200, text);
}

/** The authorization reviews: the admin identity may do everything (no RBAC enforcement yet). */
function review(ctx: RequestContext, body: KubeObject): void {
  const resource = ctx.route.info.resource;
  const status =
    resource === "selfsubjectrulesreviews"
      ? {
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          incomplete: false,
        }
      : { allowed: true, reason: "" };
  sendJson(ctx.res, 201, {
    ...body,
    apiVersion: "authorization.k8s.io/v1",
    kind: ctx.route.info.kind,
    status,
  });
}

/** fieldValidation (admission/field-validation.ts): Strict throws; Warn sets Warning headers. */
function fieldValidation(ctx: RequestContext, body: unknown, decoded: boolean): void {
  const { info, gvr } = ctx.route;
  const handledAs = decoded ? { kind: info.kind, version: gvr.version } : undefined;
  const warnings = checkWriteFields(info.crd, gvr.version, ctx.url, body, handledAs);
  if (warnings.length > 0) ctx.res.setHeader("Warning", warnings);
}

async function create(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route } = ctx;
  if (route.info.group === "authorization.k8s.io") {
    // kubectl sends reviews as protobuf; only the answer matters, so an undecodable body is fine.
    const body = await decodeObject(ctx.req).catch(() => ({
      apiVersion: "",
      kind: "",
      metadata: {},
    }));
    review(ctx, body);
    return;
  }
  const object = await decodeObject(ctx.req);
  fieldValidation(ctx, object, true);
  if (route.info.namespaced) {
    const ns = object.metadata.namespace;
    if (ns !== undefined && ns !== "" && ns !== route.namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    if (route.namespace !== undefined) object.metadata.namespace = route.namespace;
  }
  const created = deps.store.create(route.gvr, object, ctx.actor, writeOptions(ctx.url));
  sendObjects(ctx, deps, 201, created);
}

async function update(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route } = ctx;
  const object = await decodeObject(ctx.req);
  fieldValidation(ctx, object, true);
  const name = route.name ?? "";
  if (object.metadata.name !== undefined && object.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  object.metadata.name = name;
  if (route.namespace !== undefined) object.metadata.namespace = route.namespace;
  const saved = deps.store.update(
    route.gvr,
    object,
    ctx.actor,
    writeOptions(ctx.url, route.subresource),
  );
  sendObjects(ctx, deps, 200, saved);
}

async function patch(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route, url, req } = ctx;
  const type = PATCH_TYPES[mediaType(req.headers["content-type"])];
  const custom = route.info.crd !== undefined || route.info.group === SIM_GROUP;
  if (type === undefined || (type === "strategic" && custom)) {
    const accepted = custom
      ? UNSUPPORTED_PATCH_MESSAGE
      : UNSUPPORTED_PATCH_MESSAGE.replace(
          "application/merge-patch+json, ",
          "application/merge-patch+json, application/strategic-merge-patch+json, ",
        );
    throw new ApiError(415, "UnsupportedMediaType", accepted);
  }
  const force = url.searchParams.get("force");
  if (force !== null && force !== "false" && type !== "apply") {
    throw new ApiError(
      422,
      "Invalid",
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      {
        group: "meta.k8s.io",
        kind: "PatchOptions",
        causes: [
          {
            reason: "FieldValueForbidden",
            message: "Forbidden: may not be specified for non-apply patch",
            field: "force",
          },
        ],
      },
    );
  }
  const raw = (await readBody(req)).toString("utf8");
  let body: unknown = raw;
  if (type !== "apply") {
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw badRequest(`error decoding patch: ${(err as Error).message}`);
    }
  }
  if (type === "apply" || type === "merge") {
    let fields: unknown = body;
    try {
      if (type === "apply") fields = parseYaml(raw);
    } catch {
      fields = undefined; // the store answers an undecodable apply body
    }
    fieldValidation(ctx, fields, false);
  }
  const name = route.name ?? "";
  const existed = deps.store.get(route.gvr, route.namespace, name) !== undefined;
  const opts: WriteOptions & { force?: boolean } = writeOptions(url, route.subresource);
  if (type === "apply" && !opts.fieldManager) {
    throw new ApiError(
      422,
      "Invalid",
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        group: "meta.k8s.io",
        kind: "PatchOptions",
        causes: [
          {
            reason: "FieldValueRequired",
            message: "Required value: is required for apply patch",
            field: "fieldManager",
          },
        ],
      },
    );
  }
  if (force === "true") opts.force = true;
  const saved = deps.store.patch(route.gvr, route.namespace, name, type, body, ctx.actor, opts);
  sendObjects(ctx, deps, existed ? 200 : 201, saved);
}

async function deleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const raw = (await readBody(ctx.req)).toString("utf8").trim();
  const parsed = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
  const opts: DeleteOptions = {};
  const policy = ctx.url.searchParams.get("propagationPolicy") ?? parsed["propagationPolicy"];
  if (policy === "Foreground" || policy === "Background" || policy === "Orphan")
    opts.propagationPolicy = policy;
  const grace = ctx.url.searchParams.get("gracePeriodSeconds") ?? parsed["gracePeriodSeconds"];
  if (grace !== undefined && grace !== null) opts.gracePeriodSeconds = Number(grace);
  const pre = parsed["preconditions"];
  if (pre && typeof pre === "object") opts.preconditions = pre;
  const dry = parsed["dryRun"];
  if (
    ctx.url.searchParams.getAll("dryRun").includes("All") ||
    (Array.isArray(dry) && dry.includes("All"))
  )
    opts.dryRun = true;
  return opts;
}

/** Stores whose Delete answers with the object rather than a Status (ReturnDeletedObject). */
function returnsDeletedObject(ctx: RequestContext): boolean {
  const { info } = ctx.route;
  return (
    info.crd !== undefined ||
    info.group === SIM_GROUP ||
    (info.group === "" && ["pods", "namespaces", "services"].includes(info.resource))
  );
}

async function remove(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route } = ctx;
  const opts = await deleteOptions(ctx);
  const name = route.name ?? "";
  const result = deps.store.delete(route.gvr, route.namespace, name, ctx.actor, opts);
  const gone = opts.dryRun
    ? result.metadata.deletionTimestamp === undefined
    : !deps.store.get(route.gvr, route.namespace, name);
  if (!gone || returnsDeletedObject(ctx)) {
    sendObjects(ctx, deps, 200, result);
    return;
  }
  sendJson(ctx.res, 200, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name, group: route.info.group, kind: route.info.resource, uid: result.metadata.uid },
  });
}

async function removeCollection(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route, url } = ctx;
  const opts = await deleteOptions(ctx);
  const options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {};
  if (route.namespace !== undefined) options.namespace = route.namespace;
  const ls = url.searchParams.get("labelSelector");
  const fs = url.searchParams.get("fieldSelector");
  if (ls) options.labelSelector = ls;
  if (fs) options.fieldSelector = fs;
  const items = deps.store
    .list(route.gvr, options)
    .items.map(o =>
      deps.store.delete(route.gvr, o.metadata.namespace, o.metadata.name ?? "", ctx.actor, opts),
    );
  sendJson(ctx.res, 200, {
    ...listKindOf(ctx),
    metadata: { resourceVersion: String(deps.store.currentResourceVersion()) },
    items,
  });
}

function get(ctx: RequestContext, deps: ResourceDeps): void {
  const { route } = ctx;
  const name = route.name ?? "";
  if (route.info.group === AUDIT_GROUP) {
    const found = deps.audit
      .toObjects()
      .find(o => (o["metadata"] as { name: string }).name === name);
    if (!found) throw notFound(route.info.group, route.info.resource, name);
    sendJson(ctx.res, 200, found);
    return;
  }
  const object = deps.store.get(route.gvr, route.namespace, name);
  if (!object) throw notFound(route.info.group, route.info.resource, name);
  sendObjects(ctx, deps, 200, object);
}

/** Serves one resource request; throws ApiError for the caller to answer. */
export async function serveResource(ctx: RequestContext, deps: ResourceDeps): Promise<void> {
  const { route, verb } = ctx;
  const sub = route.subresource;
  if (sub === undefined && !route.info.verbs.includes(verb)) throw methodNotSupported(route, verb);
  if (sub === "scale") return scale(ctx, deps);
  if (sub === "log") {
    if (verb !== "get") throw methodNotSupported(route, verb);
    podLog(ctx, deps);
    return;
  }
  if (sub === "finalize" && verb !== "update") throw methodNotSupported(route, verb);
  switch (verb) {
    case "list":
      list(ctx, deps);
      return;
    case "watch":
      watch(ctx, deps);
      return;
    case "get":
      get(ctx, deps);
      return;
    case "create":
      return create(ctx, deps);
    case "update":
      return update(ctx, deps);
    case "patch":
      return patch(ctx, deps);
    case "delete":
      return remove(ctx, deps);
    case "deletecollection":
      return removeCollection(ctx, deps);
    default:
      throw methodNotSupported(route, verb);
  }
}
