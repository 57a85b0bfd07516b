import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import * as C from "../../e2e/cluster/configs.ts";
import { parseRoute } from "../../e2e/cluster/forwarder.ts";
import * as L from "../../e2e/cluster/layout.ts";
import * as T from "../../e2e/cluster/topology.ts";

describe("the test cluster's component configuration", () => {
  it("the kubelet runs on cgroup v1 with containerd 1.6 and authenticates every caller", () => {
    const kubelet = parse(C.kubeletConfig()) as Record<string, unknown>;
    expect(kubelet).toMatchObject({
      kind: "KubeletConfiguration",
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      containerRuntimeEndpoint: `unix://${L.CONTAINERD_SOCKET}`,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true } },
      authorization: { mode: "Webhook" },
      readOnlyPort: 0,
      address: T.NODE_IP,
    });
  });

  it("containerd pulls the pause image and scenario images from the node's registry", () => {
    const toml = C.containerdConfig();
    expect(toml).toContain(`sandbox_image = "${T.PAUSE_IMAGE}"`);
    expect(toml).toContain(`config_path = "${L.CERTS_D}"`);
    expect(toml).toContain("SystemdCgroup = false");
    // Lowering an oom_score_adj needs CAP_SYS_RESOURCE, which this machine's root lacks.
    expect(toml).toContain("restrict_oom_score_adj = true");
    expect(C.registryHostsToml()).toContain(`server = "http://${T.PULL_REGISTRY}"`);
  });

  it("pods get addresses from the pod CIDR and are never masqueraded out", () => {
    const cni = JSON.parse(C.cniConflist()) as {
      plugins: { type: string; ipMasq?: boolean; ipam?: { ranges: { subnet: string }[][] } }[];
    };
    const bridge = cni.plugins.find(p => p.type === "bridge");
    expect(bridge?.ipMasq).toBe(false);
    expect(bridge?.ipam?.ranges[0]?.[0]?.subnet).toBe(T.POD_CIDR);
  });

  it("the registry allows deletes (retention) and PostgreSQL trusts only the host's end", () => {
    expect(parse(C.registryConfig())).toMatchObject({ storage: { delete: { enabled: true } } });
    const hba = C.pgHba();
    expect(hba).not.toMatch(/0\.0\.0\.0\/0/);
    expect(hba).toMatch(
      new RegExp(`host all postgres ${T.HOST_IP.replace(/\./g, "\\.")}/32 trust`),
    );
    expect(hba).toMatch(/host all all 10\.242\.0\.0\/16 scram-sha-256/);
  });

  it("kubeadm makes certificates valid for every address the API server is reached at", () => {
    const [, cluster] = C.kubeadmConfig()
      .split("---\n")
      .map(
        d =>
          parse(d) as { apiServer: { certSANs: string[] }; networking: { serviceSubnet: string } },
      );
    expect(cluster?.apiServer.certSANs).toEqual(
      expect.arrayContaining(["127.0.0.1", T.NODE_IP, T.KUBERNETES_SERVICE_IP]),
    );
    expect(cluster?.networking.serviceSubnet).toBe(T.SERVICE_CIDR);
  });
});

describe("the forwarder", () => {
  it("relays loopback to the node only", () => {
    expect(parseRoute(`127.0.0.1:6443=${T.NODE_IP}:6443`)).toEqual({
      listenHost: "127.0.0.1",
      listenPort: 6443,
      targetHost: T.NODE_IP,
      targetPort: 6443,
    });
    expect(() => parseRoute("0.0.0.0:6443=10.241.0.2:6443")).toThrow(/not a route/);
    expect(() => parseRoute("127.0.0.1:6443=192.0.2.10:6443")).toThrow(/only to the node/);
  });
});
