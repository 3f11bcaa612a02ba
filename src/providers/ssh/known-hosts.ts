// Host keys trusted on first use, kept in OpenSSH's known_hosts format under ALOFT_HOME/ssh/ so
// the ssh config aloft writes can point the system `ssh` at the same file.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../util/errors.js';

export class HostKeyChangedError extends UserError {
  constructor(message: string) {
    super(message, 'SSH_HOST_KEY_CHANGED');
    this.name = 'HostKeyChangedError';
  }
}

/** The host pattern OpenSSH uses: `host` on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Key type named at the start of an ssh wire-format public key blob. */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export class KnownHosts {
  constructor(readonly file: string) {}

  private entries(pattern: string): Array<{ line: number; type: string; key: string }> {
    if (!existsSync(this.file)) return [];
    const out: Array<{ line: number; type: string; key: string }> = [];
    readFileSync(this.file, 'utf8')
      .split('\n')
      .forEach((raw, i) => {
        const parts = raw.trim().split(/\s+/);
        if (parts.length < 3 || parts[0]!.startsWith('#')) return;
        if (parts[0]!.split(',').includes(pattern)) out.push({ line: i + 1, type: parts[1]!, key: parts[2]! });
      });
    return out;
  }

  /**
   * Accepts a key seen before, records a host never seen, and refuses a host whose key differs
   * from the recorded one (throws HostKeyChangedError).
   */
  verify(host: string, port: number, blob: Buffer): void {
    const pattern = hostPattern(host, port);
    const b64 = blob.toString('base64');
    const known = this.entries(pattern);
    if (known.some((e) => e.key === b64)) return;
    if (known.length > 0) {
      throw new HostKeyChangedError(
        `host key of ${host}:${port} has changed (now ${fingerprint(blob)}; trusted key in ${this.file} line ${known[0]!.line}): refusing to connect; if the host was reinstalled on purpose, delete that line and retry`,
      );
    }
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, `${pattern} ${keyType(blob)} ${b64}\n`, { mode: 0o600 });
  }
}
