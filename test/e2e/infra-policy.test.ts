// The default infra policy through the real CLI and daemon: with an ssh pool whose only host is
// unreachable (127.0.0.1 on a closed port) and no cloud credentials, a plain launch runs on this
// machine, and `launch --dryrun` agrees with `launch` — same choice, or the same one-line error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, makeHome, type AloftEnv } from '../helpers/cli.js';

// No cloud credentials, whatever this machine has.
const noClouds = {
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_PROFILE: '',
  AWS_WEB_IDENTITY_TOKEN_FILE: '',
  GOOGLE_APPLICATION_CREDENTIALS: '',
  CLOUDSDK_CONFIG: '/nonexistent/gcloud',
  KUBECONFIG: '/nonexistent/kubeconfig',
};

describe('infra policy: launch and --dryrun agree', () => {
  let a: AloftEnv;
  let port: number;
  const run = (args: string[]) => a.run(args, { env: noClouds });
  beforeAll(async () => {
    a = makeHome('aloft-pol-');
    port = await closedPort();
    writeFileSync(join(a.home, 'ssh_node_pools.yaml'), `mypool: {user: root, hosts: [{ip: 127.0.0.1, port: ${port}}]}\n`);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('a plain dry run chooses local, never a cloud without credentials', async () => {
    const r = await run(['launch', '--dryrun', '-o', 'json', '--', 'echo', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { chosen: { cloud: string; no_credentials?: boolean }; alternatives: Array<{ cloud: string }> };
    expect(plan.chosen.cloud).toBe('local');
    expect(plan.chosen.no_credentials).toBeUndefined();
    expect(plan.alternatives.every((c) => c.cloud === 'local' || c.cloud === 'ssh')).toBe(true);
    const text = await run(['launch', '--dryrun', '--explain', '--', 'echo', 'hi']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Chosen( for task '[^']*')?: local, \$0\/hr$/m);
    expect(text.stdout).not.toContain('only when named');
  });

  it('a plain launch runs on local', async () => {
    const r = await run(['launch', '-y', '-c', 'pol', '--', 'echo', 'hi-from-policy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hi-from-policy');
    const s = JSON.parse((await run(['status', '-o', 'json'])).stdout) as Array<{ name: string; infra: string }>;
    expect(s.find((c) => c.name === 'pol')?.infra).toBe('local');
  });

  it('a task nothing enabled can run: dry run and launch fail with the same line, naming each infra', async () => {
    const dry = await run(['launch', '--dryrun', '--gpus', 'H100:8', '--', 'echo', 'hi']);
    expect(dry.code).not.toBe(0);
    const lines = dry.stderr.trim().split('\n');
    expect(lines, dry.stderr).toHaveLength(1);
    const msg = lines[0]!.replace(/^aloft: /, '');
    expect(msg).toMatch(/^no infra offers H100:8 \(enabled: local, ssh\): /);
    expect(msg).toMatch(/local: (no accelerators|only \d+ H100)/);
    expect(msg).toContain(`ssh/mypool: root@127.0.0.1:${port}: unreachable: connection refused`);
    expect(msg).toMatch(/; would fit on (aws|gcp)\/\S+ .*, but no (aws|gcp) credentials here$/);
    expect(dry.stderr).not.toMatch(/\n\s+at /);
    expect(dry.stdout).not.toContain('Chosen');

    const launch = await run(['launch', '-y', '-c', 'gpu', '--gpus', 'H100:8', '--', 'echo', 'hi']);
    expect(launch.code).not.toBe(0);
    expect(launch.stderr).toContain(`launch failed at OPTIMIZE: ${msg}`);
  });

  it('a named unreachable pool: same reason in both', async () => {
    const dry = await run(['launch', '--dryrun', '--infra', 'ssh/mypool', '--', 'echo', 'hi']);
    expect(dry.code).not.toBe(0);
    expect(dry.stderr).toContain(`ssh/mypool: root@127.0.0.1:${port}: unreachable: connection refused`);
    const launch = await run(['launch', '-y', '-c', 'sp', '--infra', 'ssh/mypool', '--', 'echo', 'hi']);
    expect(launch.code).not.toBe(0);
    expect(launch.stderr).toContain(dry.stderr.trim().replace(/^aloft: /, ''));
  });

  it('a pool name the pool file does not define is named as such, in dry run and launch', async () => {
    const want = `ssh node pool 'nope' is not in ${join(a.home, 'ssh_node_pools.yaml')} (pools: mypool)`;
    const dry = await run(['launch', '--dryrun', '--infra', 'ssh/nope', '--', 'echo', 'hi']);
    expect(dry.code).not.toBe(0);
    expect(dry.stderr.trim()).toBe(`aloft: ${want}`);
    const launch = await run(['launch', '-y', '-c', 'np', '--infra', 'ssh/nope', '--', 'echo', 'hi']);
    expect(launch.code).not.toBe(0);
    expect(launch.stderr).toContain(want);
  });
});
