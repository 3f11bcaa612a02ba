// ssh_node_pools.yaml parsing and the generated ssh config.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPool, loadPools, parsePools } from '../../src/providers/ssh/pools.js';
import { renderSshConfig, writeSshConfig } from '../../src/providers/ssh/ssh-config.js';
import { openInteractiveShell, sshArgs } from '../../src/cli/commands/ssh.js';

describe('ssh node pools file', () => {
  it('applies pool defaults to string and mapping hosts', () => {
    const pools = parsePools(`
my-box:
  user: ubuntu
  identity_file: ~/.ssh/pool_key
  port: 2222
  hosts:
    - 10.0.0.1
    - admin@10.0.0.2:22
    - ip: 10.0.0.3
      user: other
      identity_file: /keys/k
      password: pw
gpus:
  shared: true
  hosts: [gpu1.example.com]
`);
    const box = pools.get('my-box')!;
    expect(box.shared).toBe(false);
    expect(box.hosts.map((h) => [h.key, h.identityFile, h.password])).toEqual([
      ['ubuntu@10.0.0.1:2222', join(homedir(), '.ssh/pool_key'), undefined],
      ['admin@10.0.0.2:22', join(homedir(), '.ssh/pool_key'), undefined],
      ['other@10.0.0.3:2222', '/keys/k', 'pw'],
    ]);
    const gpus = pools.get('gpus')!;
    expect(gpus.shared).toBe(true);
    expect(gpus.hosts[0]).toMatchObject({ ip: 'gpu1.example.com', port: 22, user: userInfo().username });
  });

  it('reports errors as file:line:col on one line', () => {
    const cases: Array<[string, RegExp]> = [
      ['pool:\n  hosts:\n    - 1.2.3.4\n  colour: red\n', /^ssh_node_pools\.yaml:4:3: unknown field 'colour'/],
      ['pool:\n  user: me\n', /^ssh_node_pools\.yaml:2:3: missing field 'hosts'/],
      ['pool:\n  hosts:\n    - ip: 1.2.3.4\n      port: 99999\n', /^ssh_node_pools\.yaml:4:13: .*65535 \(pool\.hosts\.0\.port\)$/],
      ['pool:\n  hosts:\n    - 42\n', /^ssh_node_pools\.yaml:3:7: a host is an address string or a mapping/],
      ['pool:\n  port: http\n  hosts: [a]\n', /^ssh_node_pools\.yaml:2:9: .*number/],
      ['pool:\n  hosts: []\n', /^ssh_node_pools\.yaml:2:10: a pool needs at least one host/],
      ['pool:\n  hosts: [a, a]\n', /^ssh_node_pools\.yaml:2:\d+: host .*@a:22 is listed twice/],
      ['pool:\n  hosts: [a\n', /^ssh_node_pools\.yaml:\d+:\d+: /],
      ['- a\n- b\n', /^ssh_node_pools\.yaml:1:1: expected a mapping/],
    ];
    for (const [src, re] of cases) {
      let msg = '';
      try {
        parsePools(src);
      } catch (err) {
        msg = (err as Error).message;
      }
      expect(msg, src).toMatch(re);
      expect(msg).not.toContain('\n');
    }
  });

  it('names the file and the pools when a pool is missing', () => {
    const home = mkdtempSync(join(tmpdir(), 'pools-'));
    expect(loadPools(home).size).toBe(0);
    expect(() => getPool('x', home)).toThrow(/no ssh node pools are defined: create .*ssh_node_pools\.yaml/);
    writeFileSync(join(home, 'ssh_node_pools.yaml'), 'a:\n  hosts: [h]\nb:\n  hosts: [h]\n');
    expect(() => getPool('x', home)).toThrow(/ssh node pool 'x' is not in .* \(pools: a, b\)/);
    expect(getPool('b', home).hosts).toHaveLength(1);
  });
});

describe('ssh config for clusters', () => {
  it('has a Host per node, head first then workers', () => {
    const home = mkdtempSync(join(tmpdir(), 'sshcfg-'));
    const path = writeSshConfig(
      [
        {
          name: 'train',
          nodes: [
            { host: '10.0.0.1', port: 22, user: 'ubuntu', identityFile: '/k/id' },
            { host: '10.0.0.2', port: 2222, user: 'ubuntu' },
          ],
        },
      ],
      home,
    );
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(renderSshConfig([{ name: 'train', nodes: [{ host: '10.0.0.1', port: 22, user: 'ubuntu', identityFile: '/k/id' }, { host: '10.0.0.2', port: 2222, user: 'ubuntu' }] }], home));
    expect(text).toMatch(/^Host train\n  HostName 10\.0\.0\.1\n  Port 22\n  User ubuntu\n  IdentityFile \/k\/id\n/m);
    expect(text).toMatch(/^Host train-worker1\n  HostName 10\.0\.0\.2\n  Port 2222\n/m);
    expect(text).toContain(`UserKnownHostsFile ${join(home, 'ssh', 'known_hosts')}`);
  });

  it('builds an ssh command line that lands in the node home', () => {
    const args = sshArgs(
      { kind: 'ssh', host: 'h', port: 2200, user: 'u', identityFile: '/id', home: "/home/u/it's", env: { A: 'b c' } },
      { aloftHome: '/ah' },
    );
    expect(args).toContain('-t');
    expect(args.slice(-2)).toEqual(['u@h', `cd '/home/u/it'\\''s' && export A='b c'; exec "\${SHELL:-bash}" -l`]);
    expect(args).toContain('UserKnownHostsFile=/ah/ssh/known_hosts');
  });
});

describe('aloft ssh on a local node', () => {
  it('runs in the node directory with the job environment', async () => {
    const home = mkdtempSync(join(tmpdir(), 'node-'));
    const code = await openInteractiveShell(
      { kind: 'local', home, env: { SKYPILOT_NODE_RANK: '3' } },
      { command: 'pwd > out.txt; echo "rank=$SKYPILOT_NODE_RANK" >> out.txt; exit 7' },
    );
    expect(code).toBe(7);
    expect(readFileSync(join(home, 'out.txt'), 'utf8')).toBe(`${home}\nrank=3\n`);
  });
});
