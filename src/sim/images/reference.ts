/**
 * Image references parsed and normalised the way Docker's reference library does
 * (github.com/distribution/reference, ParseNormalizedNamed) and as containerd reports them:
 * the default registry is docker.io, single-component Docker Hub names get "library/", and a
 * reference without tag or digest means ":latest" (kubelet's applyDefaultImageTag).
 */

export const DEFAULT_REGISTRY = "docker.io";

export interface ImageReference {
  /** Registry host (with port), e.g. "docker.io", "registry.example.com:5000". */
  host: string;
  /** Path inside the registry, e.g. "library/nginx", "shop/web". */
  path: string;
  /** `host/path`: the repository key of the simulated registry. */
  repository: string;
  tag?: string;
  /** "sha256:<64 hex>" when the reference pins a digest. */
  digest?: string;
}

export type ParsedReference = { ok: true; ref: ImageReference } | { ok: false; message: string };

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function isHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

/** Parses an image reference; the error message is the reference library's wording. */
export function parseImageReference(image: string): ParsedReference {
  const fail = (why: string): ParsedReference => ({ ok: false, message: why });
  if (image === "") return fail("invalid reference format");
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return fail("invalid reference format");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return fail("invalid reference format");
  }
  const parts = rest.split("/");
  let host = DEFAULT_REGISTRY;
  const first = parts[0] ?? "";
  if (parts.length > 1 && isHost(first)) {
    host = first;
    parts.shift();
  }
  if (rest !== rest.toLowerCase() && parts.join("/") !== parts.join("/").toLowerCase())
    return fail("invalid reference format: repository name must be lowercase");
  if (parts.length === 0 || !parts.every(p => PATH_COMPONENT.test(p)))
    return fail("invalid reference format");
  if (host === DEFAULT_REGISTRY && parts.length === 1) parts.unshift("library");
  const path = parts.join("/");
  const ref: ImageReference = { host, path, repository: `${host}/${path}` };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = "latest";
  return { ok: true, ref };
}

/** The fully normalised reference containerd pulls and reports, e.g. "docker.io/library/nginx:1.25". */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag !== undefined ? `:${ref.tag}` : "";
  const digest = ref.digest !== undefined ? `@${ref.digest}` : "";
  return `${ref.repository}${tag}${digest}`;
}

/** Normalises a repository name ("nginx" -> "docker.io/library/nginx"); throws when invalid. */
export function normalizeRepository(name: string): string {
  const parsed = parseImageReference(name);
  if (!parsed.ok) throw new Error(`invalid repository ${JSON.stringify(name)}: ${parsed.message}`);
  return parsed.ref.repository;
}
