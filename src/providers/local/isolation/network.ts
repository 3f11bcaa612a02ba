// Node addresses: each isolated local cluster has a bridge on this machine (the host is .1 on it)
// and each node a network namespace joined to it by a veth pair, so nodes reach each other and
// this machine reaches every node (a replica's IP:port is reachable from the daemon's load
// balancer), and fixed ports never collide between nodes. Traffic leaving the cluster is
// masqueraded behind the host (nft or iptables), which is how a job keeps the internet access the
// host has. The host's loopback services answer on the gateway address: a connection from the
// bridge to the gateway is DNATed to 127.0.0.1, which the kernel routes only with route_localnet on
// for the bridge (conntrack maps the replies back to the gateway), so MinIO, a git server or a
// model server bound to 127.0.0.1 here is at http://GATEWAY:PORT from a node (the daemon rewrites
// the URLs it hands nodes: Provider.nodeUrl). Every name derives from the subnet index, so
// teardown — or the cleanup of a stale claim — finds everything without any other record.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { must, run } from './commands.js';
import { subnetOf, type Subnet } from './subnets.js';

export const bridgeName = (index: number) => `aloft-b${index}`;
/** Both the namespace (/run/netns/NAME, so `ip netns exec` works for debugging) and the host end of its veth. */
export const netnsName = (index: number, rank: number) => `aloft-${index}-${rank}`;

const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);
export const netnsExists = (name: string) => existsSync(`/run/netns/${name}`);

/** Bridge, namespaces and veth pairs for these ranks (what exists already is kept). */
export async function createLinks(s: Subnet, ranks: number[]): Promise<void> {
  const br = bridgeName(s.index);
  const lines: string[] = [];
  if (!linkExists(br)) lines.push(`link add ${br} type bridge`, `addr add ${s.gateway}/24 dev ${br}`, `link set ${br} up`);
  for (const r of ranks) {
    const ns = netnsName(s.index, r);
    if (!netnsExists(ns)) lines.push(`netns add ${ns}`);
    if (!linkExists(ns)) lines.push(`link add ${ns} type veth peer name eth0 netns ${ns}`, `link set ${ns} master ${br} up`);
  }
  if (lines.length) await must('setting up node network', 'ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
  allowLocalnet(br);
}

/**
 * Lets packets from the bridge be routed to 127.0.0.0/8 (the DNAT to this machine's loopback);
 * off by default, as such packets are martians. Set every time: an older cluster's bridge gets it
 * on its next start.
 */
function allowLocalnet(bridge: string): void {
  const path = `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;
  try {
    if (readFileSync(path, 'utf8').trim() !== '1') writeFileSync(path, '1\n');
  } catch (err) {
    throw new Error(`cannot let local nodes reach this machine's loopback (${path}): ${(err as Error).message}`);
  }
}

/** `ip -batch` lines run inside a node's namespace: its address and the host as its gateway. */
export function nodeAddressing(s: Subnet, address: string): string {
  return ['link set lo up', `addr replace ${address}/24 dev eth0`, 'link set eth0 up', `route replace default via ${s.gateway}`].join('\n') + '\n';
}

/**
 * Masquerading for the cluster's traffic that leaves this machine, forwarding allowed for it, and
 * the gateway address forwarded to this machine's loopback.
 */
export async function addNat(s: Subnet, backend: 'iptables' | 'nft'): Promise<void> {
  enableForwarding();
  const br = bridgeName(s.index);
  if (backend === 'nft') {
    const table = `table ip aloft-${s.index} {
  chain prerouting { type nat hook prerouting priority dstnat; iifname "${br}" ip daddr ${s.gateway} dnat to 127.0.0.1; }
  chain postrouting { type nat hook postrouting priority srcnat; ip saddr ${s.cidr} oifname != "${br}" masquerade; }
  chain forward { type filter hook forward priority filter; iifname "${br}" accept; oifname "${br}" accept; }
}
`;
    // (add + delete first: a table left by an earlier incarnation is replaced, in one process)
    const ruleset = `table ip aloft-${s.index}\ndelete table ip aloft-${s.index}\n${table}`;
    await must('setting up NAT for local nodes (nft)', 'nft', ['-f', '-'], { input: ruleset });
    return;
  }
  // iptables: the same rules, tagged with a comment so teardown deletes exactly these. FORWARD
  // accepts go first: a host with Docker has FORWARD's policy set to DROP.
  for (const rule of iptablesRules(s)) {
    await run('iptables', ['-t', rule.table, '-D', rule.chain, ...rule.spec]);
    await must('setting up NAT for local nodes (iptables)', 'iptables', ['-t', rule.table, rule.chain === 'FORWARD' ? '-I' : '-A', rule.chain, ...rule.spec]);
  }
}

function iptablesRules(s: Subnet): Array<{ table: string; chain: string; spec: string[] }> {
  const br = bridgeName(s.index);
  const tag = ['-m', 'comment', '--comment', `aloft-${s.index}`];
  return [
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', s.cidr, '!', '-o', br, '-j', 'MASQUERADE', ...tag] },
    { table: 'nat', chain: 'PREROUTING', spec: ['-i', br, '-d', s.gateway, '-j', 'DNAT', '--to-destination', '127.0.0.1', ...tag] },
    { table: 'filter', chain: 'FORWARD', spec: ['-i', br, '-j', 'ACCEPT', ...tag] },
    { table: 'filter', chain: 'FORWARD', spec: ['-o', br, '-j', 'ACCEPT', ...tag] },
  ];
}

/**
 * Routing between the bridge and the host's uplink needs IPv4 forwarding on, machine-wide (as
 * Docker and libvirt do); aloft turns it on and never back off (other software may rely on it).
 */
function enableForwarding(): void {
  const path = '/proc/sys/net/ipv4/ip_forward';
  try {
    if (readFileSync(path, 'utf8').trim() !== '1') writeFileSync(path, '1\n');
  } catch (err) {
    throw new Error(`cannot turn on IPv4 forwarding for local nodes: ${(err as Error).message}`);
  }
}

/** Removes a cluster's namespaces, links and rules; whatever is already gone is skipped. */
export async function removeNetwork(index: number, ranks: number[]): Promise<void> {
  const lines: string[] = [];
  for (const r of ranks) {
    const ns = netnsName(index, r);
    // The veth goes with its namespace; deleting the host end first does not wait for that.
    if (linkExists(ns)) lines.push(`link del ${ns}`);
    if (netnsExists(ns)) lines.push(`netns del ${ns}`);
  }
  if (linkExists(bridgeName(index))) lines.push(`link del ${bridgeName(index)}`);
  // -force: one line failing (a link gone meanwhile) does not stop the others.
  if (lines.length) await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
  await run('nft', ['delete', 'table', 'ip', `aloft-${index}`]);
  for (const rule of iptablesRules(subnetOf(index))) {
    // An iptables that is not installed answers ENOENT; one without these rules, code 1.
    while ((await run('iptables', ['-t', rule.table, '-D', rule.chain, ...rule.spec])).code === 0) {
      /* a rule added twice is deleted twice */
    }
  }
}

/** Ranks with a namespace of this subnet index on the machine (for cleaning a stale claim). */
export function ranksOnMachine(index: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < 253; r++) if (netnsExists(netnsName(index, r)) || linkExists(netnsName(index, r))) out.push(r);
  return out;
}
