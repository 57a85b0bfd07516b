import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "e2e/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // The default summary says only "N skipped": the second names each with its reason.
    reporters: ["default", "./test/reporters/skipped.ts"],
  },
});
