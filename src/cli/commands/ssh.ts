// `aloft ssh CLUSTER [--rank N]`: an interactive shell on a node. For ssh-pool clusters this is
// the system `ssh` into the node's runtime directory; for kubernetes a shell in the pod through
// the exec API (a TTY, like `kubectl exec -it`); for local clusters a shell in the node's
// directory with the job environment.
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { aloftHome } from '../../util/paths.js';
import { shellQuote } from '../../util/shell.js';
import { nodeEnv } from '../../util/env.js';

export type ShellTarget =
  | { kind: 'ssh'; host: string; port: number; user: string; identityFile?: string; knownHostsFile?: string; home: string; env?: Record<string, string> }
  | { kind: 'local'; home: string; env: Record<string, string>; enter?: string[]; cwd?: string }
  | { kind: 'kubernetes'; context: string; namespace: string; pod: string; container: string; kubeconfig: string[]; home: string; env: Record<string, string> };

export interface ShellOptions {
  /** run this command instead of an interactive shell */
  command?: string;
  /** ALOFT_HOME, for the known_hosts file aloft keeps */
  aloftHome?: string;
  /** the ssh binary (tests) */
  sshBinary?: string;
}

/** The `ssh` argument list for a target (exported for tests and for printing). */
export function sshArgs(t: Extract<ShellTarget, { kind: 'ssh' }>, opts: ShellOptions = {}): string[] {
  const knownHosts = t.knownHostsFile ?? join(opts.aloftHome ?? aloftHome(), 'ssh', 'known_hosts');
  const args = ['-p', String(t.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'];
  if (t.identityFile) args.push('-i', t.identityFile, '-o', 'IdentitiesOnly=yes');
  if (!opts.command) args.push('-t');
  const exports = Object.entries(t.env ?? {})
    .map(([k, v]) => `export ${k}=${shellQuote(v)}; `)
    .join('');
  const run = opts.command ?? 'exec "${SHELL:-bash}" -l';
  args.push(`${t.user}@${t.host}`, `cd ${shellQuote(t.home)} && ${exports}${run}`);
  return args;
}

/** Runs the shell with this terminal; resolves with its exit code. */
export async function openInteractiveShell(target: ShellTarget, opts: ShellOptions = {}): Promise<number> {
  // Marks the session so the head agent's autostop counts it as activity.
  const t = { ...target, env: { ...target.env, ALOFT_SESSION: target.home } } as ShellTarget;
  if (t.kind === 'kubernetes') {
    // A pod is reached through the exec API (the SDK loads only here).
    const { podShell } = await import('../../providers/kubernetes/shell.js');
    return podShell(t, { command: opts.command });
  }
  let child;
  if (t.kind === 'ssh') child = spawn(opts.sshBinary ?? 'ssh', sshArgs(t, opts), { stdio: 'inherit' });
  else {
    // A local node: inside its namespaces, in its workdir, with the node's environment (as a
    // login on a VM would have it), not this shell's.
    const argv = [...(t.enter ?? []), ...(opts.command ? ['bash', '-c', opts.command] : [process.env.SHELL || 'bash'])];
    const term = Object.fromEntries(['TERM', 'COLORTERM'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
    child = spawn(argv[0]!, argv.slice(1), { cwd: t.cwd ?? t.home, env: { ...nodeEnv(process.env), ...term, ...t.env }, stdio: 'inherit' });
  }
  return new Promise((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' && t.kind === 'ssh' ? new Error('the `ssh` client is not installed (e.g. apt-get install openssh-client)') : err),
    );
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
  });
}

export function register(program: Command): void {
  program
    .command('ssh')
    .description("open a shell on a cluster's node (head by default)")
    .argument('<cluster>', 'cluster name')
    .option('--rank <n>', 'node rank (0 is the head)', '0')
    .option('-c, --command <cmd>', 'run a command instead of an interactive shell')
    .action(async (cluster: string, opts: { rank: string; command?: string }) => {
      const rank = Number(opts.rank);
      if (!Number.isInteger(rank) || rank < 0) throw new Error(`--rank takes a node rank (0, 1, ...), not '${opts.rank}'`);
      const { daemon, ExitCode } = await import('../context.js');
      const client = await daemon();
      const target = (await client.call('nodeTarget', { cluster, rank })) as ShellTarget;
      const code = await openInteractiveShell(target, { command: opts.command });
      if (code !== 0) throw new ExitCode(code);
    });
}

export { writeSshConfig, renderSshConfig, type SshConfigCluster } from '../../providers/ssh/ssh-config.js';
