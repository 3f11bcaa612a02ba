// One validated task document → Task: envs and secrets resolved (null values must come from
// --env/--secret), ${VAR} substituted into workdir and file_mounts, local paths made absolute and
// checked, resources normalized.
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, posix, resolve } from 'node:path';
import type { RawTask } from './schema.js';
import { MAX_ENVS } from '../protocol/limits.js';
import { SpecError } from './errors.js';
import { ENV_NAME_RE } from './patterns.js';
import { normalizeResources } from './resources.js';
import { normalizeService, serviceTaskProblems } from './service.js';
import { isStoreUrl, shorthandMount, storageMount, type StorageContext } from './storage.js';
import { isUnsupportedMount } from './unsupported.js';
import type { GitWorkdir, LocalFileMount, StorageFileMount, Task } from './types.js';
import type { SourceDoc } from './yaml.js';

export interface NormalizeOptions {
  envOverrides: Record<string, string>;
  secretOverrides: Record<string, string>;
  /** directory that relative workdir / file-mount sources resolve against (the current directory) */
  baseDir: string;
  /** where to look when a relative path does not exist under baseDir: the YAML's own folder */
  fallbackDir?: string;
  /** lines for the user (a path taken from the fallback folder) */
  notes?: string[];
  allowUnsupported: boolean;
  checkPaths: boolean;
  /** see ParseOptions.requireService */
  requireService?: boolean;
}

const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** SkyPilot-style: `${VAR}` / `$VAR` for vars the task defines; anything else is left as written. */
export function substituteEnvs(text: string, envs: Record<string, string>): string {
  return text.replace(VAR_RE, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return Object.prototype.hasOwnProperty.call(envs, name) ? envs[name]! : whole;
  });
}

export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return p;
}

export function resolveLocalPath(p: string, baseDir: string): string {
  const e = expandHome(p.trim());
  return isAbsolute(e) ? resolve(e) : resolve(baseDir, e);
}

/**
 * A relative path resolves from the current directory, as in SkyPilot. When nothing is there
 * but the path exists next to the YAML, that one is used, with a note saying so: a YAML written
 * to be run from its own folder still runs from elsewhere, and nothing SkyPilot would accept
 * changes meaning.
 */
function resolveSource(doc: SourceDoc, path: (string | number)[], p: string, what: string, opts: NormalizeOptions): string {
  const abs = resolveLocalPath(p, opts.baseDir);
  if (existsSync(abs) || !opts.fallbackDir || isAbsolute(expandHome(p.trim()))) return abs;
  const beside = resolveLocalPath(p, opts.fallbackDir);
  if (beside === abs || !existsSync(beside)) return abs;
  const pos = doc.pos(path, 'value');
  opts.notes?.push(`${pos.file}:${pos.line}:${pos.col}: ${what}: ${p.trim()} is not in the current directory; using ${beside} (next to the YAML)`);
  return beside;
}

function resolveVars(
  doc: SourceDoc,
  section: 'envs' | 'secrets',
  raw: Record<string, unknown> | undefined,
  overrides: Record<string, string>,
): Record<string, string> {
  const flag = section === 'envs' ? '--env' : '--secret';
  const noun = section === 'envs' ? 'env' : 'secret';
  const out: Record<string, string> = {};
  const entries = Object.entries(raw ?? {});
  if (entries.length > MAX_ENVS) doc.fail([section], `${section}: ${entries.length} variables; a task may set at most ${MAX_ENVS} (the limit)`, 'key');
  for (const [key, value] of entries) {
    if (!ENV_NAME_RE.test(key)) {
      doc.fail([section, key], `${section}: '${key}' is not a valid environment variable name (letters, digits and _, not starting with a digit)`, 'key');
    }
    if (Object.prototype.hasOwnProperty.call(overrides, key)) out[key] = overrides[key]!;
    else if (value === null || value === undefined) doc.fail([section, key], `${noun} '${key}' has no value; pass ${flag} ${key}=VALUE`, 'key');
    else out[key] = doc.sourceText([section, key]) ?? String(value);
  }
  // like SkyPilot, a flag may also add a variable the YAML does not declare
  for (const [k, v] of Object.entries(overrides)) if (!(k in out)) out[k] = v;
  if (Object.keys(out).length > MAX_ENVS) throw new SpecError(`${section}: ${Object.keys(out).length} variables with ${flag}; a task may set at most ${MAX_ENVS} (the limit)`);
  return out;
}

function checkPath(doc: SourceDoc, path: (string | number)[], abs: string, what: string, wantDir: boolean, opts: NormalizeOptions): void {
  if (!opts.checkPaths) return;
  if (!existsSync(abs)) doc.fail(path, `${what}: ${abs} does not exist`);
  if (wantDir && !statSync(abs).isDirectory()) doc.fail(path, `${what}: ${abs} is not a directory`);
}

/**
 * Where a mount lands on the node: absolute, or `~/...`. A relative destination is under the
 * workdir, ~/sky_workdir/, as in SkyPilot (`relative_dir: ...` lands in ~/sky_workdir/relative_dir).
 */
function normalizeDest(dest: string): string {
  const d = dest.trim();
  if (d.startsWith('/')) return posix.normalize(d);
  if (d === '~' || d.startsWith('~/')) return d === '~' ? '~' : `~/${posix.normalize(d.slice(2))}`;
  const inWorkdir = posix.normalize(`sky_workdir/${d}`);
  return inWorkdir === '.' ? '~' : `~/${inWorkdir}`;
}

function fileMounts(
  doc: SourceDoc,
  raw: RawTask['file_mounts'],
  envs: Record<string, string>,
  storageVars: Record<string, string>,
  opts: NormalizeOptions,
): { local: LocalFileMount[]; storage: StorageFileMount[] } {
  const local: LocalFileMount[] = [];
  const storage: StorageFileMount[] = [];
  const ctx: StorageContext = {
    doc,
    envs: storageVars,
    substitute: (t) => substituteEnvs(t, storageVars),
    resolveLocal: (t) => resolveLocalPath(t, opts.baseDir),
    checkPaths: opts.checkPaths,
  };
  const taken = (dest: string) => local.some((m) => m.dest === dest) || storage.some((m) => m.dest === dest);
  for (const [rawDest, src] of Object.entries(raw ?? {})) {
    if (isUnsupportedMount(src)) continue; // reported by unsupported.ts (or a warning in dry runs)
    const path = ['file_mounts', rawDest];
    if (typeof src !== 'string' || isStoreUrl(substituteEnvs(src, storageVars))) {
      const m = typeof src === 'string' ? shorthandMount(ctx, path, rawDest, src) : storageMount(ctx, path, rawDest, src);
      if (taken(m.dest)) doc.fail(path, `file_mounts: ${m.dest} is mounted twice`, 'key');
      storage.push(m);
      continue;
    }
    const destText = substituteEnvs(rawDest, envs);
    if (!destText.trim()) doc.fail(path, `file_mounts: empty destination`, 'key');
    const srcText = substituteEnvs(src, envs);
    if (!srcText.trim()) doc.fail(path, `file_mounts: ${destText}: empty source path`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(srcText.trim())) {
      doc.fail(path, `file_mounts: ${destText}: '${srcText.trim().split('://')[0]}://' is not a store aloft knows (s3://, gs://, r2://, nebius://, cw://, vastdata://, oci://)`);
    }
    const source = resolveSource(doc, path, srcText, `file_mounts: ${destText}`, opts);
    checkPath(doc, path, source, `file_mounts: ${destText}`, false, opts);
    const dest = normalizeDest(destText);
    if (taken(dest)) doc.fail(path, `file_mounts: ${dest} is mounted twice`, 'key');
    local.push({ kind: 'local', dest, source });
  }
  return { local, storage };
}

export function normalizeTask(doc: SourceDoc, raw: RawTask, opts: NormalizeOptions): Task {
  const envs = resolveVars(doc, 'envs', raw.envs, opts.envOverrides);
  const secrets = resolveVars(doc, 'secrets', Array.isArray(raw.secrets) ? undefined : raw.secrets, opts.secretOverrides);
  // SkyPilot substitutes secrets into file_mounts too (a bucket name may be one).
  const mounts = fileMounts(doc, raw.file_mounts, envs, { ...envs, ...secrets }, opts);
  const task: Task = {
    numNodes: raw.num_nodes ?? 1,
    resources: normalizeResources(doc, raw.resources, opts.allowUnsupported),
    envs,
    secrets,
    fileMounts: mounts.local,
    source: doc.file,
  };
  if (mounts.storage.length > 0) task.storageMounts = mounts.storage;
  if (raw.name !== undefined) task.name = raw.name;
  if (typeof raw.workdir === 'string') {
    const text = substituteEnvs(raw.workdir, envs);
    if (!text.trim()) doc.fail(['workdir'], 'workdir: empty path');
    task.workdir = resolveSource(doc, ['workdir'], text, 'workdir', opts);
    checkPath(doc, ['workdir'], task.workdir, 'workdir', true, opts);
  } else if (raw.workdir !== undefined) {
    task.gitWorkdir = gitWorkdir(doc, raw.workdir, envs);
  }
  if (typeof raw.setup === 'string') task.setup = raw.setup;
  if (typeof raw.run === 'string') task.run = raw.run;
  if (raw.config) task.config = raw.config;
  if (raw.service) task.service = normalizeService(doc, raw.service, { envs, baseDir: opts.baseDir, checkPaths: opts.checkPaths });
  if (opts.requireService) {
    const itemPath = (i: number): (string | number)[] => (task.resources.mode === 'single' ? ['resources'] : ['resources', task.resources.mode, i]);
    const p = serviceTaskProblems(task, itemPath)[0];
    if (p) doc.fail(p.path, p.reason, p.at);
  }
  return task;
}

/** `workdir: {url, ref}`: a git URL (https, ssh, git, file or scp-like user@host:path). */
function gitWorkdir(doc: SourceDoc, raw: { url: string; ref?: string }, envs: Record<string, string>): GitWorkdir {
  const url = substituteEnvs(raw.url, envs).trim();
  if (!url) doc.fail(['workdir', 'url'], 'workdir.url: empty git URL');
  if (!/^(https?|ssh|git|file):\/\/\S+$/i.test(url) && !/^[\w.-]+@[\w.-]+:\S+$/.test(url)) {
    doc.fail(['workdir', 'url'], `workdir.url: '${url}' is not a git URL (https://…, ssh://…, git://…, file://… or user@host:path)`);
  }
  const out: GitWorkdir = { url };
  if (raw.ref !== undefined) {
    const ref = substituteEnvs(raw.ref, envs).trim();
    // refs go into git commands on the node: keep to what refs may contain, no option lookalikes
    if (!ref || ref.startsWith('-') || !/^[\w./@^~{}+-]+$/.test(ref) || ref.includes('..')) {
      doc.fail(['workdir', 'ref'], `workdir.ref: '${ref}' is not a branch, tag or commit name`);
    }
    out.ref = ref;
  }
  return out;
}
