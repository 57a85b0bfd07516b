/**
 * Authentication and authorization of HTTP requests, as kube-apiserver's filter chain does before
 * any handler runs (k8s.io/apiserver/pkg/endpoints/filters: authentication.go, authorization.go):
 * a bearer token names the user (401 when it is unknown), the authorizer decides from the URL
 * alone (403 with the apiserver's message), and RBAC writes are checked for escalation.
 * Internal writes of the simulated controllers and kubelet never pass through here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ADMIN_TOKEN } from "../kubeconfig.ts";
import { decodeObjectBody, readBody, sendJson } from "../http/respond.ts";
import type { SimStore } from "../store.ts";
import type { Actor, KubeObject, SimClock } from "../types.ts";
import { guardStore } from "./escalation.ts";
import { impersonated } from "./impersonation.ts";
import { decodeAuthProtobuf } from "./proto.ts";
import { authorize } from "./rbac.ts";
import { forbiddenRequest, requestAttributes, unauthorized } from "./requestinfo.ts";
import {
  selfSubjectAccessReview,
  selfSubjectRulesReview,
  subjectAccessReview,
  tokenRequest,
} from "./reviews.ts";
import type { UserInfo } from "./rules.ts";
import { ADMIN_USER, ANONYMOUS_USER, TokenAuthenticator } from "./tokens.ts";

/**
 * Who a request without credentials is:
 * - "admin" (default): the kubeconfig's admin, so in-process tests may call the sim with a bare
 *   fetch (a simulator convenience; no v1.32 apiserver does this);
 * - "anonymous": system:anonymous in group system:unauthenticated (--anonymous-auth=true);
 * - "reject": 401 (--anonymous-auth=false).
 */
export type UnauthenticatedMode = "admin" | "anonymous" | "reject";

export interface RequestAuthOptions {
  store: SimStore;
  clock: SimClock;
  unauthenticated?: UnauthenticatedMode;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Credentials we cannot read (Basic, a malformed header) fail authentication.
  return match?.[1] ?? "";
}

/** A review's body: JSON, YAML or protobuf (the authentication and authorization types). */
function decodeBody(req: IncomingMessage): Promise<KubeObject> {
  return decodeObjectBody(req, decodeAuthProtobuf);
}

export class RequestAuth {
  readonly tokens: TokenAuthenticator;
  readonly #store: SimStore;
  readonly #clock: SimClock;
  readonly #mode: UnauthenticatedMode;

  constructor(options: RequestAuthOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#mode = options.unauthenticated ?? "admin";
    this.tokens = new TokenAuthenticator(options.store, options.clock);
    this.tokens.addStaticToken(ADMIN_TOKEN, ADMIN_USER);
  }

  /** The request's user, or a 401. */
  authenticate(req: IncomingMessage): UserInfo {
    const token = bearerToken(req);
    if (token === undefined) {
      if (this.#mode === "admin") return ADMIN_USER;
      if (this.#mode === "anonymous") return ANONYMOUS_USER;
      throw unauthorized();
    }
    const user = this.tokens.authenticate(token);
    if (!user) throw unauthorized();
    return user;
  }

  /**
   * Authenticates and authorizes a request from its method and URL; returns the actor the
   * handlers act as, or throws the 401/403 to send.
   */
  check(req: IncomingMessage, url: URL): Actor {
    const user = impersonated(this.#store, req, this.authenticate(req));
    const attrs = requestAttributes(user, req.method ?? "GET", url);
    const decision = authorize(this.#store, attrs);
    if (!decision.allowed) throw forbiddenRequest(attrs, decision.reason);
    const actor: Actor = { user: user.name, groups: [...user.groups] };
    const ua = req.headers["user-agent"];
    if (ua !== undefined) actor.userAgent = ua;
    return actor;
  }

  /** The store as this actor writes to it (escalation checks on RBAC objects). */
  guard(store: SimStore, actor: Actor): SimStore {
    return guardStore(store, actor);
  }

  /**
   * Serves the TokenRequest subresource and the access reviews (already authorized by check());
   * resolves false for every other request.
   */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL, actor: Actor): Promise<boolean> {
    const user: UserInfo = { name: actor.user, groups: actor.groups ?? [] };
    const attrs = requestAttributes(user, req.method ?? "GET", url);
    if (attrs.verb !== "create") return false;
    const store = this.#store;
    let answer: KubeObject | undefined;
    if (
      attrs.apiGroup === "" &&
      attrs.resource === "serviceaccounts" &&
      attrs.subresource === "token"
    ) {
      const body = await decodeBody(req);
      answer = tokenRequest(
        { store, clock: this.#clock, tokens: this.tokens },
        attrs.namespace,
        attrs.name,
        body,
      );
    } else if (
      attrs.apiGroup === "authentication.k8s.io" &&
      attrs.resource === "selfsubjectreviews"
    ) {
      // `kubectl auth whoami` (pkg/registry/authentication/selfsubjectreview/rest.go).
      await readBody(req);
      answer = {
        kind: "SelfSubjectReview",
        apiVersion: "authentication.k8s.io/v1",
        metadata: { creationTimestamp: null } as unknown as KubeObject["metadata"],
        status: { userInfo: { username: user.name, groups: user.groups } },
      };
    } else if (attrs.apiGroup === "authorization.k8s.io" && attrs.name === "") {
      if (attrs.resource === "selfsubjectaccessreviews") {
        answer = selfSubjectAccessReview(store, user, await decodeBody(req));
      } else if (attrs.resource === "selfsubjectrulesreviews") {
        answer = selfSubjectRulesReview(store, user, await decodeBody(req));
      } else if (attrs.resource === "subjectaccessreviews") {
        answer = subjectAccessReview(store, await decodeBody(req));
      }
    }
    if (!answer) return false;
    sendJson(res, 201, answer);
    return true;
  }

  /** A fresh token for a ServiceAccount (the TokenRequest subresource, in process). */
  issueToken(namespace: string, name: string, expirationSeconds: number): string {
    const body: KubeObject = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: {},
      spec: { expirationSeconds },
    };
    const answer = tokenRequest(
      { store: this.#store, clock: this.#clock, tokens: this.tokens },
      namespace,
      name,
      body,
    );
    return (answer["status"] as { token: string }).token;
  }
}

export { bootstrapPolicy, createBootstrapPolicy } from "./policy.ts";
export { authorize, rulesFor } from "./rbac.ts";
export type { Attributes, PolicyRule, UserInfo } from "./rules.ts";
