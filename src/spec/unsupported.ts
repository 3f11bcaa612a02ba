// SkyPilot features that parse but aloft cannot honour yet, in one list so each can be lifted
// when aloft learns it. A task using one fails with one line naming it and where it is; with
// ParseOptions.allowUnsupported (dry runs) each becomes a warning and the feature is left out.
import type { Path } from './yaml.js';
import type { RawCandidate, RawTask } from './schema.js';
import { pathString } from './patterns.js';
import { UNSUPPORTED_SCHEMES, UNSUPPORTED_STORES, splitUrl } from '../storage/stores.js';

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

/**
 * A file_mounts entry aloft cannot honour yet: a store it does not handle (Azure, IBM COS, Hugging
 * Face), by URL or by `store:`. Decided on the YAML as written (an env-var store is checked later).
 */
export function unsupportedMountReason(dest: string, src: unknown): string | undefined {
  const scheme = (s: unknown) => (typeof s === 'string' ? splitUrl(s)?.scheme : undefined);
  if (typeof src === 'string') {
    const sc = scheme(src);
    return sc && UNSUPPORTED_SCHEMES[sc] ? `file_mounts: ${dest}: ${UNSUPPORTED_SCHEMES[sc]} not supported yet` : undefined;
  }
  if (!src || typeof src !== 'object') return undefined;
  const o = src as { source?: unknown; store?: unknown };
  const sc = scheme(o.source);
  if (sc && UNSUPPORTED_SCHEMES[sc]) return `file_mounts: ${dest}: ${UNSUPPORTED_SCHEMES[sc]} not supported yet`;
  const store = typeof o.store === 'string' ? o.store.trim().toLowerCase() : undefined;
  if (store && UNSUPPORTED_STORES[store]) return `file_mounts: ${dest}: store '${o.store as string}' (${UNSUPPORTED_STORES[store]}) is not supported yet`;
  return undefined;
}

export function isUnsupportedMount(src: unknown): boolean {
  return unsupportedMountReason('', src) !== undefined;
}

export function isDockerImage(imageId: unknown): boolean {
  const ids = typeof imageId === 'string' ? [imageId] : imageId && typeof imageId === 'object' ? Object.values(imageId) : [];
  return ids.some((v) => typeof v === 'string' && v.trim().toLowerCase().startsWith('docker:'));
}

/** The cloud a resources dict names (its own infra/cloud, else the base dict's), lower-cased; undefined = any. */
function namedCloud(r: RawCandidate, base: RawCandidate | undefined): string | undefined {
  const text = r.infra ?? r.cloud ?? base?.infra ?? base?.cloud;
  if (typeof text !== 'string') return undefined;
  const head = text.trim().split('/')[0]!.toLowerCase();
  return head === '' || head === '*' ? undefined : head;
}

/** Whether this resources dict may land on an infra that runs container images (kubernetes). */
export function mayRunContainers(r: RawCandidate, base: RawCandidate | undefined): boolean {
  const c = namedCloud(r, base);
  return c === undefined || c === 'kubernetes' || c === 'k8s';
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
    id: 'secrets.managed',
    find: (t) =>
      Array.isArray(t.secrets) ? [{ path: ['secrets'], at: 'value', reason: 'secrets: managed secret references (a list) are not supported yet' }] : [],
  },
  {
    id: 'file_mounts.storage',
    find: (t) =>
      Object.entries(t.file_mounts ?? {}).flatMap(([dest, src]) => {
        const reason = unsupportedMountReason(dest, src);
        return reason ? [{ path: ['file_mounts', dest], at: 'value' as const, reason }] : [];
      }),
  },
  {
    // Containers run on kubernetes (the image is the pod's); elsewhere aloft has no docker runtime
    // yet. A task naming no infra may still run it: the planner then keeps it to kubernetes.
    id: 'resources.image_id.docker',
    find: (t) =>
      eachResources(t)
        .filter(({ r }) => isDockerImage(r.image_id) && !mayRunContainers(r, t.resources))
        .map(({ path }) => ({
          path: [...path, 'image_id'],
          at: 'value' as const,
          reason: `${pathString([...path, 'image_id'])}: docker images (docker:...) are not supported yet outside kubernetes (infra: k8s)`,
        })),
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
