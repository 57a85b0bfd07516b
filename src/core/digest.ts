/**
 * Image identity: references parsed the way Docker's reference library normalises them, the
 * digest part of a runtime's imageID, and the digest rules of docs/ARCHITECTURE.md, per container
 * (init containers included):
 * - both revisions pin the same digest: a configuration-only rollback, the check does not apply;
 * - known target digest (the ref is pinned, or the ledger saw revision M's pods run it): the
 *   rolled-back pods must run exactly it, else DigestMismatch;
 * - both revisions name the same mutable reference (a tag): SameDigest, whatever the sandbox
 *   pulled, since a real undo changes no image: nodes that cached the broken build run it again
 *   (imagePullPolicy IfNotPresent), others pull whatever the tag points at now;
 * - a rolled-back digest equal to one the broken revision ran: SameDigest;
 * - otherwise, a target digest nothing knows (a tag, never seen running): UnverifiedDigest, since
 *   the sandbox's pull shows only what the tag points at today, not what that revision ran.
 */
import type { ContainerEvidence, LedgerEntry } from "../api/types.ts";
import type { Container, ContainerStatusView, PodTemplateSpec, PodView } from "./observed.ts";

export const DEFAULT_REGISTRY = "docker.io";

export interface ImageRef {
  /** Registry host, "docker.io" when none is named. */
  registry: string;
  /** Repository path, with "library/" for single-component Docker Hub names. */
  repository: string;
  /** The tag; "latest" when neither tag nor digest is given. */
  tag?: string;
  /** "sha256:<hex>" when the ref pins a digest. */
  digest?: string;
  /** The normalised form, e.g. "docker.io/library/nginx:latest". */
  normalized: string;
}

const SHA256 = /sha256:[a-f0-9]{64}/;

function isRegistryHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

/** Parses an image reference leniently (the apiserver already accepted it). */
export function parseImageRef(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split("/");
  let registry = DEFAULT_REGISTRY;
  if (parts.length > 1 && isRegistryHost(parts[0] ?? "")) registry = parts.shift() ?? registry;
  if (registry === "index.docker.io") registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (tag === undefined && digest === undefined) tag = "latest";
  const normalized =
    `${registry}/${repository}` +
    (tag === undefined ? "" : `:${tag}`) +
    (digest === undefined ? "" : `@${digest}`);
  return {
    registry,
    repository,
    normalized,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** True when the ref pins a sha256 digest. */
export function isPinned(image: string): boolean {
  return parseImageRef(image).digest !== undefined;
}

/**
 * The "sha256:<hex>" part of an imageID in any runtime's form ("docker.io/library/x@sha256:...",
 * "docker-pullable://x@sha256:...", "sha256:..."); undefined when there is none.
 */
export function digestOf(imageIdOrRef: string | undefined): string | undefined {
  if (imageIdOrRef === undefined) return undefined;
  return SHA256.exec(imageIdOrRef)?.[0];
}

/** Shortens a digest for messages: "sha256:0123456789ab". */
export function shortDigest(digest: string | undefined): string {
  return digest === undefined ? "(unknown)" : digest.slice(0, 19);
}

/** A container of a template with its role, init containers first (the order the kubelet runs). */
export interface TemplateContainer {
  container: Container;
  init: boolean;
  /** An init container with restartPolicy Always (a native sidecar), or a non-first container. */
  sidecar: boolean;
}

export function templateContainers(template: PodTemplateSpec): TemplateContainer[] {
  return [
    ...(template.spec.initContainers ?? []).map(container => ({
      container,
      init: true,
      sidecar: container.restartPolicy === "Always",
    })),
    ...template.spec.containers.map((container, index) => ({
      container,
      init: false,
      sidecar: index > 0,
    })),
  ];
}

/** How to name a container in a message: `container "app"`, `init container "migrate"`, ... */
export function describeContainer(name: string, template: PodTemplateSpec | undefined): string {
  const found =
    template === undefined
      ? undefined
      : templateContainers(template).find(c => c.container.name === name);
  if (found === undefined) return `container "${name}"`;
  if (found.init) return found.sidecar ? `sidecar container "${name}"` : `init container "${name}"`;
  return found.sidecar ? `sidecar container "${name}"` : `container "${name}"`;
}

export function allStatuses(pod: PodView): ContainerStatusView[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/**
 * The digest each container runs in these pods: name -> digests seen (more than one when pods of
 * one revision disagree, e.g. a tag that moved between two pulls).
 */
export function runningDigests(pods: readonly PodView[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pod of pods) {
    for (const status of allStatuses(pod)) {
      const digest = digestOf(status.imageID);
      if (digest === undefined) continue;
      const seen = out.get(status.name) ?? [];
      if (!seen.includes(digest)) seen.push(digest);
      out.set(status.name, seen);
    }
  }
  return out;
}

export interface DigestInput {
  /** Revision N's template (the broken one). */
  fromTemplate: PodTemplateSpec;
  /** Revision M's template (rolled back to). */
  toTemplate: PodTemplateSpec;
  toRevision: number;
  fromRevision: number;
  /** The rolled-back sandbox pods. */
  rolledBackPods: readonly PodView[];
  /**
   * What revision N's pods ran (production, else the sandbox's): one entry per container and
   * digest, so pods of one revision that run different digests (node caches) are all here.
   */
  brokenDigests: readonly { name: string; digest: string }[];
  /** Revision N's pods in production, for saying which digest ran where. */
  brokenPods?: readonly PodView[];
  /** The ledger's entry for revision M, when the operator saw it run. */
  ledger?: LedgerEntry;
}

export interface DigestFinding {
  reason: "SameDigest" | "DigestMismatch" | "UnverifiedDigest";
  container: string;
  message: string;
}

function expectedFor(
  toImage: string,
  name: string,
  ledger: LedgerEntry | undefined,
): { digest: string; source: string } | undefined {
  const pinned = parseImageRef(toImage).digest;
  if (pinned !== undefined) return { digest: pinned, source: "pinned in the ref" };
  const seen = ledger?.containers.find(c => c.name === name);
  if (seen === undefined || ledger === undefined) return undefined;
  return { digest: seen.digest, source: `seen running at ${ledger.observedTime}` };
}

/** "sha256:... (pod web-1 on node-1, pod web-2 on node-2)": which digest ran where. */
export function whereRan(pods: readonly PodView[], container: string): string {
  const byDigest = new Map<string, string[]>();
  for (const pod of pods) {
    const status = allStatuses(pod).find(s => s.name === container);
    const digest = digestOf(status?.imageID);
    if (digest === undefined) continue;
    const node = pod.spec?.nodeName;
    const where = `pod ${pod.metadata.name}${node === undefined ? "" : ` on ${node}`}`;
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), where]);
  }
  return [...byDigest].map(([digest, places]) => `${digest} (${places.join(", ")})`).join("; ");
}

/** Evidence per container of revision M, and the first digest finding (if any). */
export function evaluateDigests(input: DigestInput): {
  evidence: ContainerEvidence[];
  finding?: DigestFinding;
} {
  const running = runningDigests(input.rolledBackPods);
  const fromByName = new Map(
    templateContainers(input.fromTemplate).map(c => [c.container.name, c.container.image]),
  );
  const evidence: ContainerEvidence[] = [];
  let finding: DigestFinding | undefined;
  for (const { container, init } of templateContainers(input.toTemplate)) {
    const name = container.name;
    const fromImage = fromByName.get(name) ?? "";
    const fromDigests = input.brokenDigests.filter(d => d.name === name).map(d => d.digest);
    const fromDigest = fromDigests[0];
    const seen = running.get(name) ?? [];
    const expected = expectedFor(container.image, name, input.ledger);
    const pinned = isPinned(container.image);
    const check = checkContainer({
      name,
      fromImage,
      toImage: container.image,
      fromDigests,
      seen,
      expected,
      input,
    });
    const toDigest = check.toDigest;
    evidence.push({
      name,
      ...(init ? { init: true } : {}),
      fromImage,
      ...(fromDigest === undefined ? {} : { fromDigest }),
      toImage: container.image,
      ...(toDigest === undefined ? {} : { toDigest }),
      ...(expected === undefined ? {} : { expectedDigest: expected.digest }),
      pinned,
      verdict: check.finding?.reason ?? "Passed",
      ...(check.digestCheck === undefined ? {} : { digestCheck: check.digestCheck }),
    });
    finding ??= check.finding;
  }
  return finding === undefined ? { evidence } : { evidence, finding };
}

interface ContainerCheck {
  name: string;
  fromImage: string;
  toImage: string;
  /** Every digest revision N's pods ran for this container, the oldest pod's first. */
  fromDigests: string[];
  seen: string[];
  expected: { digest: string; source: string } | undefined;
  input: DigestInput;
}

interface CheckResult {
  toDigest?: string;
  finding?: DigestFinding;
  digestCheck?: "Verified" | "Failed" | "NotApplicable";
}

/** Both revisions pin the same digest: the rollback restores configuration only. */
export function isConfigOnly(fromImage: string, toImage: string): boolean {
  const to = parseImageRef(toImage).digest;
  return to !== undefined && parseImageRef(fromImage).digest === to;
}

/** Both revisions name the same reference by tag: a rollback cannot change which bytes a node runs. */
export function isSameMutableRef(fromImage: string, toImage: string): boolean {
  const from = parseImageRef(fromImage);
  const to = parseImageRef(toImage);
  return from.digest === undefined && to.digest === undefined && from.normalized === to.normalized;
}

function ranBefore(
  digest: string,
  revision: number,
  expected: { digest: string; source: string } | undefined,
): string {
  if (expected === undefined) return `which revision ${revision} is not known to have run`;
  if (expected.digest === digest) return `what revision ${revision} ran (${expected.source})`;
  return `which revision ${revision} never ran (it ran ${expected.digest}, ${expected.source})`;
}

const PIN = "Pin images by digest (image@sha256:...) so a rollback restores the bytes that ran.";

function checkContainer(c: ContainerCheck): CheckResult {
  const who = describeContainer(c.name, c.input.toTemplate);
  const { toRevision, fromRevision } = c.input;
  const first = c.seen[0];
  const fail = (
    reason: DigestFinding["reason"],
    toDigest: string | undefined,
    message: string,
  ): CheckResult => ({
    ...(toDigest === undefined ? {} : { toDigest }),
    finding: { reason, container: c.name, message },
    digestCheck: "Failed",
  });
  if (first === undefined) return {};
  if (c.expected !== undefined) {
    const wrong = c.seen.find(d => d !== c.expected?.digest);
    if (wrong !== undefined)
      return fail(
        "DigestMismatch",
        wrong,
        `${who} rolled back to revision ${toRevision} (${c.toImage}) runs ${wrong}, but revision ${toRevision} ran ` +
          `${c.expected.digest} (${c.expected.source}): the tag was moved or the image rebuilt since, so a rollback ` +
          `would not restore what ran. Pin images by digest (image@sha256:...) and keep old images in the registry.`,
      );
    if (isConfigOnly(c.fromImage, c.toImage))
      return { toDigest: first, digestCheck: "NotApplicable" };
  }
  const same = c.seen.find(d => c.fromDigests.includes(d));
  if (isSameMutableRef(c.fromImage, c.toImage)) {
    if (c.fromDigests.length === 0)
      return fail(
        "UnverifiedDigest",
        first,
        `${who} names ${c.toImage} in both revision ${fromRevision} and revision ${toRevision}, a mutable reference, so ` +
          `kubectl rollout undo changes no image, and what revision ${fromRevision} runs is not known (no pod of it ` +
          `reported a digest). The sandbox pulled ${first}, what the tag points at now. ${PIN}`,
      );
    if (same !== undefined)
      return fail(
        "SameDigest",
        same,
        `${who} rolled back to revision ${toRevision} runs ${same}, the same digest as the broken revision ` +
          `${fromRevision}: both revisions name the mutable tag ${c.toImage}, which now points at the broken image, ` +
          `so kubectl rollout undo would restore the Deployment but not the software. ${PIN}`,
      );
    const ran = whereRan(c.input.brokenPods ?? [], c.name);
    return fail(
      "SameDigest",
      first,
      `${who}: revision ${toRevision} and the broken revision ${fromRevision} both name the mutable tag ` +
        `${c.toImage}, so kubectl rollout undo changes no image: production's revision ${fromRevision} pods run ` +
        `${ran === "" ? c.fromDigests.join(", ") : ran}, while the sandbox, pulling with imagePullPolicy Always, ` +
        `got ${first}, what the tag points at now. On a node that has the broken build cached (imagePullPolicy ` +
        `IfNotPresent) the undo runs it again; on any other node it pulls ${first}, ` +
        `${ranBefore(first, toRevision, c.expected)}. Either way the rollback restores the Deployment, not the ` +
        `software that ran. ${PIN}`,
    );
  }
  if (c.expected !== undefined) return { toDigest: first, digestCheck: "Verified" };
  if (same !== undefined)
    return fail(
      "SameDigest",
      same,
      `${who} rolled back to revision ${toRevision} runs ${same}, the same digest as the broken revision ` +
        `${fromRevision}: ${c.fromImage} and ${c.toImage} resolve to the same image, so kubectl rollout undo would ` +
        `restore the Deployment but not the software. ${PIN}`,
    );
  return fail(
    "UnverifiedDigest",
    first,
    `${who} rolled back to revision ${toRevision} names the tag ${c.toImage}, and nothing shows which digest ` +
      `revision ${toRevision} ran: the ref is not pinned, and the drill never saw revision ${toRevision}'s pods run ` +
      `(status.digestLedger has no record of it). The sandbox pulled ${first}, what the tag points at today; if the ` +
      `tag moved since revision ${toRevision} ran, a real undo runs bytes that never ran in production. ${PIN} ` +
      `(A drill that watches the Deployment records each revision's digests as it runs, rerunOnNewRevision.)`,
  );
}
