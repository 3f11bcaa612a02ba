// FUSE mounts (bucket mounts) under a local node's directory. Removing a node directory must never
// reach into a live mount — `rm -r` through a bucket mount deletes the bucket's objects — and a
// mount whose rclone was SIGKILLed (a preempted node) cannot even be listed. So whatever is still
// mounted under a directory is detached first.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const prefix = dir.replace(/\/+$/, '');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map(decode)
    .filter((p) => p === prefix || p.startsWith(prefix + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Lazily detaches every mount under `dir` (fusermount3, fusermount, then umount). */
export async function detachMountsUnder(dir: string): Promise<void> {
  for (const p of mountsUnder(dir)) {
    for (const [cmd, args] of [['fusermount3', ['-uz', p]], ['fusermount', ['-uz', p]], ['umount', ['-l', p]]] as const) {
      try {
        await run(cmd, [...args]);
        break;
      } catch {
        /* try the next tool */
      }
    }
  }
}
