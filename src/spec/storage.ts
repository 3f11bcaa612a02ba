// file_mounts entries that are buckets → StorageFileMount. Follows SkyPilot's rules for which
// combinations of source / name / store / mode mean something, and says which rule was broken
// with the mount's position. Whether a bucket exists is the daemon's question (it has the
// credentials); everything knowable from the YAML alone is checked here.
import { existsSync, statSync } from 'node:fs';
import { basename, posix } from 'node:path';
import { didYouMean } from './errors.js';
import type { RawStorageMount } from './schema.js';
import type { StorageFileMount, StorageMode } from './types.js';
import type { Path, SourceDoc } from './yaml.js';
import {
  STORE_NAMES,
  UNSUPPORTED_STORES,
  bucketNameProblem,
  parseBucketUrl,
  splitUrl,
  storeByName,
  storeByScheme,
} from '../storage/stores.js';

export interface StorageContext {
  doc: SourceDoc;
  envs: Record<string, string>;
  substitute: (text: string) => string;
  resolveLocal: (text: string) => string;
  checkPaths: boolean;
}

const MODES: StorageMode[] = ['MOUNT', 'COPY', 'MOUNT_CACHED'];

/** SkyPilot's MOUNT_CACHED presets (`type:`), as rclone settings; config.mount_cached wins over them. */
const PRESETS: Record<string, Record<string, string | number | boolean>> = {
  MODEL_CHECKPOINT_RO: { vfs_read_chunk_streams: 16, vfs_read_chunk_size: '32M', read_only: true },
  MODEL_CHECKPOINT_RW: { vfs_read_chunk_streams: 16, vfs_read_chunk_size: '32M', transfers: 8 },
  DATASET_RO: { vfs_read_chunk_streams: 0, vfs_read_chunk_size: '8M', read_only: true },
  DATASET_RW: { vfs_read_chunk_streams: 0, vfs_read_chunk_size: '8M', transfers: 16 },
};

/** Is `text` a bucket URL aloft handles (s3://, gs://, r2://, ...)? */
export function isStoreUrl(text: string): boolean {
  const u = splitUrl(text);
  return !!u && !!storeByScheme(u.scheme);
}

/** The mount point: `/abs` or `~/...`; anything else is refused for buckets (SkyPilot's rule). */
function mountPoint(ctx: StorageContext, path: Path, rawDest: string): string {
  const d = ctx.substitute(rawDest).trim();
  if (!d) ctx.doc.fail(path, 'file_mounts: empty destination', 'key');
  if (!(d.startsWith('/') || d === '~' || d.startsWith('~/'))) {
    ctx.doc.fail(path, `file_mounts: ${d}: a bucket's mount point must be an absolute path (e.g. /${d.replace(/^\.?\/*/, '')} or ~/${d.replace(/^\.?\/*/, '')})`, 'key');
  }
  if (d === '/' || d === '~') ctx.doc.fail(path, `file_mounts: ${d}: a bucket cannot be mounted over ${d === '/' ? 'the root directory' : 'the home directory'}`, 'key');
  return d.startsWith('/') ? posix.normalize(d) : `~/${posix.normalize(d.slice(2))}`;
}

/** `DEST: s3://bucket/key` (SkyPilot copies the object or prefix onto the node). */
export function shorthandMount(ctx: StorageContext, path: Path, rawDest: string, src: string): StorageFileMount {
  const dest = mountPoint(ctx, path, rawDest);
  const url = ctx.substitute(src).trim();
  let ref;
  try {
    ref = parseBucketUrl(url);
  } catch (err) {
    ctx.doc.fail(path, `file_mounts: ${dest}: ${(err as Error).message}`);
  }
  return {
    kind: 'storage',
    dest,
    mode: 'COPY',
    store: ref.store.name,
    bucket: ref.bucket,
    prefix: ref.prefix,
    named: false,
    persistent: true,
    shorthand: true,
    readOnly: true,
    rcloneFlags: [],
    where: formatWhere(ctx.doc, path),
  };
}

function formatWhere(doc: SourceDoc, path: Path): string {
  const p = doc.pos(path, 'key');
  return `${p.file}:${p.line}:${p.col}`;
}

function text(ctx: StorageContext, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = ctx.substitute(String(v)).trim();
  return s === '' ? undefined : s;
}

/** `DEST: {name, source, store, mode, persistent, type, config}`. */
export function storageMount(ctx: StorageContext, path: Path, rawDest: string, raw: RawStorageMount): StorageFileMount {
  const { doc } = ctx;
  const dest = mountPoint(ctx, path, rawDest);
  const at = (k: string): Path => [...path, k];
  const fail: (k: string | undefined, reason: string) => never = (k, reason) => doc.fail(k ? at(k) : path, `file_mounts: ${dest}: ${reason}`, k ? 'value' : 'key');

  const modeText = text(ctx, raw.mode);
  let mode: StorageMode = 'MOUNT';
  if (modeText !== undefined) {
    const m = modeText.toUpperCase().replace(/-/g, '_') as StorageMode;
    if (!MODES.includes(m)) fail('mode', `unknown mode '${modeText}'${didYouMean(m, MODES)} (MOUNT, COPY or MOUNT_CACHED)`);
    mode = m;
  }

  const storeText = text(ctx, raw.store);
  let store: string | undefined;
  if (storeText !== undefined) {
    const lower = storeText.toLowerCase();
    if (lower in UNSUPPORTED_STORES) fail('store', `store '${storeText}' (${UNSUPPORTED_STORES[lower]}) is not supported yet`);
    if (!storeByName(lower)) fail('store', `unknown store '${storeText}'${didYouMean(lower, STORE_NAMES)} (aloft knows ${STORE_NAMES.join(', ')})`);
    store = lower;
  }

  const name = text(ctx, raw.name);
  if (name !== undefined && splitUrl(name)) {
    fail('name', `name '${name}' is a URL: a bucket that exists goes in \`source:\` (source: ${name}); \`name:\` names a bucket to use or create`);
  }

  let bucket: string | undefined;
  let prefix = raw._bucket_sub_path ? ctx.substitute(raw._bucket_sub_path).replace(/^\/+|\/+$/g, '') : '';
  let upload: StorageFileMount['upload'];
  const source = raw.source;
  if (Array.isArray(source)) {
    if (source.length === 0) fail('source', 'source is an empty list');
    const paths = source.map((s, i) => localSource(ctx, [...path, 'source', i], dest, s, true));
    const seen = new Map<string, string>();
    for (const p of paths) {
      const b = basename(p);
      if (seen.has(b)) fail('source', `${seen.get(b)} and ${p} would both land at ${b} in the bucket`);
      seen.set(b, p);
    }
    upload = { paths, list: true };
  } else if (source !== null && source !== undefined && String(source).trim() !== '') {
    const src = ctx.substitute(String(source)).trim();
    const u = splitUrl(src);
    if (u) {
      if (!storeByScheme(u.scheme)) fail('source', `'${u.scheme}://' is not a store aloft knows (s3://, gs://, r2://, nebius://, cw://, vastdata://, oci://)`);
      if (name !== undefined) fail('name', `give either \`name:\` (a bucket to use or create) or a bucket URL in \`source:\`, not both (the bucket is ${src})`);
      const ref = parseBucketUrl(src);
      if (store !== undefined && store !== ref.store.name) fail('store', `store '${store}' does not match the source ${src} (a ${ref.store.name} bucket)`);
      store = ref.store.name;
      bucket = ref.bucket;
      prefix = [ref.prefix, prefix].filter(Boolean).join('/');
    } else {
      upload = { paths: [localSource(ctx, at('source'), dest, src, false)], list: false };
    }
  }

  if (upload && name === undefined) fail(undefined, 'a local `source:` is uploaded into a bucket: add `name:` (the bucket to create or reuse)');
  if (bucket === undefined) {
    if (name === undefined) fail(undefined, 'needs `name:` (a bucket to use or create) or `source:` (a bucket URL or a local directory)');
    bucket = name;
  }
  const problem = bucketNameProblem(bucket);
  if (problem) fail(name !== undefined ? 'name' : 'source', `'${bucket}' is not a valid bucket name: ${problem}`);

  const readOnly = raw.config?.mount?.read_only ?? raw.config?.mount_cached?.read_only;
  const flags = mode === 'MOUNT_CACHED' ? cachedFlags(ctx, at('type'), dest, raw) : [];
  return {
    kind: 'storage',
    dest,
    mode,
    ...(store !== undefined ? { store } : {}),
    bucket,
    prefix,
    ...(upload ? { upload } : {}),
    named: name !== undefined,
    persistent: raw.persistent ?? true,
    shorthand: false,
    readOnly: readOnly === true || (mode === 'MOUNT_CACHED' && flags.includes('--read-only')),
    rcloneFlags: flags.filter((f) => f !== '--read-only'),
    where: formatWhere(doc, path),
  };
}

function localSource(ctx: StorageContext, path: Path, dest: string, raw: string, inList: boolean): string {
  const src = ctx.substitute(raw).trim();
  if (!src) ctx.doc.fail(path, `file_mounts: ${dest}: empty source path`);
  if (splitUrl(src)) ctx.doc.fail(path, `file_mounts: ${dest}: a source list holds local paths, not bucket URLs (${src})`);
  const abs = ctx.resolveLocal(src);
  if (!ctx.checkPaths) return abs;
  if (!existsSync(abs)) ctx.doc.fail(path, `file_mounts: ${dest}: local source ${abs} does not exist`);
  if (!inList && !statSync(abs).isDirectory()) {
    ctx.doc.fail(path, `file_mounts: ${dest}: local source ${abs} is a file; a bucket source is a directory (or a list: source: [${src}])`);
  }
  return abs;
}

/** rclone flags for MOUNT_CACHED from `type:` and config.mount_cached (the latter wins). */
function cachedFlags(ctx: StorageContext, typePath: Path, dest: string, raw: RawStorageMount): string[] {
  const typeText = text(ctx, raw.type);
  let settings: Record<string, string | number | boolean> = {};
  if (typeText !== undefined) {
    const t = typeText.toUpperCase();
    const preset = PRESETS[t];
    if (!preset) ctx.doc.fail(typePath, `file_mounts: ${dest}: unknown type '${typeText}'${didYouMean(t, Object.keys(PRESETS))} (${Object.keys(PRESETS).join(', ')})`);
    settings = { ...preset };
  }
  for (const [k, v] of Object.entries(raw.config?.mount_cached ?? {})) if (v !== undefined) settings[k] = v;
  const out: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    const flag = `--${k.replace(/_/g, '-')}`;
    if (typeof v === 'boolean') {
      if (v) out.push(flag);
    } else out.push(`${flag}=${v}`);
  }
  // sorted: the same settings give the same flags whichever way they were written
  return out.sort();
}
