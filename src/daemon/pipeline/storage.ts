// Bucket file_mounts in the launch pipeline, and what stop / start / down do with them.
//   prepareStorage  (before PROVISION) every bucket checked, created and filled from its local
//                   source by the daemon; a problem is one line naming the mount, before any node
//   applyStorage    (SYNC_FILE_MOUNTS) on every node over its Transport: tools, credentials, COPY, MOUNT
//   unmountStorage  (stop, down) MOUNT_CACHED uploads flushed, everything unmounted
//   remountStorage  (start) the mounts again, credentials rewritten from the daemon's environment
//   releaseStorage  (after down) buckets aloft created with persistent: false and no other user go
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import type { StorageRecord } from '../../protocol/model.js';
import { LocalTransport } from '../../providers/local/transport.js';
import type { NodeInfo, Provider, Transport } from '../../providers/types.js';
import type { StorageConfig } from '../../spec/config.js';
import type { StorageFileMount, Task } from '../../spec/types.js';
import { defaultStoreFor, resolveAccess, type StoreAccess } from '../../storage/access.js';
import { BucketAccessError, bucketClient, type BucketClient } from '../../storage/buckets.js';
import { checkTools, copyIn, installTools, mount, unmountAll, writeCredentials, type ToolNeeds } from '../../storage/node.js';
import type { MountPlan } from '../../storage/plan.js';
import { rcloneSection, remoteName, remotePath } from '../../storage/rclone.js';
import { bucketUrl, storeByName } from '../../storage/stores.js';
import { UserError, errorMessage } from '../../util/errors.js';
import { homePaths } from '../../util/paths.js';
import type { DaemonContext } from '../context.js';
import { listFiles } from './pack.js';
import { mountDestination } from './sync.js';

export interface PreparedStorage {
  mounts: MountPlan[];
  /** store name → access, for the nodes' rclone.conf (held in memory only) */
  accesses: Map<string, StoreAccess>;
}

async function storageConfig(home: string): Promise<StorageConfig | undefined> {
  const { loadConfig } = await import('../../spec/config.js');
  return loadConfig(homePaths(home).config).storage;
}

/** A session of bucket clients, one per store. */
class Clients {
  private readonly clients = new Map<string, Promise<BucketClient>>();
  readonly accesses = new Map<string, StoreAccess>();
  constructor(private readonly config: StorageConfig | undefined) {}

  async access(store: string): Promise<StoreAccess> {
    let a = this.accesses.get(store);
    if (!a) {
      a = await resolveAccess(store, this.config);
      this.accesses.set(store, a);
    }
    return a;
  }

  async client(store: string): Promise<BucketClient> {
    let c = this.clients.get(store);
    if (!c) {
      c = this.access(store).then(bucketClient);
      this.clients.set(store, c);
    }
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) (await c.catch(() => undefined))?.close();
  }
}

/** What a node needs for these mounts (and a git workdir). */
export function toolNeeds(mounts: Array<{ mode: string }>, git: boolean): ToolNeeds {
  return { rclone: mounts.length > 0, fuse: mounts.some((m) => m.mode !== 'COPY'), git };
}

/**
 * The local infra's nodes are this machine: aloft does not install system packages on the user's
 * own machine, so what is missing is reported here, before anything is provisioned.
 */
export async function checkLocalTools(needs: ToolNeeds): Promise<void> {
  if (!needs.rclone && !needs.git) return;
  const r = await checkTools(new LocalTransport(tmpdir()), needs);
  const what = needs.git && !needs.rclone ? 'git workdirs need' : 'bucket file_mounts need';
  if (r.noFuseDevice) throw new UserError(`${what} FUSE, and this machine has no /dev/fuse (the local infra's nodes are this machine)`);
  if (r.missing.length) {
    throw new UserError(
      `${what} ${r.missing.join(', ')} on this machine (the local infra's nodes are this machine; aloft does not install system packages here): install with \`sudo apt-get install ${r.missing.join(' ')}\` (Debian/Ubuntu) or your package manager`,
    );
  }
}

function mountError(m: StorageFileMount, why: string): UserError {
  return new UserError(`${m.where ? `${m.where}: ` : ''}file_mounts: ${m.dest}: ${why}`, 'STORAGE');
}

/**
 * Checks every bucket mount of the task, creates the buckets `name:` asks for, and uploads local
 * sources into them. Throws one line naming the mount on the first problem.
 */
export async function prepareStorage(
  ctx: DaemonContext,
  task: Task,
  o: { cluster: string; cloud: string; provider: Provider; progress: (m: string) => void },
): Promise<PreparedStorage | undefined> {
  const mounts = task.storageMounts ?? [];
  if (mounts.length === 0) return undefined;
  const config = await storageConfig(ctx.home);
  const clients = new Clients(config);
  const plans: MountPlan[] = [];
  try {
    for (const m of mounts) {
      let path: string;
      try {
        path = await mountDestination(o.provider, m.dest, o.cluster);
      } catch (err) {
        throw mountError(m, errorMessage(err).replace(/^file_mounts: /, ''));
      }
      const storeName = m.store ?? defaultStoreFor(o.cloud, config);
      if (!storeName) {
        throw mountError(m, `no store to put bucket '${m.bucket}' in: add \`store: s3\` (or gcs, r2, ...) or set storage.default_store in config.yaml`);
      }
      const store = storeByName(storeName)!;
      const url = bucketUrl(store, m.bucket, m.prefix);
      let client: BucketClient;
      try {
        client = await clients.client(store.name);
      } catch (err) {
        throw mountError(m, errorMessage(err));
      }
      let state;
      try {
        state = await client.check(m.bucket, m.prefix);
      } catch (err) {
        if (err instanceof BucketAccessError) throw mountError(m, `bucket ${bucketUrl(store, m.bucket)} cannot be read: ${err.message}`);
        throw mountError(m, `cannot reach ${store.name}: ${errorMessage(err)}`);
      }
      if (!state.exists) {
        if (!m.named) throw mountError(m, `bucket ${bucketUrl(store, m.bucket)} does not exist`);
        if (m.mode === 'COPY' && !m.upload) throw mountError(m, `bucket ${bucketUrl(store, m.bucket)} does not exist, and mode COPY needs something to copy (a \`source:\`)`);
      }
      let object = false;
      if (m.shorthand && m.prefix) {
        object = await client.isObject(m.bucket, m.prefix);
        if (!object && !state.hasObjects) throw mountError(m, `${url}: no such object or prefix`);
      }
      if (!state.exists || m.upload) await fillBucket(ctx, client, m, store.name, state.exists, o);
      const rec = ctx.store.getStorage(m.bucket, store.name);
      if (rec && !rec.clusters.includes(o.cluster)) ctx.store.putStorage({ ...rec, clusters: [...rec.clusters, o.cluster], persistent: m.persistent });
      plans.push({
        dest: m.dest,
        path,
        mode: m.mode,
        store: store.name,
        bucket: m.bucket,
        prefix: m.prefix,
        ...(state.region && state.region !== clients.accesses.get(store.name)?.region ? { region: state.region } : {}),
        ...(object ? { object } : {}),
        readOnly: m.readOnly,
        rcloneFlags: m.rcloneFlags,
        url,
      });
    }
  } finally {
    await clients.close();
  }
  return { mounts: plans, accesses: clients.accesses };
}

/** Creates a `name:` bucket that does not exist (recorded for `aloft storage`) and uploads the local source. */
async function fillBucket(
  ctx: DaemonContext,
  client: BucketClient,
  m: StorageFileMount,
  store: string,
  exists: boolean,
  o: { cluster: string; progress: (m: string) => void },
): Promise<void> {
  const url = bucketUrl(storeByName(store)!, m.bucket);
  let rec = ctx.store.getStorage(m.bucket, store);
  if (!exists) {
    o.progress(`creating bucket ${url}`);
    try {
      await client.create(m.bucket);
    } catch (err) {
      throw mountError(m, `cannot create bucket ${url}: ${errorMessage(err)}`);
    }
    const now = Date.now();
    rec = ctx.store.putStorage({
      name: m.bucket,
      store,
      url,
      ...(m.upload ? { source: m.upload.paths.join(', ') } : {}),
      status: m.upload ? 'UPLOADING' : 'READY',
      persistent: m.persistent,
      createdAt: now,
      updatedAt: now,
      clusters: [o.cluster],
    });
  }
  if (!m.upload) return;
  // one directory's contents at the bucket's root, or (a list) each path under its own name
  const files = m.upload.paths.flatMap((p) => {
    const name = basename(p);
    if (statSync(p).isFile()) return [{ key: name, abs: p, size: statSync(p).size }];
    const under = m.upload!.list ? `${name}/` : '';
    return listFiles(p).map((f) => ({ key: `${under}${f.rel}`, abs: f.abs, size: f.size }));
  });
  const total = files.reduce((n, f) => n + f.size, 0);
  o.progress(`uploading ${m.upload.paths.join(', ')} to ${url}: ${files.length} files, ${formatMiB(total)}`);
  if (rec) rec = ctx.store.putStorage({ ...rec, status: 'UPLOADING' });
  let lastReport = Date.now();
  try {
    await client.upload(m.bucket, files, (done, bytes) => {
      if (Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        o.progress(`uploading to ${url}: ${done}/${files.length} files, ${formatMiB(bytes)}`);
      }
    });
  } catch (err) {
    if (rec) ctx.store.putStorage({ ...rec, status: 'UPLOAD_FAILED', statusReason: errorMessage(err) });
    throw mountError(m, `uploading ${m.upload.paths.join(', ')} to ${url} failed: ${errorMessage(err)}`);
  }
  if (rec) ctx.store.putStorage({ ...rec, status: 'READY', statusReason: undefined });
}

function formatMiB(n: number): string {
  return n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/**
 * rclone.conf for these mounts on `cluster`'s nodes: one section per store and region, each
 * endpoint as the nodes reach it (a local node with its own network reaches an S3 server on this
 * machine's 127.0.0.1 at its gateway: Provider.nodeUrl). The daemon's own clients keep the endpoint.
 */
function rcloneConf(mounts: MountPlan[], accesses: Map<string, StoreAccess>, provider: Provider, cluster: string): string {
  const sections = new Map<string, string>();
  for (const m of mounts) {
    const a = accesses.get(m.store);
    if (!a) continue;
    const onNode = a.endpoint && provider.nodeUrl ? { ...a, endpoint: provider.nodeUrl(cluster, a.endpoint) } : a;
    sections.set(remoteName(a, m.region ?? a.region), rcloneSection(onNode, m.region ?? a.region));
  }
  return [...sections.values()].join('\n');
}

function nodeSource(m: MountPlan, accesses: Map<string, StoreAccess>): string {
  const a = accesses.get(m.store)!;
  return remotePath(remoteName(a, m.region ?? a.region), m.bucket, m.prefix);
}

/** Makes sure a node has what it needs: installed with its package manager, except on the local infra. */
export async function ensureNodeTools(provider: Provider, t: Transport, rank: number, needs: ToolNeeds, progress: (m: string) => void): Promise<void> {
  const r = await checkTools(t, needs);
  if (r.noFuseDevice) {
    throw new UserError(
      `node ${rank} has no /dev/fuse: MOUNT and MOUNT_CACHED need FUSE (a Kubernetes pod needs /dev/fuse and the SYS_ADMIN capability, or privileged: true); use mode: COPY there`,
    );
  }
  if (r.missing.length === 0) return;
  if (provider.name === 'local') {
    throw new UserError(`this machine lacks ${r.missing.join(', ')} (the local infra's nodes are this machine): install with \`sudo apt-get install ${r.missing.join(' ')}\``);
  }
  progress(`node ${rank}: installing ${r.missing.join(', ')} (missing on the node)`);
  const pm = await installTools(t, r.missing);
  progress(`node ${rank}: installed ${r.missing.join(', ')} with ${pm}`);
}

/** SYNC_FILE_MOUNTS for buckets: on every node in parallel, COPY (bucket → node directly) and MOUNT. */
export async function applyStorage(
  ctx: DaemonContext,
  provider: Provider,
  cluster: string,
  nodes: NodeInfo[],
  prepared: PreparedStorage,
  progress: (m: string) => void,
): Promise<void> {
  const earlier = (ctx.store.getInternal(cluster).storage ?? []).filter((e) => !prepared.mounts.some((m) => m.dest === e.dest));
  // the conf keeps working for mounts of an earlier launch still in place
  const config = await storageConfig(ctx.home);
  for (const e of earlier) if (!prepared.accesses.has(e.store)) prepared.accesses.set(e.store, await resolveAccess(e.store, config).catch(() => undefined as never));
  const conf = rcloneConf([...prepared.mounts, ...earlier], prepared.accesses, provider, cluster);
  const needs = toolNeeds(prepared.mounts, false);
  await Promise.all(
    nodes.map(async (n) => {
      const t = provider.transport(cluster, n);
      await ensureNodeTools(provider, t, n.rank, needs, progress);
      await writeCredentials(t, conf);
      for (const m of prepared.mounts) {
        const started = Date.now();
        const source = nodeSource(m, prepared.accesses);
        try {
          if (m.mode === 'COPY') await copyIn(t, { path: m.path, mode: m.mode, source, ...(m.object ? { object: true } : {}) });
          else for (const w of await mount(t, { path: m.path, url: m.url, mode: m.mode, source, readOnly: m.readOnly, rcloneFlags: m.rcloneFlags })) progress(`node ${n.rank}: ${w}`);
        } catch (err) {
          throw new UserError(`file_mounts: ${m.dest}: ${m.mode} ${m.url} on node ${n.rank} failed: ${errorMessage(err).replace(/^[A-Z_]+ \S+ → \S+: /, '')}`);
        }
        if (n.rank === 0) progress(`${m.mode} ${m.url} → ${m.dest}${m.mode === 'COPY' ? ` (${((Date.now() - started) / 1000).toFixed(1)}s)` : ''}`);
      }
    }),
  );
  ctx.store.setInternal(cluster, { storage: [...earlier, ...prepared.mounts] });
}

/** start: the cluster's mounts again (COPY data stayed on the nodes' disks). */
export async function remountStorage(ctx: DaemonContext, provider: Provider, cluster: string, nodes: NodeInfo[], progress: (m: string) => void): Promise<void> {
  const mounts = ctx.store.getInternal(cluster).storage ?? [];
  if (mounts.length === 0) return;
  const config = await storageConfig(ctx.home);
  const accesses = new Map<string, StoreAccess>();
  for (const m of mounts) if (!accesses.has(m.store)) accesses.set(m.store, await resolveAccess(m.store, config));
  const conf = rcloneConf(mounts, accesses, provider, cluster);
  await Promise.all(
    nodes.map(async (n) => {
      const t = provider.transport(cluster, n);
      await writeCredentials(t, conf);
      for (const m of mounts.filter((x) => x.mode !== 'COPY')) {
        await mount(t, { path: m.path, url: m.url, mode: m.mode, source: nodeSource(m, accesses), readOnly: m.readOnly, rcloneFlags: m.rcloneFlags });
        if (n.rank === 0) progress(`${m.mode} ${m.url} → ${m.dest}`);
      }
    }),
  );
}

/** stop / down: MOUNT_CACHED uploads first (bounded), then every mount undone. Never fails the caller. */
export async function unmountStorage(ctx: DaemonContext, provider: Provider, cluster: string): Promise<void> {
  const internal = ctx.store.getInternal(cluster);
  const mounts = internal.storage ?? [];
  if (mounts.length === 0) return;
  const flush = mounts.some((m) => m.mode === 'MOUNT_CACHED');
  await Promise.all(
    (internal.nodes ?? []).map(async (n) => {
      try {
        const problems = await unmountAll(provider.transport(cluster, n), { flush });
        if (problems) ctx.log.warn({ cluster, rank: n.rank, problems }, 'unmounting buckets');
      } catch (err) {
        ctx.log.warn({ cluster, rank: n.rank, err: errorMessage(err) }, 'unmounting buckets failed');
      }
    }),
  );
}

/** After down: the cluster no longer uses any bucket; buckets aloft made with persistent: false and now unused are deleted. */
export async function releaseStorage(ctx: DaemonContext, cluster: string): Promise<void> {
  const unused: StorageRecord[] = [];
  for (const rec of ctx.store.listStorage()) {
    if (!rec.clusters.includes(cluster)) continue;
    const next = ctx.store.putStorage({ ...rec, clusters: rec.clusters.filter((c) => c !== cluster) });
    if (!next.persistent && next.clusters.length === 0) unused.push(next);
  }
  for (const rec of unused) {
    try {
      await deleteBucket(ctx, rec);
    } catch (err) {
      ctx.store.notice(`bucket ${rec.url} (persistent: false) could not be deleted: ${errorMessage(err)}; see \`aloft storage ls\``, 'warn', cluster);
    }
  }
}

/** Deletes a bucket aloft created (objects, then the bucket) and its record. */
export async function deleteBucket(ctx: DaemonContext, rec: StorageRecord): Promise<void> {
  const clients = new Clients(await storageConfig(ctx.home));
  try {
    const client = await clients.client(rec.store);
    await client.deleteBucket(rec.name);
    ctx.store.removeStorage(rec.name, rec.store);
  } catch (err) {
    ctx.store.putStorage({ ...rec, status: 'DELETE_FAILED', statusReason: errorMessage(err) });
    throw err;
  } finally {
    await clients.close();
  }
}
