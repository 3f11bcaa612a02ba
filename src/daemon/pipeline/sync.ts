// SYNC_WORKDIR and SYNC_FILE_MOUNTS: tar streams extracted by `tar` on every node, in parallel.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { NodeInfo, Provider } from '../../providers/types.js';
import type { LocalFileMount } from '../../spec/types.js';
import { packPath } from './pack.js';

export const WORKDIR_ON_NODE = 'sky_workdir';

export async function syncWorkdir(provider: Provider, cluster: string, nodes: NodeInfo[], workdir: string): Promise<string> {
  let summary = '';
  await Promise.all(
    nodes.map(async (n) => {
      const { stream, stats } = packPath(workdir);
      await provider.transport(cluster, n).upload(stream, WORKDIR_ON_NODE);
      const s = await stats;
      summary = `${s.files} files, ${formatBytes(s.bytes)}`;
    }),
  );
  return summary;
}

/**
 * Where a mount's destination lands on a node: `~/x` under the node's home (a relative path),
 * an absolute path as it is — once the provider accepted it (checkMountDestination).
 */
export async function mountDestination(provider: Provider, dest: string, cluster?: string): Promise<string> {
  await provider.checkMountDestination?.(dest, cluster);
  if (dest.startsWith('/')) return dest;
  return posix.normalize(dest === '~' ? '.' : dest.startsWith('~/') ? dest.slice(2) : dest);
}

export async function syncFileMounts(
  provider: Provider,
  cluster: string,
  nodes: NodeInfo[],
  mounts: LocalFileMount[],
  onProgress: (msg: string) => void,
): Promise<void> {
  for (const m of mounts) {
    const dest = await mountDestination(provider, m.dest, cluster);
    const isDir = statSync(m.source).isDirectory();
    await Promise.all(
      nodes.map((n) => {
        const t = provider.transport(cluster, n);
        if (isDir) return t.upload(packPath(m.source).stream, dest);
        const dir = posix.dirname(dest);
        return t.upload(packPath(m.source, { as: posix.basename(dest) }).stream, dir);
      }),
    );
    onProgress(`mounted ${m.source} → ${m.dest}`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
