/**
 * The simulator's registry and databases, driven through its API group (sim.rollbackdrill.io:
 * ContainerImage and SimDatabase objects), so the same code works against an in-process simulator
 * or one in another process. A real cluster uses a real registry instead (see RegistryOps).
 */
import type { CustomObjectsApi } from "@kubernetes/client-node";
import {
  containerImageName,
  SIM_API_VERSION,
  SIM_GROUP,
  SIM_RESOURCES,
  SIM_VERSION,
  simDatabaseUrl,
  type ContainerImage,
  type ContainerImageSpec,
  type SimDatabase,
} from "../sim/contract.ts";
import type { ImageBehaviour, RegistryOps } from "./registry.ts";

const IMAGES = SIM_RESOURCES.containerImages;
const DATABASES = SIM_RESOURCES.simDatabases;

export function statusCode(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = error.code;
    return typeof code === "number" ? code : undefined;
  }
  return undefined;
}

/** Retries an optimistic write on 409 Conflict: read, change, write again. */
export async function onConflictRetry<T>(write: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (error) {
      if (statusCode(error) !== 409 || i >= attempts) throw error;
    }
  }
}

/** Repeats a read until it returns a value (or gives up by throwing). */
export type Until = <T>(what: string, probe: () => Promise<T | undefined | false>) => Promise<T>;

export class SimRegistry implements RegistryOps {
  private readonly custom: CustomObjectsApi;
  private readonly until: Until;

  constructor(custom: CustomObjectsApi, until: Until) {
    this.custom = custom;
    this.until = until;
  }

  private async readImage(repository: string): Promise<ContainerImage | undefined> {
    try {
      return (await this.custom.getClusterCustomObject({
        group: SIM_GROUP,
        version: SIM_VERSION,
        plural: IMAGES.resource,
        name: containerImageName(repository),
      })) as ContainerImage;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  private async writeImage(
    repository: string,
    change: (spec: ContainerImageSpec) => ContainerImageSpec,
  ): Promise<void> {
    await onConflictRetry(async () => {
      const existing = await this.readImage(repository);
      const spec = change(existing?.spec ?? { repository });
      const body = {
        apiVersion: SIM_API_VERSION,
        kind: IMAGES.kind,
        metadata: {
          name: containerImageName(repository),
          ...(existing ? { resourceVersion: existing.metadata.resourceVersion } : {}),
        },
        spec,
      };
      const params = { group: SIM_GROUP, version: SIM_VERSION, plural: IMAGES.resource, body };
      if (existing)
        await this.custom.replaceClusterCustomObject({ ...params, name: body.metadata.name });
      else await this.custom.createClusterCustomObject(params);
    });
  }

  async pushImage(repository: string, tag: string, behaviour: ImageBehaviour): Promise<string> {
    const before = (await this.readImage(repository))?.spec.tags?.[tag];
    await this.writeImage(repository, spec => ({
      ...spec,
      images: [...(spec.images ?? []), { tag, ...behaviour }],
    }));
    return this.until(`image ${repository}:${tag} pushed`, async () => {
      const image = await this.readImage(repository);
      const digest = image?.spec.tags?.[tag];
      const settled = image?.spec.images?.every(i => i.digest !== undefined) ?? false;
      return settled && digest !== undefined && digest !== before ? digest : undefined;
    });
  }

  async deleteImage(repository: string, digest: string): Promise<void> {
    await this.writeImage(repository, spec => ({
      ...spec,
      deletedDigests: [...(spec.deletedDigests ?? []), digest],
      tags: Object.fromEntries(Object.entries(spec.tags ?? {}).filter(([, d]) => d !== digest)),
    }));
  }

  async imageDigest(repository: string, tag: string): Promise<string | undefined> {
    return (await this.readImage(repository))?.spec.tags?.[tag];
  }

  async createDatabase(name: string, schemaVersion: number): Promise<void> {
    await this.custom.createClusterCustomObject({
      group: SIM_GROUP,
      version: SIM_VERSION,
      plural: DATABASES.resource,
      body: {
        apiVersion: SIM_API_VERSION,
        kind: DATABASES.kind,
        metadata: { name },
        spec: { schemaVersion },
      },
    });
  }

  /** The URL the simulator's programs read their database's name from. */
  databaseUrl(name: string, host: string): string {
    return simDatabaseUrl(name, host);
  }

  async databaseVersion(name: string): Promise<number | undefined> {
    try {
      const db = (await this.custom.getClusterCustomObject({
        group: SIM_GROUP,
        version: SIM_VERSION,
        plural: DATABASES.resource,
        name,
      })) as Partial<SimDatabase>;
      return db.spec?.schemaVersion;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }
}
