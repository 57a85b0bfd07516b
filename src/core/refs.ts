/**
 * The ConfigMaps and Secrets a pod template references, so the sandbox can get copies: volumes
 * (plain and projected), env valueFrom, envFrom, image pull secrets (the template's own, or its
 * ServiceAccount's when it has none, as admission gives them); init containers included.
 */
import type { RollbackDrill } from "../api/types.ts";
import type { AccountSource, Container, PodTemplateSpec } from "./observed.ts";

/** One reference: which object, from where, and whether the pod starts without it. */
export interface ObjectReference {
  kind: "ConfigMap" | "Secret";
  name: string;
  /** Who references it: `container "app"`, `volume "config"`, `imagePullSecrets`. */
  from: string;
  optional: boolean;
  /** An image pull secret: always copied (the pull must be real). */
  pull: boolean;
}

function containerRefs(container: Container): ObjectReference[] {
  const from = `container "${container.name}"`;
  const refs: ObjectReference[] = [];
  for (const env of container.env ?? []) {
    const cm = env.valueFrom?.configMapKeyRef;
    if (cm !== undefined) refs.push(ref("ConfigMap", cm.name, from, cm.optional));
    const secret = env.valueFrom?.secretKeyRef;
    if (secret !== undefined) refs.push(ref("Secret", secret.name, from, secret.optional));
  }
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined)
      refs.push(ref("ConfigMap", source.configMapRef.name, from, source.configMapRef.optional));
    if (source.secretRef !== undefined)
      refs.push(ref("Secret", source.secretRef.name, from, source.secretRef.optional));
  }
  return refs;
}

function ref(
  kind: ObjectReference["kind"],
  name: string,
  from: string,
  optional: boolean | undefined,
  pull = false,
): ObjectReference {
  return { kind, name, from, optional: optional ?? false, pull };
}

/** The ServiceAccount a template's Pods run as. */
export function serviceAccountOf(template: PodTemplateSpec): string {
  return template.spec.serviceAccountName ?? template.spec.serviceAccount ?? "default";
}

/**
 * The image pull secrets a template's Pods get from their ServiceAccount: the ServiceAccount
 * admission plugin adds the account's list to a Pod that has none of its own.
 */
export function accountPullSecrets(
  template: PodTemplateSpec,
  accounts: Readonly<Record<string, AccountSource>> | undefined,
): readonly string[] {
  if ((template.spec.imagePullSecrets ?? []).length > 0) return [];
  return accounts?.[serviceAccountOf(template)]?.imagePullSecrets ?? [];
}

/** The ServiceAccounts the shell must look up in the target's namespace, sorted. */
export function accountsToLookUp(templates: readonly PodTemplateSpec[]): string[] {
  return [...new Set(templates.map(serviceAccountOf))].sort();
}

/**
 * Every reference of one template, in template order; with the ServiceAccounts known, the pull
 * secrets its Pods get from theirs too.
 */
export function templateReferences(
  template: PodTemplateSpec,
  accounts?: Readonly<Record<string, AccountSource>>,
): ObjectReference[] {
  const spec = template.spec;
  const refs: ObjectReference[] = [];
  for (const volume of spec.volumes ?? []) {
    const from = `volume "${volume.name}"`;
    if (volume.configMap !== undefined)
      refs.push(ref("ConfigMap", volume.configMap.name, from, volume.configMap.optional));
    if (volume.secret?.secretName !== undefined)
      refs.push(ref("Secret", volume.secret.secretName, from, volume.secret.optional));
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap !== undefined)
        refs.push(ref("ConfigMap", source.configMap.name, from, source.configMap.optional));
      if (source.secret !== undefined)
        refs.push(ref("Secret", source.secret.name, from, source.secret.optional));
    }
  }
  for (const container of [...(spec.initContainers ?? []), ...spec.containers])
    refs.push(...containerRefs(container));
  for (const pull of spec.imagePullSecrets ?? [])
    refs.push(ref("Secret", pull.name, "imagePullSecrets", false, true));
  for (const name of accountPullSecrets(template, accounts))
    refs.push(ref("Secret", name, `serviceAccount "${serviceAccountOf(template)}"`, false, true));
  return refs;
}

/**
 * The objects the shell must look up in the target's namespace (Observed.sources): everything the
 * given templates reference, plus the Secrets spec.sandbox.copySecrets lists. The shell passes
 * the templates of the target's owned ReplicaSets (the run uses two of them).
 */
export function objectsToLookUp(
  drill: RollbackDrill,
  templates: readonly PodTemplateSpec[],
  accounts?: Readonly<Record<string, AccountSource>>,
): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>(drill.spec.sandbox.copySecrets);
  for (const template of templates) {
    for (const r of templateReferences(template, accounts)) {
      if (r.kind === "ConfigMap") configMaps.add(r.name);
      else secrets.add(r.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}
