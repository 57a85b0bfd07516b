/**
 * The simulated image registry: repositories, tags that point at digests, what each digest does
 * when it runs, and the simulated databases those programs migrate. The kubelet pulls against it;
 * tests and the ContainerImage / SimDatabase API objects (images/sync.ts) drive it.
 *
 * Pull failures carry the messages a containerd node gives (CRI PullImage errors as the kubelet
 * reports them in ErrImagePull).
 */
import { createHash } from "node:crypto";
import type { ImageBehaviour } from "./contract.ts";
import { canonicalJson } from "./controllers/names.ts";
import {
  formatReference,
  normalizeRepository,
  parseImageReference,
  type ImageReference,
} from "./images/reference.ts";

export { formatReference, parseImageReference, type ImageReference } from "./images/reference.ts";

export type { ImageBehaviour } from "./contract.ts";

export interface ImageRecord {
  repository: string;
  digest: string;
  behaviour: ImageBehaviour;
}

export interface RepositoryState {
  /** Normalised repository, e.g. "registry.example.com/shop/web" or "docker.io/library/nginx". */
  name: string;
  private: boolean;
  /** tag -> digest */
  tags: Record<string, string>;
  /** digest -> behaviour */
  images: Record<string, ImageBehaviour>;
  /** Digests that were deleted: pulls of them fail with "not found". */
  deletedDigests: string[];
}

export type ResolveResult =
  | { ok: true; repository: string; digest: string; behaviour: ImageBehaviour; imageId: string }
  | { ok: false; reason: "NotFound" | "Unauthorized" | "InvalidImageName"; message: string };

export interface ResolveOptions {
  /** Registry hosts the node holds credentials for (from the pod's image pull secrets). */
  credentials?: ReadonlySet<string>;
}

export interface RegistryChange {
  kind: "repository" | "database";
  name: string;
}

export interface ImageRegistry {
  /** Pushes an image built for `repo:tag` and moves the tag to it; returns its digest. */
  push(repo: string, tag: string, behaviour?: ImageBehaviour): string;
  /** Points `tag` at an existing digest of the repository. */
  tag(repo: string, tag: string, digest: string): void;
  deleteTag(repo: string, tag: string): void;
  /** Deletes a digest and every tag pointing at it. */
  deleteDigest(repo: string, digest: string): void;
  setPrivate(repo: string, isPrivate: boolean): void;
  /** Replaces what a digest does (every repository holding it). */
  setBehaviour(digest: string, behaviour: ImageBehaviour): void;
  /** Resolves a reference as a pull would: tag -> digest, checks credentials and deletions. */
  resolve(image: string, options?: ResolveOptions): ResolveResult;
  /** The behaviour of a digest known to the registry (also after deletion, for cached copies). */
  behaviourOf(digest: string): ImageBehaviour | undefined;
  repository(repo: string): RepositoryState | undefined;
  repositories(): RepositoryState[];
  /** Replaces a repository's whole state (from a ContainerImage object); undefined removes it. */
  putRepository(state: RepositoryState | undefined, name: string, silent?: boolean): void;
  createDatabase(name: string, schemaVersion: number): void;
  databaseVersion(name: string): number | undefined;
  setDatabaseVersion(name: string, schemaVersion: number, silent?: boolean): void;
  deleteDatabase(name: string, silent?: boolean): void;
  databases(): { name: string; schemaVersion: number }[];
  /** Called after every change not marked silent; returns an unsubscribe function. */
  onChange(listener: (change: RegistryChange) => void): () => void;
}

/** Content-addressed digest: the same build of the same repository and tag gives the same digest. */
export function digestFor(repository: string, tag: string, behaviour: ImageBehaviour): string {
  const h = createHash("sha256").update(`${repository}\n${tag}\n${canonicalJson(behaviour)}`);
  return `sha256:${h.digest("hex")}`;
}

/** A stable pretend image size in bytes (for the kubelet's "Pulled" event). */
export function imageSizeOf(digest: string): number {
  return 10_000_000 + (parseInt(digest.slice(7, 13), 16) % 90_000_000);
}

function pullFailed(ref: string, why: string, code: "NotFound" | "Unknown"): string {
  return `rpc error: code = ${code} desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${why}`;
}

const ACCESS_DENIED =
  "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed";

function resolveRef(
  repos: ReadonlyMap<string, RepositoryState>,
  ref: ImageReference,
  options: ResolveOptions,
): ResolveResult {
  const shown = formatReference(ref);
  const state = repos.get(ref.repository);
  if (state?.private === true && !(options.credentials?.has(ref.host) ?? false)) {
    return {
      ok: false,
      reason: "Unauthorized",
      message: pullFailed(shown, ACCESS_DENIED, "Unknown"),
    };
  }
  if (!state) {
    // Docker Hub answers an unknown repository with "access denied"; other registries 404.
    if (ref.host === "docker.io")
      return {
        ok: false,
        reason: "NotFound",
        message: pullFailed(shown, ACCESS_DENIED, "Unknown"),
      };
    return {
      ok: false,
      reason: "NotFound",
      message: pullFailed(shown, `${shown}: not found`, "NotFound"),
    };
  }
  const digest = ref.digest ?? (ref.tag !== undefined ? state.tags[ref.tag] : undefined);
  const behaviour = digest !== undefined ? state.images[digest] : undefined;
  if (digest === undefined || behaviour === undefined || state.deletedDigests.includes(digest)) {
    return {
      ok: false,
      reason: "NotFound",
      message: pullFailed(shown, `${shown}: not found`, "NotFound"),
    };
  }
  return {
    ok: true,
    repository: state.name,
    digest,
    behaviour,
    imageId: `${state.name}@${digest}`,
  };
}

export function createImageRegistry(): ImageRegistry {
  const repos = new Map<string, RepositoryState>();
  const behaviours = new Map<string, ImageBehaviour>();
  const dbs = new Map<string, number>();
  const listeners = new Set<(change: RegistryChange) => void>();

  const emit = (change: RegistryChange): void => {
    for (const l of [...listeners]) l(change);
  };
  const repoOrCreate = (repo: string): RepositoryState => {
    const name = normalizeRepository(repo);
    let state = repos.get(name);
    if (!state) {
      state = { name, private: false, tags: {}, images: {}, deletedDigests: [] };
      repos.set(name, state);
    }
    return state;
  };
  const existing = (repo: string): RepositoryState => {
    const state = repos.get(normalizeRepository(repo));
    if (!state) throw new Error(`repository ${repo} does not exist`);
    return state;
  };

  const registry: ImageRegistry = {
    push(repo, tag, behaviour = {}) {
      const state = repoOrCreate(repo);
      const digest = digestFor(state.name, tag, behaviour);
      state.images[digest] = structuredClone(behaviour);
      state.deletedDigests = state.deletedDigests.filter(d => d !== digest);
      state.tags[tag] = digest;
      behaviours.set(digest, structuredClone(behaviour));
      emit({ kind: "repository", name: state.name });
      return digest;
    },
    tag(repo, tag, digest) {
      const state = existing(repo);
      if (!(digest in state.images) || state.deletedDigests.includes(digest))
        throw new Error(`${state.name}@${digest}: not found`);
      state.tags[tag] = digest;
      emit({ kind: "repository", name: state.name });
    },
    deleteTag(repo, tag) {
      const state = existing(repo);
      Reflect.deleteProperty(state.tags, tag);
      emit({ kind: "repository", name: state.name });
    },
    deleteDigest(repo, digest) {
      const state = existing(repo);
      for (const [t, d] of Object.entries(state.tags))
        if (d === digest) Reflect.deleteProperty(state.tags, t);
      if (!state.deletedDigests.includes(digest)) state.deletedDigests.push(digest);
      emit({ kind: "repository", name: state.name });
    },
    setPrivate(repo, isPrivate) {
      const state = repoOrCreate(repo);
      state.private = isPrivate;
      emit({ kind: "repository", name: state.name });
    },
    setBehaviour(digest, behaviour) {
      behaviours.set(digest, structuredClone(behaviour));
      for (const state of repos.values()) {
        if (digest in state.images) {
          state.images[digest] = structuredClone(behaviour);
          emit({ kind: "repository", name: state.name });
        }
      }
    },
    resolve(image, options = {}) {
      const parsed = parseImageReference(image);
      if (!parsed.ok) return { ok: false, reason: "InvalidImageName", message: parsed.message };
      return resolveRef(repos, parsed.ref, options);
    },
    behaviourOf: digest => {
      const b = behaviours.get(digest);
      return b === undefined ? undefined : structuredClone(b);
    },
    repository: repo => {
      const state = repos.get(normalizeRepository(repo));
      return state === undefined ? undefined : structuredClone(state);
    },
    repositories: () => [...repos.values()].map(s => structuredClone(s)),
    putRepository(state, name, silent = false) {
      const key = normalizeRepository(name);
      if (state === undefined) repos.delete(key);
      else {
        const copy = structuredClone({ ...state, name: key });
        repos.set(key, copy);
        for (const [d, b] of Object.entries(copy.images)) behaviours.set(d, structuredClone(b));
      }
      if (!silent) emit({ kind: "repository", name: key });
    },
    createDatabase(name, schemaVersion) {
      dbs.set(name, schemaVersion);
      emit({ kind: "database", name });
    },
    databaseVersion: name => dbs.get(name),
    setDatabaseVersion(name, schemaVersion, silent = false) {
      if (dbs.get(name) === schemaVersion) return;
      dbs.set(name, schemaVersion);
      if (!silent) emit({ kind: "database", name });
    },
    deleteDatabase(name, silent = false) {
      if (!dbs.delete(name)) return;
      if (!silent) emit({ kind: "database", name });
    },
    databases: () => [...dbs.entries()].map(([name, schemaVersion]) => ({ name, schemaVersion })),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return registry;
}

/** The database a program uses: the last path segment of a URL value, else the value itself. */
export function databaseNameFromValue(value: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/([^?#]*)/i.exec(value);
  const path = m?.[1];
  if (path !== undefined && path !== "") return path.split("/").pop() ?? path;
  return value;
}
