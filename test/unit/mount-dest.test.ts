// Where file_mounts land on a node, and which destinations are refused — by the real providers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountDestination } from '../../src/daemon/pipeline/sync.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { isolationSupport } from '../../src/providers/local/isolation/index.js';
import { SshProvider } from '../../src/providers/ssh/provider.js';
import { packageRoot } from '../../src/util/paths.js';

const home = mkdtempSync(join(tmpdir(), 'aloft-mounts-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const plain = new LocalProvider(join(home, 'local'), { namespaces: async () => false });
const isolated = new LocalProvider(join(home, 'local'));
const ssh = new SshProvider({ home });
const support = await isolationSupport();

describe('file_mounts destinations', () => {
  it('puts ~/ and relative paths under the node home', async () => {
    expect(await mountDestination(plain, '~/data/x.txt')).toBe('data/x.txt');
    expect(await mountDestination(plain, '~/a/../b')).toBe('b');
    expect(await mountDestination(plain, '~/sky_workdir/rel/dir')).toBe('sky_workdir/rel/dir');
    expect(await mountDestination(plain, '~')).toBe('.');
    expect(await mountDestination(ssh, '/etc/x')).toBe('/etc/x');
  });

  it('refuses destinations that leave the node home, and absolute ones on nodes without their own filesystem (naming why)', async () => {
    for (const d of ['~/../../tmp/escaped', '~/a/../../x', '..', '../x']) {
      await expect(mountDestination(plain, d), d).rejects.toThrow(/^file_mounts: destination .* leaves the node's home directory/);
    }
    await expect(mountDestination(plain, '/data')).rejects.toThrow(
      "file_mounts: absolute destination '/data' needs each local node to have its own filesystem, but node namespaces are turned off in config.yaml (local: {namespaces: false}); use a path under ~/ instead",
    );
  });

  // Node namespaces need root (or an equivalent); elsewhere the refusal above is what users get.
  it.skipIf(!support.fs)('on isolated nodes, takes absolute paths of their own and refuses the ones shared with this machine', async () => {
    for (const d of ['/data/x', '/checkpoints', '/model/weights.bin', '/workdir']) expect(await mountDestination(isolated, d)).toBe(d);
    await expect(mountDestination(isolated, '/etc/x')).rejects.toThrow(/^file_mounts: '\/etc\/x' is inside \/etc, which local nodes share with this machine/);
    await expect(mountDestination(isolated, '/tmp/workdir')).rejects.toThrow(/^file_mounts: '\/tmp\/workdir' is inside \/tmp, which local nodes share with this machine/);
    await expect(mountDestination(isolated, '/')).rejects.toThrow(/would replace the node's whole filesystem/);
    // a mount point may not hide what the node needs (here: the agent bundle's directory)
    const top = packageRoot().split('/')[1];
    await expect(mountDestination(isolated, `/${top}/x`)).rejects.toThrow(/that the node needs|which local nodes share with this machine/);
  });
});
