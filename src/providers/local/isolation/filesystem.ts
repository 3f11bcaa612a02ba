// A node's own `/`: a mount namespace whose root is a small tmpfs holding bind mounts of this
// machine's top-level directories, so a node sees the machine's files as they are (its tools,
// your home, /tmp, the node directories) but
//   - top-level paths that do not exist here (/data, /checkpoints, /model) are the node's own:
//     symlinks to <node>/rootfs/<name>, on disk, created when a file mount or a job needs them
//     (SkyPilot's docs warn that mount destinations may be symlinks);
//   - /etc/hosts names the cluster's nodes, and the hostname is the node's.
// Nothing is created on the machine outside the node's directory. /tmp stays shared on purpose:
// on the local infra a job and you exchange files through it (a checkpoint path under /tmp works
// across a managed job's recoveries), and aloft's own sockets may live there.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { shellQuote } from '../../../util/shell.js';

/** Top-level directories of the machine a node must keep seeing: a mount cannot shadow them. */
const SYSTEM = new Set(['bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'libx32', 'nix', 'opt', 'proc', 'root', 'run', 'sbin', 'snap', 'sys', 'tmp', 'usr', 'var']);

export interface NodeRoot {
  nodeDir: string;
  hostname: string;
  /** host paths the node needs (cluster dir, agent bundle, node binary, sockets dir, your home): never shadowed */
  needs: string[];
  /** /etc/hosts lines naming the cluster's nodes */
  hosts: Array<{ ip: string; name: string }>;
}

export const ownDir = (nodeDir: string) => join(nodeDir, 'rootfs');

/** Where the node's tmpfs root is mounted (inside its namespace only) while it is built. */
const buildDir = (nodeDir: string) => join(nodeDir, 'agent', 'root');

function fstabPath(p: string): string {
  // fstab separates fields by whitespace: octal escapes, as getmntent(3) reads them.
  return p.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

const topOf = (p: string) => posix.normalize(p).split('/')[1] ?? '';

/**
 * Why an absolute file-mount destination cannot be a node's own path (undefined when it can).
 * `needs` are the host paths the node must keep seeing.
 */
export function destinationProblem(dest: string, needs: string[]): string | undefined {
  const d = posix.normalize(dest);
  const top = topOf(d);
  if (d === '/' || top === '') return `'${dest}' would replace the node's whole filesystem`;
  if (SYSTEM.has(top)) return `'${dest}' is inside /${top}, which local nodes share with this machine; mount to a path of its own (e.g. /data) or under ~/`;
  const kept = needs.find((n) => topOf(n) === top);
  if (kept) return `'${dest}' is inside /${top}, which holds ${kept} that the node needs; mount to a path of its own (e.g. /data) or under ~/`;
  return undefined;
}

/** The host path behind a node path that is the node's own (/data/x). */
export function hostPathOf(nodeDir: string, dest: string): string {
  return join(ownDir(nodeDir), posix.normalize(dest));
}

/**
 * The script that builds the node's root, run by `unshare --mount --uts` inside the new
 * namespaces (one bash process, a handful of commands: it is on the launch's critical path).
 */
export function buildRootScript(r: NodeRoot, extra = ''): string {
  const own = ownDir(r.nodeDir);
  const R = buildDir(r.nodeDir);
  mkdirSync(own, { recursive: true });
  mkdirSync(join(r.nodeDir, 'agent'), { recursive: true, mode: 0o700 });
  const owned = new Set(readdirSync(own));
  const dirs: string[] = [];
  const files: string[] = [];
  const links: Array<[string, string]> = [];
  const fstab: string[] = [];
  const bind = (src: string, dst: string, rec = false) => fstab.push(`${fstabPath(src)} ${fstabPath(dst)} none ${rec ? 'rbind' : 'bind'} 0 0`);
  const hostLinks: string[] = [];
  for (const name of readdirSync('/')) {
    if (owned.has(name)) continue;
    const p = `/${name}`;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) hostLinks.push(p);
    else if (st.isDirectory()) {
      dirs.push(name);
      bind(p, join(R, name), true);
    } else {
      files.push(name);
      bind(p, join(R, name));
    }
  }
  for (const name of owned) links.push([join(own, name), name]);
  const hosts = join(r.nodeDir, 'agent', 'hosts');
  writeFileSync(hosts, hostsFile(r));
  bind(hosts, join(R, 'etc', 'hosts'));
  const resolv = nodeResolvConf();
  if (resolv) bind(resolv, join(R, 'etc', 'resolv.conf'));
  const fstabFile = join(r.nodeDir, 'agent', 'root.fstab');
  writeFileSync(fstabFile, fstab.join('\n') + '\n');
  const q = shellQuote;
  mkdirSync(R, { recursive: true });
  // Few processes: this runs on every new node, on the launch's critical path.
  return [
    // A trace of the build in the node's agent dir: a failure here is otherwise hard to see.
    `exec 2>${q(join(r.nodeDir, 'agent', 'root.log'))}`,
    'set -ex',
    // (/proc, not hostname(1): one tool fewer to depend on)
    `echo ${q(r.hostname)} > /proc/sys/kernel/hostname`,
    extra,
    `mount -t tmpfs -o mode=0755 aloft-node ${q(R)}`,
    `cd ${q(R)}`,
    `mkdir ${dirs.map(q).join(' ')} .aloft-old`,
    files.length ? `touch ${files.map(q).join(' ')}` : '',
    // the machine's top-level symlinks (bin -> usr/bin, …) as they are, in one copy
    hostLinks.length ? `cp -P ${hostLinks.map(q).join(' ')} .` : '',
    ...links.map(([target, name]) => `ln -s ${q(target)} ${q(name)}`),
    `mount -a -T ${q(fstabFile)}`,
    'cd /',
    `pivot_root ${q(R)} ${q(join(R, '.aloft-old'))}`,
    'umount -l /.aloft-old',
    'rmdir /.aloft-old',
  ]
    .filter(Boolean)
    .join('\n');
}

function hostsFile(r: NodeRoot): string {
  let base = '';
  try {
    base = readFileSync('/etc/hosts', 'utf8');
  } catch {
    base = '127.0.0.1\tlocalhost\n';
  }
  const mine = r.hosts.map((h) => `${h.ip}\t${h.name}`).join('\n');
  return `${base.trimEnd()}\n# aloft: this cluster's nodes\n${mine}\n`;
}

/**
 * A machine whose resolver listens on its own loopback (systemd-resolved's 127.0.0.53) cannot
 * answer a node, which has a loopback of its own: the node reads the upstream list instead.
 */
function nodeResolvConf(): string | undefined {
  try {
    const conf = readFileSync('/etc/resolv.conf', 'utf8');
    const servers = [...conf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
    const upstream = '/run/systemd/resolve/resolv.conf';
    if (servers.length > 0 && servers.every((s) => s.startsWith('127.') || s === '::1') && existsSync(upstream)) return upstream;
  } catch {
    /* none */
  }
  return undefined;
}

/**
 * Shell commands, run inside a live node's mount namespace, that make `/<top>` the node's own
 * (a symlink into <node>/rootfs), shadowing a machine directory of that name if the node saw one.
 */
export function claimTopScript(nodeDir: string, top: string): string {
  const q = shellQuote;
  const target = join(ownDir(nodeDir), top);
  const p = `/${top}`;
  return [
    `[ "$(readlink ${q(p)} 2>/dev/null)" = ${q(target)} ] && exit 0`,
    `if mountpoint -q ${q(p)}; then umount -l ${q(p)}; fi`,
    `rmdir ${q(p)} 2>/dev/null || rm -f ${q(p)}`,
    `ln -s ${q(target)} ${q(p)}`,
  ].join('\n');
}

export { topOf };
