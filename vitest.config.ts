import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests start real daemons and agents; two cores do not like many at once.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'local', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'] },
      },
      {
        // The end-to-end suite once more, every CLI call a remote client of a team API server:
        // TCP with a token, workdirs uploaded, state in PostgreSQL (test/helpers/cli.ts, remote.ts).
        extends: true,
        test: {
          name: 'team-server',
          include: ['test/e2e/**/*.test.ts'],
          // team.test.ts runs its own server and clients already
          exclude: ['test/e2e/team.test.ts'],
          env: { ALOFT_TEST_REMOTE: '1' },
          globalSetup: ['test/helpers/postgres-setup.ts'],
        },
      },
    ],
  },
});
