// SYNC_WORKDIR and SYNC_FILE_MOUNTS: tar streams extracted by `tar` on every node, in parallel.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { NodeInfo, Provider } from '../../providers/types.js';
import type { LocalFileMount } from '../../spec/types.js';
import { UserError } from '../../util/errors.js';
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

/** Where a mount's destination lands on a node; `~/x` and relative paths are under the node's home. */
export function mountDestination(provider: Provider, dest: string): string {
  if (dest.startsWith('/')) {
    if (provider.name === 'local') {
      throw new UserError(
        `file_mounts: absolute destination '${dest}' is not supported on the local infra (nodes share this machine); use a path under ~/ instead`,
      );
    }
    return dest;
  }
  const rel = posix.normalize(dest === '~' ? '.' : dest.startsWith('~/') ? dest.slice(2) : dest);
  // A local node's home is a directory of this machine: `~/../..` would write outside it.
  if (provider.name === 'local' && (rel === '..' || rel.startsWith('../'))) {
    throw new UserError(`file_mounts: destination '${dest}' leaves the node's home directory; on the local infra use a path under ~/`);
  }
  return rel;
}

export async function syncFileMounts(
  provider: Provider,
  cluster: string,
  nodes: NodeInfo[],
  mounts: LocalFileMount[],
  onProgress: (msg: string) => void,
): Promise<void> {
  for (const m of mounts) {
    const dest = mountDestination(provider, m.dest);
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
