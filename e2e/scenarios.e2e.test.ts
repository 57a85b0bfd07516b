/**
 * The e2e scenarios on every backend: the simulator (always), the cluster E2E_KUBECONFIG names,
 * and K3s where a Docker engine answers. A backend that cannot run here is reported as skipped,
 * with the reason in the suite's name.
 */
import { allBackends } from "./backends/index.ts";
import { scenarioSuite } from "./suite.ts";

for (const backend of allBackends(process.env)) scenarioSuite(backend, await backend.available());
