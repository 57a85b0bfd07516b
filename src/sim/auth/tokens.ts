/**
 * Bearer-token authentication: the kubeconfig's static admin token, and ServiceAccount tokens
 * issued by the TokenRequest subresource. Like the apiserver's bound service account tokens
 * (k8s.io/apiserver/pkg/authentication/serviceaccount; pkg/serviceaccount/claims.go), a token is
 * valid until it expires (in simulated time) and only while its ServiceAccount exists with the
 * uid it was issued for.
 */
import { randomBytes } from "node:crypto";
import type { SimClock, Store } from "../types.ts";
import { serviceAccountUsername, SYSTEM_MASTERS } from "./rbac.ts";
import type { UserInfo } from "./rules.ts";

export const SERVICE_ACCOUNTS = { group: "", version: "v1", resource: "serviceaccounts" };

/** The kubeadm admin a kubeconfig's static token stands for. */
export const ADMIN_USER: UserInfo = {
  name: "kubernetes-admin",
  groups: [SYSTEM_MASTERS, "system:authenticated"],
};

/** Who a request without credentials is, with anonymous auth on (--anonymous-auth=true). */
export const ANONYMOUS_USER: UserInfo = {
  name: "system:anonymous",
  groups: ["system:unauthenticated"],
};

interface IssuedToken {
  namespace: string;
  name: string;
  uid: string;
  /** Simulated epoch milliseconds. */
  expiresMs: number;
}

/** The user a ServiceAccount authenticates as (serviceaccount.UserInfo). */
export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  const user: UserInfo = {
    name: serviceAccountUsername(namespace, name),
    groups: [
      "system:serviceaccounts",
      `system:serviceaccounts:${namespace}`,
      "system:authenticated",
    ],
  };
  if (uid !== undefined) user.uid = uid;
  return user;
}

export class TokenAuthenticator {
  readonly #store: Store;
  readonly #clock: SimClock;
  readonly #static = new Map<string, UserInfo>();
  readonly #issued = new Map<string, IssuedToken>();

  constructor(store: Store, clock: SimClock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Adds a static token (the apiserver's --token-auth-file). */
  addStaticToken(token: string, user: UserInfo): void {
    this.#static.set(token, user);
  }

  /** Issues a token for an existing ServiceAccount; the caller checks it exists. */
  issue(
    namespace: string,
    name: string,
    uid: string,
    expirationSeconds: number,
  ): {
    token: string;
    expiresMs: number;
  } {
    const token = `sim-sa.${randomBytes(24).toString("base64url")}`;
    const expiresMs = this.#clock.nowMs() + expirationSeconds * 1000;
    this.#issued.set(token, { namespace, name, uid, expiresMs });
    return { token, expiresMs };
  }

  /** The user a bearer token stands for, or undefined if it is unknown, expired or revoked. */
  authenticate(token: string): UserInfo | undefined {
    const fixed = this.#static.get(token);
    if (fixed) return fixed;
    const issued = this.#issued.get(token);
    if (!issued) return undefined;
    if (this.#clock.nowMs() >= issued.expiresMs) {
      this.#issued.delete(token);
      return undefined;
    }
    const sa = this.#store.get(SERVICE_ACCOUNTS, issued.namespace, issued.name);
    if (sa?.metadata.uid !== issued.uid) return undefined;
    return serviceAccountUser(issued.namespace, issued.name, issued.uid);
  }
}
