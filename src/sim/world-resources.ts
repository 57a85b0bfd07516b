/**
 * The simulated world's own kinds, served in the simulator's group (sim.rollbackdrill.io/v1,
 * cluster-scoped): ContainerImage (a repository of the simulated registry: tags, digests and what
 * each digest does) and SimDatabase (a simulated database's schema version). kubectl, YAML and
 * watches drive the world through them; startWorld registers them into the store's catalogue.
 */
import type { GVR, ResourceInfo } from "./types.ts";

export const SIM_WORLD_GROUP = "sim.rollbackdrill.io";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export const CONTAINER_IMAGE_RESOURCE: ResourceInfo = {
  group: SIM_WORLD_GROUP,
  version: "v1",
  resource: "containerimages",
  singular: "containerimage",
  kind: "ContainerImage",
  listKind: "ContainerImageList",
  namespaced: false,
  shortNames: ["cimg"],
  verbs: VERBS,
  subresources: [],
};

export const SIM_DATABASE_RESOURCE: ResourceInfo = {
  group: SIM_WORLD_GROUP,
  version: "v1",
  resource: "simdatabases",
  singular: "simdatabase",
  kind: "SimDatabase",
  listKind: "SimDatabaseList",
  namespaced: false,
  shortNames: ["simdb"],
  verbs: VERBS,
  subresources: [],
};

export const WORLD_RESOURCES: readonly ResourceInfo[] = [
  CONTAINER_IMAGE_RESOURCE,
  SIM_DATABASE_RESOURCE,
];

export const CONTAINER_IMAGES: GVR = {
  group: SIM_WORLD_GROUP,
  version: "v1",
  resource: "containerimages",
};
export const SIM_DATABASES: GVR = {
  group: SIM_WORLD_GROUP,
  version: "v1",
  resource: "simdatabases",
};
