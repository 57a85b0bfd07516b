/** The old name of the kit's startSimWithDrills, kept for e2e/cluster.e2e.test.ts: use test/kit. */
export { startSimWithDrills as startSimWithCrd } from "../kit/index.ts";
