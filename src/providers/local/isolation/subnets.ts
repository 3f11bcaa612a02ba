// One /24 per isolated local cluster, from 10.212.0.0/14, claimed machine-wide: several daemons
// (one per ALOFT_HOME — a user's and every test's) share this machine's network, so a claim is a
// file /run/aloft/net/<index> naming its owner (the cluster's directory), created under a lock.
// A claim whose owner directory is gone (a home deleted without `down`, a crash) is stale: its
// leftovers are removed and the subnet is reused. Subnets that overlap an address or route of
// this machine, or a nameserver it uses, are skipped.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_DIR = '/run/aloft';
const CLAIMS = join(RUN_DIR, 'net');
const LOCK = join(CLAIMS, '.lock');
/** 10.212.0.0/14 holds 1024 /24s. */
const MAX_SUBNETS = 1024;

export interface Subnet {
  index: number;
  /** first three octets, e.g. "10.212.3" */
  prefix: string;
  /** the host's address on the cluster's bridge (the nodes' default route) */
  gateway: string;
  cidr: string;
}

export function subnetOf(index: number): Subnet {
  const prefix = `10.${212 + (index >> 8)}.${index & 255}`;
  return { index, prefix, gateway: `${prefix}.1`, cidr: `${prefix}.0/24` };
}

/** Address of a node: .2 for rank 0, .3 for rank 1, … (.1 is the host). */
export function nodeAddress(s: Subnet, rank: number): string {
  if (rank > 252) throw new Error(`an isolated local cluster has at most 253 nodes (rank ${rank})`);
  return `${s.prefix}.${rank + 2}`;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
}

/** IPv4 networks this machine already uses: routes (incl. connected subnets) and nameservers. */
function hostNetworks(): Array<{ net: number; mask: number }> {
  const out: Array<{ net: number; mask: number }> = [];
  try {
    // /proc/net/route: destination and mask as the bytes in memory (network order), in hex; read
    // little-endian they are the address as a number with the first octet highest.
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const le = (h: string) => (Buffer.from(h, 'hex').readUInt32LE(0) >>> 0);
      const dest = le(f[1]!);
      const mask = le(f[7]!);
      if (mask === 0) continue; // the default route overlaps everything by design
      out.push({ net: dest, mask });
    }
  } catch {
    /* no /proc: nothing to avoid */
  }
  try {
    for (const m of readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)) {
      out.push({ net: ipToInt(m[1]!), mask: 0xffffffff });
    }
  } catch {
    /* no resolver configured */
  }
  return out;
}

function overlaps(s: Subnet, used: Array<{ net: number; mask: number }>): boolean {
  const net = ipToInt(`${s.prefix}.0`);
  const mask = 0xffffff00;
  return used.some((u) => {
    const m = (u.mask & mask) >>> 0; // the shorter of the two prefixes
    return ((u.net & m) >>> 0) === ((net & m) >>> 0);
  });
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o755 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died mid-claim leaves the lock behind; claims take milliseconds.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 15_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* released meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function ownerOf(index: number): string | undefined {
  try {
    return readFileSync(join(CLAIMS, String(index)), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Claims a subnet for `owner` (a cluster directory). `cleanStale(index)` removes what a stale
 * claim's cluster left on the machine (links, namespaces, rules) before the subnet is reused.
 */
export function claimSubnet(owner: string, cleanStale: (index: number) => Promise<void>): Promise<Subnet> {
  return withLock(async () => {
    let used: Array<{ net: number; mask: number }> | undefined;
    for (let i = 0; i < MAX_SUBNETS; i++) {
      const holder = ownerOf(i);
      if (holder !== undefined) {
        if (holder === owner) return subnetOf(i);
        if (existsSync(holder)) continue;
        await cleanStale(i);
        used = undefined; // the stale cluster's bridge route is gone now
      }
      used ??= hostNetworks();
      if (overlaps(subnetOf(i), used)) continue;
      writeFileSync(join(CLAIMS, String(i)), owner, { mode: 0o644 });
      return subnetOf(i);
    }
    throw new Error(`no free subnet for local nodes in 10.212.0.0/14 (${MAX_SUBNETS} clusters); tear some down`);
  });
}

/** Gives a subnet back (only if `owner` still holds it). */
export function releaseSubnet(index: number, owner: string): void {
  if (ownerOf(index) === owner) rmSync(join(CLAIMS, String(index)), { force: true });
}

/**
 * Cleans and releases every claim whose owner directory is gone — under the claim lock, so a
 * claim another daemon is taking over at this moment is never swept from under it.
 */
export async function sweepStaleClaims(clean: (index: number) => Promise<void>): Promise<void> {
  if (!existsSync(CLAIMS)) return;
  await withLock(async () => {
    for (const n of readdirSync(CLAIMS).filter((x) => /^\d+$/.test(x))) {
      const owner = ownerOf(Number(n));
      if (owner === undefined || existsSync(owner)) continue;
      await clean(Number(n));
      rmSync(join(CLAIMS, n), { force: true });
    }
  });
}
