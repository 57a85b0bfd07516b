/**
 * Escalation prevention for RBAC writes made by a request's user (kubernetes/kubernetes
 * pkg/registry/rbac: role/policybased, clusterrole/policybased, rolebinding/policybased,
 * clusterrolebinding/policybased storage; escalation_check.go EscalationAllowed,
 * RoleEscalationAuthorized, BindingAuthorized; validation/rule.go ConfirmNoEscalation).
 *
 * - A Role or ClusterRole may be written by a member of system:masters, by a user with the
 *   `escalate` verb on it, or by a user who already holds every rule it contains.
 * - A RoleBinding or ClusterRoleBinding may be written by a member of system:masters, by a user
 *   with `bind` on the referenced role (resourceNames honoured), or by a user who already holds
 *   every rule of the referenced role in the binding's namespace.
 * Updates that change only ownerReferences or finalizers are not checked (IsOnlyMutatingGCFields).
 */
import type { SimStore } from "../store.ts";
import type { Actor, GVR, KubeObject, WriteOptions } from "../types.ts";
import { compactRules, compactString, covers, goQuoted } from "./covers.ts";
import {
  authorize,
  RBAC_GROUP,
  roleRefOf,
  roleReferenceRules,
  rulesFor,
  SYSTEM_MASTERS,
} from "./rbac.ts";
import { forbidden } from "./requestinfo.ts";
import { resourceAttributes, rulesOf } from "./rules.ts";
import type { PolicyRule, UserInfo } from "./rules.ts";

const GUARDED = new Set(["roles", "clusterroles", "rolebindings", "clusterrolebindings"]);

function userOf(actor: Actor): UserInfo {
  return { name: actor.user, groups: actor.groups ?? [] };
}

/** ConfirmNoEscalation: throws the registry's 403 when `rules` are not all held in `namespace`. */
function confirmNoEscalation(
  store: SimStore,
  user: UserInfo,
  namespace: string,
  rules: PolicyRule[],
  target: { resource: string; name: string },
): void {
  const owned = rulesFor(store, user, namespace);
  const { covered, missing } = covers(
    owned.rules.map(r => r.rule),
    rules,
  );
  if (covered) return;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let message = `user ${JSON.stringify(user.name)} (groups=${goQuoted(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
  if (owned.errors.length > 0) message += `; resolution errors: [${owned.errors.join(", ")}]`;
  throw forbidden(RBAC_GROUP, target.resource, target.name, message);
}

/** Whether the user may write this object without holding its rules (escalate / bind). */
function delegated(store: SimStore, user: UserInfo, resource: string, object: KubeObject): boolean {
  const namespace = object.metadata.namespace ?? "";
  if (resource === "roles" || resource === "clusterroles") {
    // RoleEscalationAuthorized: the request's own name and namespace.
    const attrs = resourceAttributes(user, {
      verb: "escalate",
      apiGroup: RBAC_GROUP,
      apiVersion: "*",
      resource,
      namespace,
      name: object.metadata.name ?? "",
    });
    return authorize(store, attrs).allowed;
  }
  const ref = roleRefOf(object);
  if (ref.kind !== "ClusterRole" && ref.kind !== "Role") return false;
  // BindingAuthorized: `bind` on the role, in the binding's namespace.
  const attrs = resourceAttributes(user, {
    verb: "bind",
    apiGroup: ref.apiGroup,
    resource: ref.kind === "ClusterRole" ? "clusterroles" : "roles",
    namespace,
    name: ref.name,
  });
  return authorize(store, attrs).allowed;
}

function check(store: SimStore, user: UserInfo, gvr: GVR, object: KubeObject): void {
  if (delegated(store, user, gvr.resource, object)) return;
  const namespace = object.metadata.namespace ?? "";
  const rules =
    gvr.resource === "roles" || gvr.resource === "clusterroles"
      ? rulesOf(object)
      : roleReferenceRules(store, roleRefOf(object), namespace);
  confirmNoEscalation(store, user, namespace, rules, {
    resource: gvr.resource,
    name: object.metadata.name ?? "",
  });
}

const SERVER_FIELDS = [
  "ownerReferences",
  "finalizers",
  "resourceVersion",
  "managedFields",
  "generation",
  "uid",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

/** IsOnlyMutatingGCFields, ignoring the fields the server itself maintains. */
function onlyGcFields(next: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return false;
  const strip = (o: KubeObject): KubeObject => {
    const copy = structuredClone(o);
    for (const f of SERVER_FIELDS) Reflect.deleteProperty(copy.metadata, f);
    return copy;
  };
  return JSON.stringify(strip(next)) === JSON.stringify(strip(old));
}

/**
 * The store as one request's user sees it: RBAC writes are checked for escalation first.
 * Members of system:masters (EscalationAllowed) get the store itself.
 */
export function guardStore(store: SimStore, actor: Actor): SimStore {
  const user = userOf(actor);
  if (user.groups.includes(SYSTEM_MASTERS)) return store;
  const guarded = (gvr: GVR): boolean => gvr.group === RBAC_GROUP && GUARDED.has(gvr.resource);
  const checkWrite = (gvr: GVR, next: KubeObject, old: KubeObject | undefined): void => {
    if (!onlyGcFields(next, old)) check(store, user, gvr, next);
  };
  const overrides: Partial<SimStore> = {
    create(gvr, object, who, options?: WriteOptions) {
      if (guarded(gvr)) checkWrite(gvr, object, undefined);
      return store.create(gvr, object, who, options);
    },
    update(gvr, object, who, options?: WriteOptions) {
      if (guarded(gvr)) {
        const old = store.get(gvr, object.metadata.namespace, object.metadata.name ?? "");
        checkWrite(gvr, object, old);
      }
      return store.update(gvr, object, who, options);
    },
    patch(...args: Parameters<SimStore["patch"]>) {
      const [gvr, namespace, name, type, body, who, options] = args;
      if (guarded(gvr)) {
        // The patched object is what policybased storage sees: compute it without committing.
        const old = store.get(gvr, namespace, name);
        const next = store.patch(gvr, namespace, name, type, body, who, {
          ...options,
          dryRun: true,
        });
        checkWrite(gvr, next, old);
      }
      return store.patch(...args);
    },
  };
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === "string" && prop in overrides) {
        return overrides[prop as keyof SimStore];
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
