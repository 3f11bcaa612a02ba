import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests start real daemons and agents; two cores do not like many at once.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
  },
});
