/**
 * Token lifetime: a bound ServiceAccount token is refused once it expires or its ServiceAccount is
 * gone or replaced (kubernetes/kubernetes pkg/serviceaccount/claims.go: validator.Validate checks
 * expiry and that the ServiceAccount still exists with the token's uid).
 */
import { describe, expect, it } from "vitest";
import { SERVICE_ACCOUNTS, TokenAuthenticator } from "../../../src/sim/auth/tokens.ts";
import { admin, newStore } from "../apiserver/helpers.ts";

function setup() {
  const store = newStore();
  const sa = store.create(
    SERVICE_ACCOUNTS,
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "runner", namespace: "default" },
    },
    admin,
  );
  return { store, sa, tokens: new TokenAuthenticator(store, store.clock) };
}

describe("ServiceAccount tokens", () => {
  it("authenticate until they expire, in simulated time", () => {
    const { store, sa, tokens } = setup();
    const { token } = tokens.issue("default", "runner", sa.metadata.uid ?? "", 600);
    expect(tokens.authenticate(token)?.name).toBe("system:serviceaccount:default:runner");
    store.clock.advance(599_000);
    expect(tokens.authenticate(token)).toBeDefined();
    store.clock.advance(1_000);
    expect(tokens.authenticate(token)).toBeUndefined();
  });

  it("stop authenticating when the ServiceAccount is recreated with a new uid", () => {
    const { store, sa, tokens } = setup();
    const { token } = tokens.issue("default", "runner", sa.metadata.uid ?? "", 3600);
    store.delete(SERVICE_ACCOUNTS, "default", "runner", admin);
    store.create(
      SERVICE_ACCOUNTS,
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "runner", namespace: "default" },
      },
      admin,
    );
    expect(tokens.authenticate(token)).toBeUndefined();
    expect(tokens.authenticate("unknown")).toBeUndefined();
  });
});
