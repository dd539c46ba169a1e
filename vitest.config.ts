import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end files start servers and child processes; two cores run two files at a time.
    maxWorkers: 2,
  },
});
