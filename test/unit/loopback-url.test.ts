// URLs of this machine's loopback services as a local node with its own network must write them
// (its gateway), and the provider-level choice of when to rewrite them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { isLoopbackUrl, loopbackUrlVia } from '../../src/util/loopback-url.js';

const GW = '10.212.7.1';

describe('loopbackUrlVia', () => {
  it.each([
    // the endpoints and remotes the daemon hands nodes
    ['http://127.0.0.1:9000', 'http://10.212.7.1:9000'],
    ['http://127.0.0.1:4443/storage/v1/', 'http://10.212.7.1:4443/storage/v1/'],
    ['git://127.0.0.1:9418/repos/x.git', 'git://10.212.7.1:9418/repos/x.git'],
    ['http://localhost:8080/priv.git', 'http://10.212.7.1:8080/priv.git'],
    ['HTTP://LocalHost:8080', 'HTTP://10.212.7.1:8080'],
    ['https://127.1.2.3/a?b=127.0.0.1#c', 'https://10.212.7.1/a?b=127.0.0.1#c'],
    ['http://[::1]:9000/', 'http://10.212.7.1:9000/'],
    ['http://[0:0:0:0:0:0:0:1]:9000', 'http://10.212.7.1:9000'],
    ['http://user:p%40ss@127.0.0.1:9000/x', 'http://user:p%40ss@10.212.7.1:9000/x'],
    ['ssh://git@localhost:2222/x.git', 'ssh://git@10.212.7.1:2222/x.git'],
    // a host without a scheme (STORAGE_EMULATOR_HOST), git's scp-like form
    ['127.0.0.1:4443', '10.212.7.1:4443'],
    ['localhost', '10.212.7.1'],
    ['git@localhost:team/x.git', 'git@10.212.7.1:team/x.git'],
  ])('%s → %s', (url, want) => {
    expect(isLoopbackUrl(url)).toBe(true);
    expect(loopbackUrlVia(url, GW)).toBe(want);
  });

  it.each([
    'https://s3.us-east-1.amazonaws.com',
    'http://localhost.example.com:9000',
    'http://127.0.0.1.nip.io:9000',
    'http://10.0.0.5:9000',
    'http://example.com/?next=http://127.0.0.1/',
    'git@github.com:org/x.git',
    'http://[::2]:9000',
    'https://storage.googleapis.com',
  ])('leaves %s alone', (url) => {
    expect(isLoopbackUrl(url)).toBe(false);
    expect(loopbackUrlVia(url, GW)).toBe(url);
  });
});

describe('LocalProvider.nodeUrl', () => {
  const root = mkdtempSync(join(tmpdir(), 'aloft-nodeurl-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  // (the provider only reads a cluster's isolation record here: nothing is set up on the machine)
  const provider = new LocalProvider(join(root, 'local'), { namespaces: async () => false });
  const cluster = (name: string, record?: object) => {
    mkdirSync(join(root, 'local', name, '0'), { recursive: true });
    if (record) writeFileSync(join(root, 'local', name, 'isolation.json'), JSON.stringify(record));
  };

  it("rewrites loopback URLs to the gateway of a node with its own network (the subnet's .1)", () => {
    cluster('net', { fs: true, net: true, subnet: 259, nat: 'nft', ips: { 0: '10.213.3.2' } });
    expect(provider.nodeUrl('net', 'http://127.0.0.1:9000')).toBe('http://10.213.3.1:9000');
    expect(provider.nodeUrl('net', 'https://s3.amazonaws.com')).toBe('https://s3.amazonaws.com');
  });

  it("keeps them for nodes on this machine's network: plain clusters, and ones with only their own filesystem", () => {
    cluster('plain');
    cluster('fsonly', { fs: true, net: false, ips: {} });
    expect(provider.nodeUrl('plain', 'http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
    expect(provider.nodeUrl('fsonly', 'git://localhost/x.git')).toBe('git://localhost/x.git');
  });

  it("gives a node this machine's loopback proxy at its gateway (jobs and `aloft ssh` sessions)", () => {
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTPS_PROXY = 'http://127.0.0.1:3128';
    process.env.http_proxy = 'http://proxy.corp:8080';
    process.env.no_proxy = 'localhost,127.0.0.1';
    delete process.env.NO_PROXY;
    try {
      const node = (c: string) => ({ rank: 0, ip: '', home: join(root, 'local', c, '0'), instanceId: '', status: 'running' as const });
      const env = provider.sessionTarget('net', node('net')).env!;
      expect(env.HTTPS_PROXY).toBe('http://10.213.3.1:3128');
      expect(env.http_proxy).toBeUndefined(); // not on this machine: the node's environment keeps it as it is
      // the gateway (where rclone's endpoint and git remotes of this machine now point) bypasses any proxy
      expect(env.no_proxy).toBe('localhost,127.0.0.1,10.213.3.1');
      expect(env.NO_PROXY).toBe('localhost,127.0.0.1,10.213.3.1');
      const plain = provider.sessionTarget('plain', node('plain')).env!;
      expect([plain.HTTPS_PROXY, plain.no_proxy, plain.NO_PROXY]).toEqual([undefined, undefined, undefined]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
