// The ssh key pair aloft puts on every cloud VM of this user: created once, kept in
// ALOFT_HOME/ssh/aloft-cloud-key (0600), imported by each cloud under a name derived from it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../../util/process.js';
import { ed25519KeyPair } from '../ssh/keygen.js';

export interface CloudKey {
  /** path of the private key (OpenSSH format, 0600) */
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA… aloft` */
  publicKey: string;
  /** short stable id of the key (for key-pair names in clouds) */
  id: string;
}

export function cloudKeyPath(home: string): string {
  return join(home, 'ssh', 'aloft-cloud-key');
}

/** The user's cloud key pair; generated on first use (two racing launches end up with the same one). */
export async function ensureCloudKey(home: string): Promise<CloudKey> {
  const path = cloudKeyPath(home);
  mkdirSync(join(home, 'ssh'), { recursive: true, mode: 0o700 });
  // ssh2 is CommonJS: under plain Node ESM its `utils` is only on the default export.
  const ssh2 = await import('ssh2');
  const utils = ssh2.utils ?? (ssh2 as unknown as { default: typeof ssh2 }).default.utils;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    const pair = ed25519KeyPair(utils, 'aloft');
    try {
      // O_EXCL: the first writer wins; a loser reads the winner's key.
      writeFileSync(path, pair.private, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    text = readFileSync(path, 'utf8');
  }
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot read the cloud ssh key ${path}: ${key instanceof Error ? key.message : 'no key'}`);
  const blob = key.getPublicSSH();
  const publicKey = `${key.type} ${blob.toString('base64')} aloft`;
  writeFileSync(`${path}.pub`, publicKey + '\n', { mode: 0o644 });
  return { privateKeyPath: path, publicKey, id: createHash('sha256').update(blob).digest('hex').slice(0, 10) };
}
