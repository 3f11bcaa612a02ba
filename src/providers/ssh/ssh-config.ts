// ALOFT_HOME/ssh/config: one Host entry per ssh-reachable cluster (the head as <cluster>, the
// others as <cluster>-worker<N>), so `ssh CLUSTER` works once ~/.ssh/config includes the file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aloftHome } from '../../util/paths.js';

export interface SshConfigNode {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
}

export interface SshConfigCluster {
  name: string;
  /** in rank order; nodes[0] is the head */
  nodes: SshConfigNode[];
}

export function sshConfigPath(home = aloftHome()): string {
  return join(home, 'ssh', 'config');
}

// ssh_config takes quoted values for paths with spaces.
function value(v: string): string {
  return /[\s"]/.test(v) ? `"${v.replace(/"/g, '')}"` : v;
}

export function renderSshConfig(clusters: SshConfigCluster[], home = aloftHome()): string {
  const knownHosts = join(home, 'ssh', 'known_hosts');
  const lines = [
    '# Written by aloft; rewritten after every launch and down: do not edit.',
    `# Use it by putting this line at the top of ~/.ssh/config:  Include ${sshConfigPath(home)}`,
    '',
    // Local clusters' entries (providers/local/ssh-access.ts); a missing file is fine for ssh.
    `Include ${value(join(home, 'ssh', 'local.config'))}`,
    '',
  ];
  for (const c of [...clusters].sort((a, b) => a.name.localeCompare(b.name))) {
    c.nodes.forEach((n, rank) => {
      lines.push(`Host ${rank === 0 ? c.name : `${c.name}-worker${rank}`}`);
      lines.push(`  HostName ${n.host}`);
      lines.push(`  Port ${n.port}`);
      lines.push(`  User ${n.user}`);
      if (n.identityFile) {
        lines.push(`  IdentityFile ${value(n.identityFile)}`);
        lines.push('  IdentitiesOnly yes');
      }
      // aloft trusted the host key on first use; ssh checks against the same record.
      lines.push(`  UserKnownHostsFile ${value(knownHosts)}`);
      lines.push('  StrictHostKeyChecking yes');
      lines.push('');
    });
  }
  return lines.join('\n');
}

/** Writes ALOFT_HOME/ssh/config atomically; returns its path. */
export function writeSshConfig(clusters: SshConfigCluster[], home = aloftHome()): string {
  const path = sshConfigPath(home);
  mkdirSync(join(home, 'ssh'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, renderSshConfig(clusters, home), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}
