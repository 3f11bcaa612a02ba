// Local node isolation, where the machine allows it (support.ts): each node of a local cluster
// runs in its own namespaces —
//   mount + UTS (filesystem.ts): its own `/`, /tmp and hostname;
//   network (network.ts, subnets.ts): its own address on a per-cluster bridge, NAT to the world.
// The namespaces are kept alive by bind mounts of their files (/run/aloft/ns/<id>.{mnt,uts},
// /run/netns/aloft-<subnet>-<rank>), so processes enter them with nsenter — the agent at start,
// everything else it starts inherits them — and a node survives its processes (stop/start keep
// the address). What a cluster got is recorded in <cluster dir>/isolation.json; a cluster
// without that file (made before isolation, or where it is off) is plain directories on the
// host network, as before. The agent protocol is unaffected: unix sockets are files, and files
// cross network namespaces.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, run } from './commands.js';
import { buildRootScript, claimTopScript, destinationProblem, hostPathOf, topOf, type NodeRoot } from './filesystem.js';
import { addNat, createLinks, netnsExists, netnsName, nodeAddressing, ranksOnMachine, removeNetwork } from './network.js';
import { claimSubnet, nodeAddress, releaseSubnet, RUN_DIR, subnetOf, sweepStaleClaims, type Subnet } from './subnets.js';
import type { IsolationSupport } from './support.js';

export { configuredSupport, isolationSupport, type IsolationSupport } from './support.js';
export { destinationProblem, hostPathOf, topOf } from './filesystem.js';

const NS_DIR = join(RUN_DIR, 'ns');

export interface IsolationRecord {
  fs: boolean;
  net: boolean;
  subnet?: number;
  nat?: 'iptables' | 'nft';
  /** address per rank (only with `net`) */
  ips: Record<number, string>;
}

export interface ClusterSpec {
  cluster: string;
  clusterDir: string;
  ranks: number[];
  nodeDir: (rank: number) => string;
  /** host paths nodes must keep seeing (see filesystem.ts) */
  needs: string[];
}

const recordPath = (clusterDir: string) => join(clusterDir, 'isolation.json');

export function readRecord(clusterDir: string): IsolationRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(clusterDir), 'utf8')) as IsolationRecord;
  } catch {
    return undefined;
  }
}

/** Namespace files of a node, named after its directory (stable across stop/start). */
function nsFiles(nodeDir: string) {
  const id = createHash('sha256').update(nodeDir).digest('hex').slice(0, 16);
  return { mnt: join(NS_DIR, `${id}.mnt`), uts: join(NS_DIR, `${id}.uts`), owner: join(NS_DIR, `${id}.owner`) };
}

function mountedAt(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/**
 * A namespace file can only be bind-mounted where mount events do not propagate (else the
 * namespace could hold itself alive): /run/aloft/ns is made a private mount of its own once.
 */
async function ensureNsDir(): Promise<void> {
  mkdirSync(NS_DIR, { recursive: true, mode: 0o755 });
  if (mountedAt(NS_DIR)) return;
  await must('preparing /run/aloft/ns', 'mount', ['--bind', NS_DIR, NS_DIR]);
  await must('preparing /run/aloft/ns', 'mount', ['--make-private', NS_DIR]);
}

export const hostnameOf = (cluster: string, rank: number) => `${cluster}-${rank === 0 ? 'head' : `worker${rank}`}`;

/** Creates (or, after a reboot or a partial failure, completes) a cluster's isolation. */
export async function setupCluster(spec: ClusterSpec, support: IsolationSupport): Promise<IsolationRecord> {
  const prev = readRecord(spec.clusterDir);
  const rec: IsolationRecord = prev ?? { fs: support.fs, net: support.net, ...(support.nat ? { nat: support.nat } : {}), ips: {} };
  if (!rec.fs && !rec.net) return rec;
  let subnet: Subnet | undefined;
  if (rec.net) {
    subnet = await claimSubnet(spec.clusterDir, (i) => cleanStaleSubnet(i));
    rec.subnet = subnet.index;
    for (const r of spec.ranks) rec.ips[r] = nodeAddress(subnet, r);
    await createLinks(subnet, spec.ranks);
  }
  if (rec.fs) await ensureNsDir();
  const hosts = spec.ranks.map((r) => ({ ip: rec.ips[r] ?? '127.0.0.1', name: hostnameOf(spec.cluster, r) }));
  // NAT needs only the bridge: it is set up while the nodes are.
  await Promise.all([...spec.ranks.map((r) => setupNode(spec, rec, subnet, r, hosts)), rec.net && subnet ? addNat(subnet, rec.nat ?? 'nft') : undefined]);
  writeFileSync(recordPath(spec.clusterDir), JSON.stringify(rec));
  return rec;
}

async function setupNode(spec: ClusterSpec, rec: IsolationRecord, subnet: Subnet | undefined, rank: number, hosts: NodeRoot['hosts']): Promise<void> {
  const nodeDir = spec.nodeDir(rank);
  const netns = subnet ? `/run/netns/${netnsName(subnet.index, rank)}` : undefined;
  const addressing = subnet ? nodeAddressing(subnet, rec.ips[rank]!) : '';
  if (!rec.fs) {
    await must(`addressing node ${rank}`, 'ip', ['-n', netnsName(subnet!.index, rank), '-batch', '-'], { input: addressing });
    return;
  }
  const f = nsFiles(nodeDir);
  if (mountedAt(f.mnt) && mountedAt(f.uts)) {
    // Namespaces alive (stop/start): only the address may need setting again (a re-created netns).
    if (netns) await must(`addressing node ${rank}`, 'ip', ['-n', netnsName(subnet!.index, rank), '-batch', '-'], { input: addressing });
    return;
  }
  for (const p of [f.mnt, f.uts]) {
    if (mountedAt(p)) await run('umount', [p]);
    writeFileSync(p, '');
  }
  writeFileSync(f.owner, nodeDir);
  const ipBatch = addressing ? `ip -batch - <<'ALOFT_EOF'\n${addressing}ALOFT_EOF` : '';
  const script = buildRootScript({ nodeDir, hostname: hostnameOf(spec.cluster, rank), needs: spec.needs, hosts }, ipBatch);
  const unshare = ['unshare', `--mount=${f.mnt}`, `--uts=${f.uts}`, '--propagation', 'private', 'bash', '-c', script];
  const [cmd, ...args] = netns ? ['nsenter', `--net=${netns}`, '--', ...unshare] : unshare;
  await must(`setting up node ${rank}'s namespaces`, cmd!, args);
}

/** The argv prefix that runs a command inside a node (empty for a plain node). */
export function enterArgs(rec: IsolationRecord | undefined, nodeDir: string, rank: number, cwd: string): string[] {
  if (!rec || (!rec.fs && !rec.net)) return [];
  const args = ['nsenter'];
  if (rec.fs) {
    const f = nsFiles(nodeDir);
    args.push(`--mount=${f.mnt}`, `--uts=${f.uts}`);
  }
  if (rec.net && rec.subnet !== undefined) args.push(`--net=/run/netns/${netnsName(rec.subnet, rank)}`);
  // Entering a mount namespace moves to its root; come back to where the command should run —
  // by path inside the node (nsenter's --wd opens the directory on the host's side, and a shell
  // started there cannot name its own working directory).
  args.push('--', 'sh', '-c', 'cd "$0" && exec "$@"', cwd);
  return args;
}

/** Makes `/<top>` of a live node its own (for a file mount to /data, /checkpoints, …). */
export async function claimTop(nodeDir: string, top: string): Promise<void> {
  const f = nsFiles(nodeDir);
  mkdirSync(join(nodeDir, 'rootfs', top), { recursive: true });
  if (!mountedAt(f.mnt)) return; // not running: the next build links it
  await must(`making /${top} the node's own`, 'nsenter', [`--mount=${f.mnt}`, '--', 'bash', '-c', claimTopScript(nodeDir, top)]);
}

/** Removes every namespace, link, rule and claim of a cluster. */
export async function teardownCluster(clusterDir: string, ranks: number[], nodeDir: (rank: number) => string): Promise<void> {
  const rec = readRecord(clusterDir);
  if (!rec) return;
  for (const r of ranks) await releaseNodeNamespaces(nodeDir(r));
  if (rec.subnet !== undefined) {
    await removeNetwork(rec.subnet, [...new Set([...ranks, ...Object.keys(rec.ips).map(Number)])]);
    releaseSubnet(rec.subnet, clusterDir);
  }
  rmSync(recordPath(clusterDir), { force: true });
}

async function releaseNodeNamespaces(nodeDir: string): Promise<void> {
  const f = nsFiles(nodeDir);
  for (const p of [f.mnt, f.uts]) {
    if (mountedAt(p)) await run('umount', [p]);
    rmSync(p, { force: true });
  }
  rmSync(f.owner, { force: true });
}

async function cleanStaleSubnet(index: number): Promise<void> {
  await removeNetwork(index, ranksOnMachine(index));
}

/**
 * Removes what clusters whose directory is gone left on the machine (a home deleted without
 * `down`, a daemon killed mid-teardown): namespace files and subnet claims. Cheap; run at start.
 */
export async function sweepLeftovers(): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync(NS_DIR);
  } catch {
    /* nothing was ever isolated here */
  }
  for (const n of names.filter((x) => x.endsWith('.owner'))) {
    let owner = '';
    try {
      owner = readFileSync(join(NS_DIR, n), 'utf8');
    } catch {
      continue;
    }
    if (owner && !existsSync(owner)) await releaseNodeNamespaces(owner);
  }
  await sweepStaleClaims(cleanStaleSubnet);
}

/** Whether a node's network namespace is still there (it goes away only with teardown or a reboot). */
export function nodeNetAlive(rec: IsolationRecord, rank: number): boolean {
  return rec.subnet === undefined || netnsExists(netnsName(rec.subnet, rank));
}

export { subnetOf };
export const nodeHostPath = (nodeDir: string, dest: string) => hostPathOf(nodeDir, dest);
export const destinationTop = topOf;
export { destinationProblem as isolatedDestinationProblem };
