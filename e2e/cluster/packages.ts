/**
 * The Debian packages the test cluster runs on. Installed when missing (the machine is ours, we
 * are root); says which it installed.
 */
import { run } from "./proc.ts";

/** Package -> a file it installs, to tell whether it is there without asking dpkg for each. */
export const PACKAGES: Readonly<Record<string, string>> = {
  containerd: "/usr/bin/containerd",
  runc: "/usr/sbin/runc",
  "containernetworking-plugins": "/usr/lib/cni/bridge",
  "docker-registry": "/usr/bin/docker-registry",
  skopeo: "/usr/bin/skopeo",
  umoci: "/usr/bin/umoci",
  "busybox-static": "/bin/busybox",
  iptables: "/usr/sbin/iptables",
  conntrack: "/usr/sbin/conntrack",
  iproute2: "/usr/bin/ip",
  "util-linux": "/usr/bin/nsenter",
  postgresql: "/usr/bin/pg_config",
  "apache2-utils": "/usr/bin/htpasswd",
  buildah: "/usr/bin/buildah",
};

async function installed(name: string): Promise<boolean> {
  const { code, stdout } = await run("dpkg-query", ["-W", "-f=${Status}", name], {
    allowFail: true,
  });
  return code === 0 && stdout.includes("install ok installed");
}

export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const name of Object.keys(PACKAGES)) if (!(await installed(name))) missing.push(name);
  if (missing.length === 0) {
    log("packages: all present");
    return;
  }
  log(`packages: installing ${missing.join(", ")} from Debian`);
  await run("apt-get", ["update", "-q"], { timeoutMs: 600_000 });
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
    timeoutMs: 1_200_000,
  });
  log(`packages: installed ${missing.join(", ")}`);
}
