/**
 * The digest ledger: which digests each revision's pods actually ran, recorded from the target's
 * production pods as the operator sees them, so a later drill knows what a rollback must restore.
 * Keyed by pod-template-hash (revision numbers move when kubectl rollout undo reuses a ReplicaSet);
 * the first sighting wins, since that is what ran when the revision was deployed. Bounded.
 */
import type { LedgerEntry } from "../api/types.ts";
import { allStatuses, digestOf, templateContainers } from "./digest.ts";
import type { ObservedTarget, PodView } from "./observed.ts";
import { ownedRevisions } from "./revisions.ts";
import { isPodReady } from "./verdict.ts";

export const LEDGER_LIMIT = 20;

/** Live pods of the ReplicaSet with this pod-template-hash. */
export function podsWithHash(pods: readonly PodView[], hash: string | undefined): PodView[] {
  if (hash === undefined) return [];
  return pods.filter(
    p =>
      p.metadata.deletionTimestamp === undefined &&
      p.metadata.labels?.["pod-template-hash"] === hash,
  );
}

/** name -> digest from the oldest pod that reports a digest for every container (init included). */
export function digestsOfPods(
  pods: readonly PodView[],
  names: readonly string[],
): { name: string; digest: string }[] | undefined {
  const sorted = [...pods].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  for (const pod of sorted) {
    const byName = new Map(allStatuses(pod).map(s => [s.name, digestOf(s.imageID)]));
    const found = names.map(name => ({ name, digest: byName.get(name) }));
    if (found.every(f => f.digest !== undefined))
      return found.map(f => ({ name: f.name, digest: f.digest ?? "" }));
  }
  return undefined;
}

/**
 * Every digest these pods run, per container: the oldest complete pod's first (as digestsOfPods
 * picks it), then any other a pod of the same revision runs (a node that served a cached build of
 * a moved tag, or pulled it anew). Undefined when no pod reports a digest for every container.
 */
export function allDigestsOfPods(
  pods: readonly PodView[],
  names: readonly string[],
): { name: string; digest: string }[] | undefined {
  const first = digestsOfPods(pods, names);
  if (first === undefined) return undefined;
  const out = [...first];
  for (const pod of pods)
    for (const s of allStatuses(pod)) {
      const digest = digestOf(s.imageID);
      if (digest === undefined || !names.includes(s.name)) continue;
      if (!out.some(d => d.name === s.name && d.digest === digest))
        out.push({ name: s.name, digest });
    }
  return out;
}

/** The ledger after looking at the target's Ready pods now; unchanged entries keep their order. */
export function updateLedger(
  ledger: readonly LedgerEntry[] | undefined,
  target: ObservedTarget | undefined,
  nowIso: string,
): LedgerEntry[] {
  const entries = [...(ledger ?? [])];
  if (target === undefined) return entries;
  for (const rev of ownedRevisions(target.deployment, target.replicaSets)) {
    if (rev.hash === undefined || rev.revision < 1) continue;
    const known = entries.findIndex(e => e.podTemplateHash === rev.hash);
    if (known >= 0) {
      const entry = entries[known];
      if (entry !== undefined && entry.revision !== rev.revision)
        entries[known] = { ...entry, revision: rev.revision };
      continue;
    }
    const containers = templateContainers(rev.replicaSet.spec.template);
    const ready = podsWithHash(target.pods, rev.hash).filter(isPodReady);
    const digests = digestsOfPods(
      ready,
      containers.map(c => c.container.name),
    );
    if (digests === undefined) continue;
    entries.push({
      revision: rev.revision,
      podTemplateHash: rev.hash,
      observedTime: nowIso,
      containers: digests.map(d => ({
        name: d.name,
        image: containers.find(c => c.container.name === d.name)?.container.image ?? "",
        digest: d.digest,
      })),
    });
  }
  return entries.length <= LEDGER_LIMIT ? entries : entries.slice(entries.length - LEDGER_LIMIT);
}

export function ledgerEntryFor(
  ledger: readonly LedgerEntry[] | undefined,
  hash: string | undefined,
): LedgerEntry | undefined {
  return hash === undefined ? undefined : ledger?.find(e => e.podTemplateHash === hash);
}
