// ssh2 writes about one ed25519 key in 256 with a 31-byte public key, which OpenSSH refuses
// ("error in libcrypto": a fake VM's sshd could not load its host key, a user's cloud key would
// not load in `ssh -i`). ed25519KeyPair drops such draws: OpenSSH's ssh-keygen loads every key.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519KeyPair } from '../../src/providers/ssh/keygen.js';

const dir = mkdtempSync(join(tmpdir(), 'aloft-kg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;

describe('ed25519 key pairs', () => {
  it('never has a short public key (ssh2 alone gives one in ~256 draws)', () => {
    for (let i = 0; i < 3000; i++) {
      const pair = ed25519KeyPair(utils, 'aloft');
      expect(Buffer.from(pair.public.split(' ')[1]!, 'base64')).toHaveLength(51);
    }
  });

  // ssh-keygen comes with OpenSSH (installed here and by .ci/run for the ssh tests)
  it.runIf(hasKeygen)('OpenSSH loads the keys and derives the same public key', () => {
    for (let i = 0; i < 40; i++) {
      const pair = ed25519KeyPair(utils, 'aloft');
      const file = join(dir, `k${i}`);
      writeFileSync(file, pair.private, { mode: 0o600 });
      const r = spawnSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split(' ').slice(0, 2).join(' ')).toBe(pair.public.split(' ').slice(0, 2).join(' '));
    }
  });
});
