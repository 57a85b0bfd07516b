/**
 * Keeps the registry's in-process model and its API objects (ContainerImage, SimDatabase) in
 * sync both ways: a push, a migration or a deletion in process is written to the API; an object
 * created, applied or deleted through the API changes the registry. Writes back only when the
 * object differs, so the two sides settle.
 */
import {
  containerImageName,
  SIM_API_VERSION,
  SIM_GROUP,
  type ContainerImageSpec,
} from "../contract.ts";
import { canonicalJson } from "../controllers/names.ts";
import { isConflict, isNotFound } from "../controllers/kube.ts";
import { digestFor, type ImageRegistry, type RepositoryState } from "../images.ts";
import type { Actor, SimClock, SimComponent, Store, StoreEvent, TimerHandle } from "../types.ts";
import { CONTAINER_IMAGES, SIM_DATABASES } from "../world-resources.ts";
import { normalizeRepository } from "./reference.ts";

const ACTOR: Actor = {
  user: "system:sim:image-registry",
  manager: "sim-image-registry",
  userAgent: "sim-image-registry",
};

export function specFromState(state: RepositoryState): ContainerImageSpec {
  return {
    repository: state.name,
    private: state.private,
    tags: { ...state.tags },
    images: Object.entries(state.images).map(([digest, b]) => ({ digest, ...b })),
    deletedDigests: [...state.deletedDigests],
  };
}

/** The registry state an object describes; an image entry without digest is built for its tag. */
export function stateFromSpec(spec: ContainerImageSpec, name: string): RepositoryState {
  const state: RepositoryState = {
    name,
    private: spec.private === true,
    tags: { ...(spec.tags ?? {}) },
    images: {},
    deletedDigests: [...(spec.deletedDigests ?? [])],
  };
  for (const entry of spec.images ?? []) {
    const { digest, tag, ...behaviour } = entry;
    const d = digest ?? (tag !== undefined ? digestFor(name, tag, behaviour) : undefined);
    if (d === undefined) continue;
    state.images[d] = behaviour;
    if (tag !== undefined && digest === undefined) state.tags[tag] = d;
  }
  return state;
}

export function startRegistrySync(
  store: Store,
  clock: SimClock,
  registry: ImageRegistry,
): SimComponent {
  const repoObjects = new Map<string, string>();
  const pendingRepos = new Set<string>();
  const pendingDbs = new Set<string>();
  let timer: TimerHandle | undefined;
  let offRegistry: (() => void) | undefined;
  let offStore: (() => void) | undefined;

  const writeObject = (
    gvr: typeof CONTAINER_IMAGES,
    name: string,
    kind: string,
    spec: unknown,
  ): void => {
    const current = store.get(gvr, undefined, name);
    if (current !== undefined && canonicalJson(current["spec"]) === canonicalJson(spec)) return;
    try {
      if (current === undefined)
        store.create(
          gvr,
          {
            apiVersion: SIM_API_VERSION,
            kind,
            metadata: { name },
            spec: spec,
          },
          ACTOR,
        );
      else store.update(gvr, { ...current, spec }, ACTOR);
    } catch (err) {
      if (isConflict(err)) pendingRepos.add(name);
      else throw err;
    }
  };

  const flush = (): void => {
    timer = undefined;
    for (const repo of [...pendingRepos]) {
      pendingRepos.delete(repo);
      const state = registry.repository(repo);
      const name = repoObjects.get(repo) ?? containerImageName(repo);
      if (state === undefined) {
        try {
          store.delete(CONTAINER_IMAGES, undefined, name, ACTOR);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        continue;
      }
      repoObjects.set(repo, name);
      writeObject(CONTAINER_IMAGES, name, "ContainerImage", specFromState(state));
    }
    for (const db of [...pendingDbs]) {
      pendingDbs.delete(db);
      const version = registry.databaseVersion(db);
      if (version === undefined) {
        try {
          store.delete(SIM_DATABASES, undefined, db, ACTOR);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        continue;
      }
      writeObject(SIM_DATABASES, db, "SimDatabase", { schemaVersion: version });
    }
  };

  const later = (): void => {
    timer ??= clock.setTimeout(flush, 0);
  };

  const onImageObject = (e: StoreEvent): void => {
    const spec = (e.object["spec"] ?? {}) as ContainerImageSpec;
    let repo: string;
    try {
      repo = normalizeRepository(spec.repository ?? "");
    } catch {
      return;
    }
    if (e.type === "DELETED") {
      if (repoObjects.get(repo) === e.object.metadata.name) repoObjects.delete(repo);
      registry.putRepository(undefined, repo, true);
      return;
    }
    repoObjects.set(repo, e.object.metadata.name ?? containerImageName(repo));
    const state = stateFromSpec(spec, repo);
    registry.putRepository(state, repo, true);
    // Digests computed for tag-only entries are written back to the object.
    if (canonicalJson(specFromState(state)) !== canonicalJson(spec)) {
      pendingRepos.add(repo);
      later();
    }
  };

  const onDatabaseObject = (e: StoreEvent): void => {
    const name = e.object.metadata.name ?? "";
    if (e.type === "DELETED") {
      registry.deleteDatabase(name, true);
      return;
    }
    const v = (e.object["spec"] as { schemaVersion?: number } | undefined)?.schemaVersion;
    registry.setDatabaseVersion(name, typeof v === "number" ? v : 0, true);
  };

  return {
    name: "image-registry-sync",
    start() {
      offStore = store.subscribe(e => {
        if (e.gvr.group !== SIM_GROUP) return;
        if (e.gvr.resource === CONTAINER_IMAGES.resource) onImageObject(e);
        else if (e.gvr.resource === SIM_DATABASES.resource) onDatabaseObject(e);
      });
      offRegistry = registry.onChange(change => {
        if (change.kind === "repository") pendingRepos.add(change.name);
        else pendingDbs.add(change.name);
        later();
      });
      for (const o of store.list(CONTAINER_IMAGES).items)
        onImageObject({ type: "ADDED", gvr: CONTAINER_IMAGES, object: o, resourceVersion: 0 });
      for (const o of store.list(SIM_DATABASES).items)
        onDatabaseObject({ type: "ADDED", gvr: SIM_DATABASES, object: o, resourceVersion: 0 });
      for (const r of registry.repositories()) pendingRepos.add(r.name);
      for (const d of registry.databases()) pendingDbs.add(d.name);
      later();
    },
    stop() {
      offStore?.();
      offRegistry?.();
      if (timer !== undefined) clock.clearTimeout(timer);
    },
  };
}
