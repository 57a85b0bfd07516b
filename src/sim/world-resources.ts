/**
 * The simulated world's own kinds, served in the simulator's group (sim.rollbackdrill.io/v1,
 * cluster-scoped): ContainerImage (a repository of the simulated registry: tags, digests and what
 * each digest does) and SimDatabase (a simulated database's schema version). kubectl, YAML and
 * watches drive the world through them; startWorld registers them into the store's catalogue.
 */
import { SIM_GROUP, SIM_RESOURCES, SIM_VERSION } from "./contract.ts";
import type { GVR, ResourceInfo } from "./types.ts";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export const CONTAINER_IMAGE_RESOURCE: ResourceInfo = {
  group: SIM_GROUP,
  version: SIM_VERSION,
  ...SIM_RESOURCES.containerImages,
  singular: "containerimage",
  listKind: "ContainerImageList",
  namespaced: false,
  shortNames: ["cimg"],
  verbs: VERBS,
  subresources: [],
};

export const SIM_DATABASE_RESOURCE: ResourceInfo = {
  group: SIM_GROUP,
  version: SIM_VERSION,
  ...SIM_RESOURCES.simDatabases,
  singular: "simdatabase",
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
  group: SIM_GROUP,
  version: SIM_VERSION,
  resource: SIM_RESOURCES.containerImages.resource,
};
export const SIM_DATABASES: GVR = {
  group: SIM_GROUP,
  version: SIM_VERSION,
  resource: SIM_RESOURCES.simDatabases.resource,
};
