// `aloft ssh CLUSTER` on kubernetes: a shell in the pod through the exec API, run by the CLI with
// this terminal (a TTY in raw mode, resizes forwarded on channel 4), like `kubectl exec -it`.
// With a command (`aloft ssh C -c CMD`, or stdin not a terminal) it runs without a TTY and the
// exit code is the command's.
import { KubeConfig } from '@kubernetes/client-node';
import type { NodeTarget } from '../../protocol/api.js';
import { UserError } from '../../util/errors.js';
import { shellQuote } from '../../util/shell.js';
import { openExec } from './exec.js';

/** What the daemon answers `nodeTarget` with for a pod (NodeTarget's kubernetes case). */
export type PodShellTarget = Omit<Extract<NodeTarget, { kind: 'kubernetes' }>, 'kind'>;

function kubeconfigFor(t: PodShellTarget): KubeConfig {
  const kc = new KubeConfig();
  if (!t.kubeconfig.length) throw new UserError('the daemon found no kubeconfig file for this cluster');
  t.kubeconfig.forEach((f, i) => {
    if (i === 0) kc.loadFromFile(f);
    else {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more, true);
    }
  });
  if (!kc.getContextObject(t.context)) throw new UserError(`kubernetes context '${t.context}' is no longer in ${t.kubeconfig.join(':')}`);
  kc.setCurrentContext(t.context);
  return kc;
}

/** The script run in the pod: the node's home, the session mark, then the user's shell or command. */
export function shellScript(t: PodShellTarget, command?: string): string {
  const exports = Object.entries(t.env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}; `)
    .join('');
  const run = command ?? 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi';
  return `cd ${shellQuote(t.home)} 2>/dev/null; ${exports}${run}`;
}

export async function podShell(t: PodShellTarget, opts: { command?: string } = {}): Promise<number> {
  const kc = kubeconfigFor(t);
  const stdin = process.stdin;
  const tty = !opts.command && stdin.isTTY === true && process.stdout.isTTY === true;
  const s = await openExec({ kc, namespace: t.namespace, pod: t.pod, container: t.container }, ['/bin/sh', '-c', shellScript(t, opts.command)], {
    stdin: true,
    tty,
  });
  s.onStdout((c) => process.stdout.write(c));
  s.onStderr((c) => process.stderr.write(c));
  const onResize = () => s.resize(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
  if (tty) {
    stdin.setRawMode(true);
    onResize();
    process.stdout.on('resize', onResize);
  }
  const onData = (c: Buffer) => void s.write(c).catch(() => undefined);
  stdin.on('data', onData);
  const onEnd = () => s.endStdin();
  stdin.on('end', onEnd);
  stdin.resume();
  try {
    const st = await s.done;
    if (st.message) process.stderr.write(`aloft: ${st.message}\n`);
    return st.code;
  } finally {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    process.stdout.off('resize', onResize);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
  }
}
