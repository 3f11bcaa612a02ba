// `ssh CLUSTER` for local clusters, as for ssh pools: ALOFT_HOME/ssh/config includes
// ALOFT_HOME/ssh/local.config, a Host entry per local node whose ProxyCommand starts an sshd for
// that one connection (`sshd -i`, inetd mode) inside the node — no daemon listening anywhere,
// nothing to keep running. The session lands in the node's workdir with the node's HOME, and
// counts as activity for autostop (ALOFT_SESSION). Keys are aloft's own, in ALOFT_HOME/ssh.
// Without OpenSSH's sshd and ssh-keygen the entries are left out (`aloft ssh CLUSTER` still works).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { nodeEnv } from '../../util/env.js';
import { shellQuote } from '../../util/shell.js';
import { renderSshConfig, sshConfigPath } from '../ssh/ssh-config.js';
import { tool } from './isolation/commands.js';

export interface LocalSshNode {
  cluster: string;
  rank: number;
  nodeDir: string;
  /** argv prefix entering the node's namespaces (isolation/index.ts enterArgs) */
  enter: string[];
  /** the node's own values of environment variables (a proxy as the node reaches it) */
  env?: Record<string, string>;
}

const files = (home: string) => {
  const dir = join(home, 'ssh');
  return {
    dir,
    key: join(dir, 'local_ed25519'),
    hostKey: join(dir, 'local_host_ed25519'),
    authorized: join(dir, 'local_authorized_keys'),
    knownHosts: join(dir, 'local_known_hosts'),
    sshdConfig: join(dir, 'local_sshd_config'),
    hosts: join(dir, 'local.config'),
  };
};

function writeAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Keys and the sshd configuration, made once per home. False when OpenSSH is not installed. */
async function ensureKeys(home: string): Promise<boolean> {
  const f = files(home);
  const keygen = tool('ssh-keygen');
  if (!keygen || !tool('sshd')) return false;
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  for (const k of [f.key, f.hostKey]) {
    if (!existsSync(k)) await promisify(execFile)(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'aloft-local', '-f', k]);
  }
  writeAtomic(f.authorized, readFileSync(`${f.key}.pub`, 'utf8'));
  writeAtomic(f.knownHosts, `aloft-local ${readFileSync(`${f.hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  writeAtomic(
    f.sshdConfig,
    [
      '# sshd for `ssh CLUSTER` into local nodes (started per connection by a ProxyCommand; never listens)',
      `HostKey ${f.hostKey}`,
      `AuthorizedKeysFile ${f.authorized}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PrintMotd no',
      'AcceptEnv LANG LC_*',
      '',
    ].join('\n'),
  );
  return true;
}

/** The two scripts behind a node's Host entry. */
function writeNodeScripts(home: string, n: LocalSshNode): string {
  const f = files(home);
  const q = shellQuote;
  const agentDir = join(n.nodeDir, 'agent');
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const session = join(agentDir, 'ssh-session');
  const env = { ...nodeEnv(process.env), ...n.env, HOME: n.nodeDir, ALOFT_NODE_DIR: n.nodeDir, ALOFT_SESSION: n.nodeDir, SKYPILOT_NODE_RANK: String(n.rank) };
  writeAtomic(
    session,
    [
      '#!/bin/bash',
      '# The session of `ssh CLUSTER` on this node: the node environment, in its workdir.',
      ...Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`),
      `cd ${q(join(n.nodeDir, 'sky_workdir'))} 2>/dev/null || cd ${q(n.nodeDir)}`,
      'if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec bash -c "$SSH_ORIGINAL_COMMAND"; fi',
      'exec bash -l',
      '',
    ].join('\n'),
    0o700,
  );
  const proxy = join(agentDir, 'ssh-proxy');
  writeAtomic(
    proxy,
    [
      '#!/bin/sh',
      '# ProxyCommand of `ssh CLUSTER`: an sshd for this one connection, inside the node.',
      'mkdir -p -m 0755 /run/sshd 2>/dev/null',
      `exec ${[...n.enter, tool('sshd')!, '-i', '-f', f.sshdConfig, '-o', `ForceCommand=${session}`].map(q).join(' ')}`,
      '',
    ].join('\n'),
    0o700,
  );
  return proxy;
}

/** Rewrites ALOFT_HOME/ssh/local.config for these nodes (and makes ssh/config include it). */
export async function writeLocalSshConfig(home: string, nodes: LocalSshNode[]): Promise<void> {
  const f = files(home);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const lines = ['# Written by aloft: local clusters (included by ssh/config). Do not edit.', ''];
  if (nodes.length > 0 && (await ensureKeys(home))) {
    const user = userInfo().username;
    for (const n of [...nodes].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.rank - b.rank)) {
      lines.push(
        `Host ${n.rank === 0 ? n.cluster : `${n.cluster}-worker${n.rank}`}`,
        `  User ${user}`,
        `  IdentityFile ${f.key}`,
        '  IdentitiesOnly yes',
        `  ProxyCommand ${writeNodeScripts(home, n)}`,
        '  HostKeyAlias aloft-local',
        `  UserKnownHostsFile ${f.knownHosts}`,
        '  StrictHostKeyChecking yes',
        '',
      );
    }
  } else if (nodes.length > 0) {
    lines.push('# (no entries: OpenSSH sshd/ssh-keygen are not installed here; `aloft ssh CLUSTER` works without them)');
  }
  writeAtomic(f.hosts, lines.join('\n'));
  // ssh/config is the ssh provider's; it includes this file. Make sure it exists without pools.
  if (!existsSync(sshConfigPath(home))) writeAtomic(sshConfigPath(home), renderSshConfig([], home));
}
