// SkyPilot features that parse but aloft cannot honour yet, in one list so each can be lifted
// when aloft learns it. A task using one fails with one line naming it and where it is; with
// ParseOptions.allowUnsupported (dry runs) each becomes a warning and the feature is left out.
import type { Path } from './yaml.js';
import type { RawCandidate, RawTask } from './schema.js';
import { pathString } from './patterns.js';

export interface UnsupportedUse {
  path: Path;
  /** point at the key (the field is the problem) or at its value */
  at: 'key' | 'value';
  reason: string;
}

export interface UnsupportedFeature {
  id: string;
  find(task: RawTask): UnsupportedUse[];
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A file_mounts source aloft cannot copy: a bucket/URL or a storage mapping. */
export function isRemoteSource(src: unknown): boolean {
  return typeof src !== 'string' || URL_RE.test(src.trim());
}

export function isDockerImage(imageId: unknown): boolean {
  const ids = typeof imageId === 'string' ? [imageId] : imageId && typeof imageId === 'object' ? Object.values(imageId) : [];
  return ids.some((v) => typeof v === 'string' && v.trim().toLowerCase().startsWith('docker:'));
}

/** A task-level field whose mere presence is the problem. */
const field = (key: keyof RawTask, what: string): UnsupportedFeature => ({
  id: key,
  find: (t) => (t[key] !== undefined ? [{ path: [key], at: 'key', reason: `${key}: ${what} not supported yet` }] : []),
});

/** Each resources dict: the base and every any_of/ordered item. */
function eachResources(t: RawTask): Array<{ path: Path; r: RawCandidate }> {
  const res = t.resources;
  if (!res) return [];
  const out: Array<{ path: Path; r: RawCandidate }> = [{ path: ['resources'], r: res }];
  for (const k of ['any_of', 'ordered'] as const) res[k]?.forEach((r, i) => out.push({ path: ['resources', k, i], r }));
  return out;
}

const resourceField = (key: keyof RawCandidate, what: string): UnsupportedFeature => ({
  id: `resources.${key}`,
  find: (t) =>
    eachResources(t)
      .filter(({ r }) => r[key] !== undefined)
      .map(({ path }) => ({ path: [...path, key], at: 'key' as const, reason: `${pathString([...path, key])}: ${what} not supported yet` })),
});

export const UNSUPPORTED_FEATURES: UnsupportedFeature[] = [
  {
    id: 'service.pool',
    find: (t) =>
      (['pool', 'workers'] as const)
        .filter((k) => t.service?.[k] !== undefined)
        .map((k) => ({ path: ['service', k], at: 'key' as const, reason: `service.${k}: worker pools (sky jobs pool) are not supported yet` })),
  },
  field('pool', 'worker pools are'),
  field('volumes', 'volumes are'),
  field('volume_mounts', 'volume mounts are'),
  field('event_callback', 'event callbacks are'),
  field('experimental', "the 'experimental' section is (use 'config:')"),
  field('managed_secrets', 'managed secrets are'),
  field('api_server_access', 'API server access from tasks is'),
  field('file_mounts_mapping', 'file_mounts_mapping (internal to SkyPilot) is'),
  field('execution', 'job groups (execution: parallel) are'),
  {
    id: 'workdir.git',
    find: (t) =>
      t.workdir !== undefined && typeof t.workdir !== 'string'
        ? [{ path: ['workdir'], at: 'value', reason: 'workdir: git workdirs ({url, ref}) are not supported yet' }]
        : [],
  },
  {
    id: 'secrets.managed',
    find: (t) =>
      Array.isArray(t.secrets) ? [{ path: ['secrets'], at: 'value', reason: 'secrets: managed secret references (a list) are not supported yet' }] : [],
  },
  {
    id: 'file_mounts.storage',
    find: (t) =>
      Object.entries(t.file_mounts ?? {})
        .filter(([, src]) => isRemoteSource(src))
        .map(([dest, src]) => ({
          path: ['file_mounts', dest],
          at: 'value' as const,
          reason:
            typeof src === 'string'
              ? `file_mounts: ${dest}: bucket/URL sources (${src.trim().split('://')[0]}://) are not supported yet; aloft copies local files only`
              : `file_mounts: ${dest}: bucket/storage mounts are not supported yet; aloft copies local files only`,
        })),
  },
  {
    id: 'resources.image_id.docker',
    find: (t) =>
      eachResources(t)
        .filter(({ r }) => isDockerImage(r.image_id))
        .map(({ path }) => ({ path: [...path, 'image_id'], at: 'value' as const, reason: `${pathString([...path, 'image_id'])}: docker images (docker:...) are not supported yet` })),
  },
  {
    id: 'resources.autostop.hook',
    find: (t) =>
      eachResources(t)
        .filter(({ r }) => typeof r.autostop === 'object' && r.autostop !== null && r.autostop.hook !== undefined)
        .map(({ path }) => ({ path: [...path, 'autostop', 'hook'], at: 'key' as const, reason: `${pathString([...path, 'autostop', 'hook'])}: autostop hooks are not supported yet` })),
  },
  resourceField('container_image', 'container images are'),
  resourceField('volumes', 'volumes are'),
  resourceField('priority', 'job priorities are'),
  resourceField('priority_class', 'priority classes are'),
  resourceField('max_hourly_cost', 'a cost cap is'),
  resourceField('ephemeral_storage', 'ephemeral storage requests are'),
  resourceField('local_disk', 'local disk requests are'),
];

export function findUnsupported(task: RawTask): UnsupportedUse[] {
  return UNSUPPORTED_FEATURES.flatMap((f) => f.find(task));
}
