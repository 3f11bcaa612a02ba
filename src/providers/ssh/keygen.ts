// ssh2's generateKeyPairSync('ed25519') writes a public key whose first byte is zero as 31 bytes
// (about one key in 256): OpenSSH then refuses the key file ("error in libcrypto"), sshd cannot
// load it as a host key, and a server checking the length rejects it. Such a draw is dropped.
import type { utils as Ssh2Utils } from 'ssh2';

/** An ed25519 key pair in OpenSSH format that OpenSSH loads. `utils`: ssh2's (imported lazily by callers). */
export function ed25519KeyPair(utils: typeof Ssh2Utils, comment?: string): { private: string; public: string } {
  for (let i = 0; i < 64; i++) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    // string "ssh-ed25519" (4 + 11 bytes), then string key (4 + 32 bytes)
    if (Buffer.from(pair.public.split(' ')[1] ?? '', 'base64').length === 51) return pair;
  }
  throw new Error('could not generate an ed25519 key pair');
}
