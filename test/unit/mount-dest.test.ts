// Where file_mounts land on a node, and which destinations are refused.
import { describe, expect, it } from 'vitest';
import { mountDestination } from '../../src/daemon/pipeline/sync.js';
import type { Provider } from '../../src/providers/types.js';

const local = { name: 'local' } as Provider;
const ssh = { name: 'ssh' } as Provider;

describe('file_mounts destinations', () => {
  it('puts ~/ and relative paths under the node home', () => {
    expect(mountDestination(local, '~/data/x.txt')).toBe('data/x.txt');
    expect(mountDestination(local, '~/a/../b')).toBe('b');
    expect(mountDestination(local, 'rel/dir')).toBe('rel/dir');
    expect(mountDestination(local, '~')).toBe('.');
    expect(mountDestination(ssh, '/etc/x')).toBe('/etc/x');
  });

  it('refuses, on the local infra, destinations that leave the node home', () => {
    for (const d of ['/etc/x', '~/../../tmp/escaped', '~/a/../../x', '..', '../x']) {
      expect(() => mountDestination(local, d), d).toThrow(/file_mounts: .*(leaves the node's home|not supported on the local infra)/);
    }
  });
});
