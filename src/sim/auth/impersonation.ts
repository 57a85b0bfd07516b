/**
 * User impersonation (`kubectl --as`, `--as-group`), as kube-apiserver's impersonation filter
 * handles the Impersonate-User and Impersonate-Group headers: the authenticated requester must be
 * allowed to `impersonate` the user (resource `users`, or `serviceaccounts` in the account's
 * namespace for a service-account name) and each group (`groups`); the request then runs as the
 * impersonated user. Without groups given, a service account gets its two groups; everyone but
 * system:anonymous gets system:authenticated.
 */
import type { IncomingMessage } from "node:http";
import { authorize } from "./rbac.ts";
import { forbiddenRequest } from "./requestinfo.ts";
import { resourceAttributes, type UserInfo } from "./rules.ts";
import type { Store } from "../types.ts";

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

function headerValues(req: IncomingMessage, name: string): string[] {
  const raw = req.headersDistinct[name];
  return (raw ?? []).map(v => v.trim()).filter(v => v !== "");
}

/** The user a request acts as: `user`, or whom it impersonates once that is authorized. */
export function impersonated(store: Store, req: IncomingMessage, user: UserInfo): UserInfo {
  const [name] = headerValues(req, "impersonate-user");
  const groups = headerValues(req, "impersonate-group");
  if (name === undefined) return user;
  const sa = SERVICE_ACCOUNT.exec(name);
  const checks = [
    sa === null
      ? resourceAttributes(user, { verb: "impersonate", resource: "users", name })
      : resourceAttributes(user, {
          verb: "impersonate",
          resource: "serviceaccounts",
          namespace: sa[1] ?? "",
          name: sa[2] ?? "",
        }),
    ...groups.map(g =>
      resourceAttributes(user, { verb: "impersonate", resource: "groups", name: g }),
    ),
  ];
  for (const attrs of checks) {
    const decision = authorize(store, attrs);
    if (!decision.allowed) throw forbiddenRequest(attrs, decision.reason);
  }
  const acting = [...groups];
  if (groups.length === 0 && sa !== null)
    acting.push("system:serviceaccounts", `system:serviceaccounts:${sa[1] ?? ""}`);
  if (name !== "system:anonymous" && !acting.includes("system:authenticated"))
    acting.push("system:authenticated");
  return { name, groups: acting };
}
