/**
 * The test kit, one copy of what the tests, the benchmarks and the soak share: builders
 * (builders.ts), the drill helpers over an in-process simulator (drill.ts), a command's captured
 * output (io.ts) and the one event-driven wait (wait.ts, itself src/scenarios/wait.ts fed the
 * store's events).
 */
export * from "./builders.ts";
export * from "./drill.ts";
export * from "./io.ts";
export * from "./wait.ts";
