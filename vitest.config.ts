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
        // End-to-end files once more, every CLI call a remote client of a team API server: TCP
        // with a token, workdirs uploaded, state in PostgreSQL (test/helpers/cli.ts, remote.ts).
        // A representative subset, not the whole e2e suite: that would double `npm test` (CI has
        // 90 minutes on 2 CPUs). These cover every verb a client sends through the server's
        // boundary — launch/exec/logs/status/queue/cancel/stop/start/down/autostop and errors
        // (foundation), jobs, secrets and log streams (runtime), managed jobs and their logs
        // (managed), `aloft top` over the event stream with resume (tui.e2e), and a non-local
        // provider behind the server (ssh-launch). Left out: provider-level suites (k8s, aws, gcp,
        // fake VMs, storage: the API boundary adds nothing per provider), plan-time and CLI-only
        // ones (planning, corpus, compat, check, config), and those that read state.db or the
        // daemon's socket directly (crash-recovery, daemon-api; team.test.ts covers the server
        // SIGKILLed mid-launch with PostgreSQL state). team.test.ts runs its own server and clients.
        extends: true,
        test: {
          name: 'team-server',
          include: [
            'test/e2e/foundation.test.ts',
            'test/e2e/runtime.test.ts',
            'test/e2e/managed.test.ts',
            'test/e2e/tui.e2e.test.ts',
            'test/e2e/ssh-launch.test.ts',
          ],
          env: { ALOFT_TEST_REMOTE: '1' },
          globalSetup: ['test/helpers/postgres-setup.ts'],
        },
      },
    ],
  },
});
