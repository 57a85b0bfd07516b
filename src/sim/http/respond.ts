/**
 * Writing answers the way the apiserver does: JSON bodies, Status objects for errors with the HTTP
 * code equal to Status.code, Retry-After for 429, and reading request bodies (an object's body
 * as JSON, YAML or protobuf, as the apiserver's decoders take it).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError, badRequest } from "../errors.ts";
import type { KubeObject } from "../types.ts";

/** Largest request body accepted (the apiserver's default is 3 MiB for most writes). */
const MAX_BODY = 3 * 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  code: number,
  text: string | Uint8Array,
  contentType = "text/plain; charset=utf-8",
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Turns anything thrown into the Status the apiserver would send. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function sendError(res: ServerResponse, err: unknown): number {
  const apiError = toApiError(err);
  const retry = apiError.details?.retryAfterSeconds;
  if (retry !== undefined && !res.headersSent) res.setHeader("Retry-After", String(retry));
  sendJson(res, apiError.code, apiError.toStatus());
  return apiError.code;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(
          new ApiError(413, "BadRequest", "the server has received a request that is too large"),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/** The request's media type, without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Decodes an object's body: JSON, YAML, or Kubernetes protobuf with the decoder for the
 * endpoint's types; an undecodable body or one that is not an object is a 400.
 */
export async function decodeObjectBody(
  req: IncomingMessage,
  decodeProtobuf: (body: Uint8Array) => KubeObject,
): Promise<KubeObject> {
  const body = await readBody(req);
  const type = mediaType(req.headers["content-type"]);
  let value: unknown;
  try {
    if (type === "application/vnd.kubernetes.protobuf") return decodeProtobuf(new Uint8Array(body));
    const text = body.toString("utf8");
    value = type === "application/yaml" ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`Object 'Kind' is missing in '${body.toString("utf8").slice(0, 200)}'`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("the body of the request is not an object");
  }
  const object = value as KubeObject;
  if (typeof object.metadata !== "object") object.metadata = {};
  return object;
}
