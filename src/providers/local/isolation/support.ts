// Whether local nodes can be isolated here, found out once per daemon by trying (a root login
// inside a container often lacks the capabilities), and why not when they cannot — each answer
// is the one line a refusal quotes.
import { run, tool } from './commands.js';

export interface IsolationSupport {
  /** each node gets its own mount and UTS namespace: its own `/` (absolute mount points), /tmp and hostname */
  fs: boolean;
  /** each node gets its own network namespace and an address this machine and its cluster reach */
  net: boolean;
  /** how node traffic reaches beyond this machine (masquerading), when `net` */
  nat?: 'iptables' | 'nft';
  /** why not, one line each (undefined when supported) */
  fsWhy?: string;
  netWhy?: string;
}

const NEEDED = ['unshare', 'nsenter', 'mount', 'umount'];

async function probe(): Promise<IsolationSupport> {
  if (process.platform !== 'linux') {
    const why = `namespaces are a Linux feature (this is ${process.platform})`;
    return { fs: false, net: false, fsWhy: why, netWhy: why };
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    const why = 'aloft is not running as root (it sets up node namespaces, mounts and addresses only as root)';
    return { fs: false, net: false, fsWhy: why, netWhy: why };
  }
  const missing = NEEDED.filter((t) => !tool(t));
  if (missing.length) {
    const why = `${missing.join(', ')} not installed (util-linux)`;
    return { fs: false, net: false, fsWhy: why, netWhy: why };
  }
  const out: IsolationSupport = { fs: true, net: true };
  const fsProbe = await run('unshare', ['--mount', '--uts', '--propagation', 'private', 'true']);
  if (fsProbe.code !== 0) {
    out.fs = false;
    out.fsWhy = `cannot create mount namespaces here (${firstLine(fsProbe.stderr) || `unshare exited with ${fsProbe.code}`})`;
  }
  if (!tool('ip')) return { ...out, net: false, netWhy: 'iproute2 (`ip`) is not installed' };
  const probeLink = `aloftp${process.pid % 100000}`;
  const netProbe = await run('ip', ['link', 'add', probeLink, 'type', 'bridge']);
  if (netProbe.code !== 0) {
    return { ...out, net: false, netWhy: `cannot create network links here (${firstLine(netProbe.stderr)})` };
  }
  await run('ip', ['link', 'del', probeLink]);
  const nsProbe = await run('unshare', ['--net', 'true']);
  if (nsProbe.code !== 0) return { ...out, net: false, netWhy: `cannot create network namespaces here (${firstLine(nsProbe.stderr)})` };
  // Masquerading is what lets a job in a node reach the internet the way the host does; without a
  // firewall tool to set it up, nodes stay on the host's network (as they did before isolation).
  if (tool('iptables') && (await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).code === 0) out.nat = 'iptables';
  else if (tool('nft') && (await run('nft', ['list', 'tables'])).code === 0) out.nat = 'nft';
  else {
    out.net = false;
    out.netWhy = 'neither nft nor iptables works here, and without one a node could not reach the internet (apt-get install nftables)';
  }
  return out;
}

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

let cached: Promise<IsolationSupport> | undefined;

/** What this machine allows (probed once per process). */
export function isolationSupport(): Promise<IsolationSupport> {
  cached ??= probe();
  return cached;
}

/** Support as configured: `local: {namespaces: false}` in config.yaml turns isolation off. */
export async function configuredSupport(enabled: boolean): Promise<IsolationSupport> {
  if (!enabled) {
    const why = 'node namespaces are turned off in config.yaml (local: {namespaces: false})';
    return { fs: false, net: false, fsWhy: why, netWhy: why };
  }
  return isolationSupport();
}
