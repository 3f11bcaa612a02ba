// SYNC_WORKDIR and SYNC_FILE_MOUNTS: tar streams extracted by `tar` on every node, in parallel.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { NodeInfo, Provider } from '../../providers/types.js';
import type { LocalFileMount } from '../../spec/types.js';
import { UserError } from '../../util/errors.js';
import { errnoCode } from '../../util/process.js';
import { packPath, type PackStats } from './pack.js';

export const WORKDIR_ON_NODE = 'sky_workdir';

/**
 * Sends `source` (packed once per node) to every node. A packing failure fails the upload with
 * its own one-line reason (the upload's error would only say that `tar` saw a broken stream).
 */
async function sendPacked(provider: Provider, cluster: string, nodes: NodeInfo[], source: string, dest: string, as?: string): Promise<PackStats> {
  let last: PackStats | undefined;
  await Promise.all(
    nodes.map(async (n) => {
      const { stream, stats } = packPath(source, as ? { as } : {});
      let packError: unknown;
      stats.catch((err) => (packError = err));
      try {
        await provider.transport(cluster, n).upload(stream, dest);
      } catch (err) {
        // A broken pack breaks the upload too; its own reason is the one worth a line.
        stream.destroy();
        throw packError ?? err;
      }
      const s = await stats;
      last = s;
    }),
  );
  return last ?? { files: 0, bytes: 0, warnings: [] };
}

/** What a sync did, for progress lines: "12 files, 3.4 KiB" and a warning per skipped entry. */
export interface SyncSummary {
  text: string;
  warnings: string[];
}

export async function syncWorkdir(provider: Provider, cluster: string, nodes: NodeInfo[], workdir: string): Promise<SyncSummary> {
  try {
    const s = await sendPacked(provider, cluster, nodes, workdir, WORKDIR_ON_NODE);
    return { text: `${s.files} files, ${formatBytes(s.bytes)}`, warnings: s.warnings };
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`workdir: ${err.message}`);
    throw err;
  }
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
    let s: PackStats;
    try {
      s = statSync(m.source).isDirectory()
        ? await sendPacked(provider, cluster, nodes, m.source, dest)
        : await sendPacked(provider, cluster, nodes, m.source, posix.dirname(dest), posix.basename(dest));
    } catch (err) {
      throw err instanceof UserError || errnoCode(err) === 'ENOENT'
        ? new UserError(`file_mounts: ${m.dest}: ${errnoCode(err) === 'ENOENT' ? `${m.source}: no such file or directory` : (err as Error).message}`)
        : err;
    }
    for (const w of s.warnings) onProgress(`warning: ${w}`);
    onProgress(`mounted ${m.source} → ${m.dest}`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
