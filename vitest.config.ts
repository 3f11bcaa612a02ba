import { configDefaults, defineConfig } from 'vitest/config';

// The end-to-end files the `team-server` project leaves out, each because a remote run of it
// would test nothing more (see that project's comment).
const REMOTE_EXCLUDED = [
  // runs its own API server and remote clients (users, tokens, ownership, revocation)
  'test/e2e/team.test.ts',
  // `aloft ssh` into a pod in a terminal, all of it: an API server refuses `aloft ssh` by design
  'test/e2e/k8s-ssh.e2e.test.ts',
  // never talk to aloft's daemon: the fakes checked with the real clients (kubectl, the k8s
  // client, aws, gcloud, gsutil), the fake VM host, and provider classes driven in-process
  'test/e2e/k8s-fake-kubectl.test.ts',
  'test/e2e/k8s-fake-client.test.ts',
  'test/e2e/aws-fake-cli.test.ts',
  'test/e2e/storage-fakes.test.ts',
  'test/e2e/fake-vms.test.ts',
  'test/e2e/cloud-base.test.ts',
  'test/e2e/k8s-transport.test.ts',
  'test/e2e/ssh-provider.test.ts',
];

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
        // The whole end-to-end suite once more (issue 15), every CLI call a remote client of a
        // team API server: TCP with a token for a plain user, workdirs and file mounts uploaded,
        // state in PostgreSQL (test/helpers/cli.ts, remote.ts). `aloft daemon …` manages that
        // server; raw API calls and event sockets (helpers/api.ts) go over its TCP port;
        // a.stateText()/a.queryState() read its PostgreSQL database. Every file that drives aloft
        // through its CLI or daemon is in, but for REMOTE_EXCLUDED above. Single tests that mean
        // nothing through a server are `it.skipIf(REMOTE)` with their reason (a local daemon's
        // start/replace, state.db, `aloft ssh`, a shell setting compared with the daemon's).
        extends: true,
        test: {
          name: 'team-server',
          include: ['test/e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...REMOTE_EXCLUDED],
          env: { ALOFT_TEST_REMOTE: '1' },
          globalSetup: ['test/helpers/postgres-setup.ts'],
        },
      },
    ],
  },
});
