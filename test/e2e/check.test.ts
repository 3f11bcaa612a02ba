// `aloft check` through the real, bundled CLI (dist/cli-bundle): the bundle resolves `yaml` to its
// CommonJS build, where a dynamic `import('yaml')` has no named exports — a valid pool file must
// still be read.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, makeHome, type AloftEnv } from '../helpers/cli.js';

describe('aloft check (bundled CLI)', () => {
  let a: AloftEnv;
  beforeAll(async () => {
    a = makeHome('aloft-chk-');
    const port = await closedPort();
    writeFileSync(join(a.home, 'ssh_node_pools.yaml'), `mypool: {user: root, hosts: [{ip: 127.0.0.1, port: ${port}}]}\n`);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('reads a valid ssh_node_pools.yaml: ssh is enabled with its pool', async () => {
    const r = await a.run(['check', '--no-probe', '-o', 'json'], { env: { KUBECONFIG: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(0);
    const ssh = (JSON.parse(r.stdout) as Array<{ infra: string; ok: boolean; reason: string; targets?: string[] }>).find((s) => s.infra === 'ssh');
    expect(ssh, r.stdout).toMatchObject({ ok: true, targets: ['mypool'] });
    expect(ssh!.reason).not.toMatch(/not valid YAML/);
  });

  it('the table says enabled too', async () => {
    const r = await a.run(['check', '--no-probe']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ssh\s+enabled\s+1 pool\(s\)/m);
  });

  it('a kubeconfig is read by the bundle as well', async () => {
    const kc = join(a.home, 'kubeconfig');
    writeFileSync(kc, 'apiVersion: v1\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: ctx1, context: {cluster: c}}]\ncurrent-context: ctx1\n');
    const r = await a.run(['check', '--no-probe', '-o', 'json'], { env: { KUBECONFIG: kc } });
    expect(r.code, r.stderr).toBe(0);
    const k8s = (JSON.parse(r.stdout) as Array<{ infra: string; ok: boolean; targets?: string[] }>).find((s) => s.infra === 'kubernetes');
    expect(k8s).toMatchObject({ ok: true, targets: ['ctx1'] });
  });

  it('a broken pool file: check and launch give the same positioned line', async () => {
    const b = makeHome('aloft-chk2-');
    try {
      writeFileSync(join(b.home, 'ssh_node_pools.yaml'), 'mypool:\n  user: root\n  identity_fil: /x\n  hosts: [127.0.0.1]\n');
      const r = await b.run(['check', '--no-probe', '-o', 'json'], { env: { KUBECONFIG: '/nonexistent' } });
      const ssh = (JSON.parse(r.stdout) as Array<{ infra: string; ok: boolean; reason: string }>).find((s) => s.infra === 'ssh')!;
      expect(ssh.ok).toBe(false);
      expect(ssh.reason).toMatch(/ssh_node_pools\.yaml:3:3: .*identity_fil/);
      const l = await b.run(['launch', '--dryrun', '--infra', 'ssh/mypool', '--', 'echo'], { env: { KUBECONFIG: '/nonexistent' } });
      expect(l.code).not.toBe(0);
      expect(l.stderr).toMatch(/ssh_node_pools\.yaml:3:3: .*identity_fil/);
      expect(l.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await b.cleanup();
    }
  });
});
