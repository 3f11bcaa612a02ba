// The `kubernetes:` section of config.yaml (SkyPilot's keys, plus `namespace`, `image` and
// `runtime_image`), also accepted under a task's `config: {kubernetes: ...}` (task values win).
// SkyPilot keys aloft does not act on are accepted so a copied ~/.sky/config.yaml loads.
import { z } from 'zod';
import { UserError } from '../util/errors.js';

const msg = (error: string) => ({ error });

export type KubernetesPortsMode = 'nodeport' | 'loadbalancer' | 'podip';

export interface KubernetesContextConfig {
  namespace?: string;
  provisionTimeoutSeconds?: number;
  podConfig?: Record<string, unknown>;
  customMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

export interface KubernetesConfig extends KubernetesContextConfig {
  /** contexts plans may use, in failover order (default: the current context only) */
  allowedContexts?: string[];
  ports?: KubernetesPortsMode;
  /** container image of tasks that name none */
  image?: string;
  /** image whose `node` binary an init container copies into each pod for aloft's agent */
  runtimeImage?: string;
  /** per-context overrides (SkyPilot's context_configs) */
  contextConfigs?: Record<string, KubernetesContextConfig>;
}

/** SkyPilot's kubernetes keys that aloft accepts but does not use (yet). */
const SKYPILOT_KUBERNETES_KEYS = [
  'networking', 'networking_mode', 'remote_identity', 'autoscaler', 'high_availability', 'kueue', 'dws',
  'set_pod_resource_limits', 'post_provision_runcmd', 'enable_docker', 'fuse_device_manager_daemonset',
  'pod_config_override', 'use_kubectl_exec',
] as const;

// DNS-1123 label: what Kubernetes accepts as a namespace name.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const namespace = z
  .string(msg('expected a namespace name'))
  .regex(DNS_LABEL, msg('expected a namespace name (lowercase letters, digits and dashes, at most 63)'));
const seconds = z.number(msg('expected a number of seconds')).positive(msg('expected a positive number of seconds'));
const podConfig = z
  .strictObject(
    {
      apiVersion: z.string(msg('expected a string')).optional(),
      kind: z.string(msg('expected a string')).optional(),
      metadata: z.record(z.string(), z.unknown(), msg('expected a mapping')).optional(),
      spec: z.record(z.string(), z.unknown(), msg('expected a mapping')).optional(),
    },
    msg('expected a pod manifest (a mapping with metadata and/or spec)'),
  );
const stringMap = (what: string) =>
  z.record(z.string(), z.string(msg(`expected a ${what} value (a string; quote numbers and booleans)`)), msg('expected a mapping'));
const customMetadata = z.strictObject(
  {
    labels: stringMap('label').refine((m) => Object.values(m).every((v) => LABEL_VALUE.test(v)), msg('label values must be at most 63 letters, digits, - _ or .')).optional(),
    annotations: stringMap('annotation').optional(),
  },
  msg('expected a mapping with labels and/or annotations'),
);

const contextFields = {
  namespace: namespace.optional(),
  provision_timeout: seconds.optional(),
  pod_config: podConfig.optional(),
  custom_metadata: customMetadata.optional(),
};

export const CONTEXT_CONFIG_KEYS = Object.keys(contextFields);

export const KubernetesSchema = z.strictObject(
  {
    ...contextFields,
    allowed_contexts: z
      .array(z.string(msg('expected a context name')), msg('expected a list of context names'))
      .min(1, msg('expected at least one context name'))
      .optional(),
    ports: z
      .enum(['nodeport', 'loadbalancer', 'podip'], msg("expected 'nodeport', 'loadbalancer' or 'podip' (ingress is not supported)"))
      .optional(),
    image: z.string(msg('expected a container image name')).min(1).optional(),
    runtime_image: z.string(msg('expected a container image name')).min(1).optional(),
    context_configs: z
      .record(z.string(), z.strictObject(contextFields, msg('expected a mapping')), msg('expected a mapping of context name → settings'))
      .optional(),
    ...Object.fromEntries(SKYPILOT_KUBERNETES_KEYS.map((k) => [k, z.unknown().optional()])),
  },
  msg('expected a mapping'),
);

export const KUBERNETES_KEYS: readonly string[] = [
  'allowed_contexts', 'namespace', 'provision_timeout', 'pod_config', 'ports', 'custom_metadata', 'image', 'runtime_image',
  'context_configs', ...SKYPILOT_KUBERNETES_KEYS,
];

/** Keys known at a path inside the section, for did-you-mean (path starts below `kubernetes`). */
export function kubernetesKeysAt(path: readonly (string | number)[]): readonly string[] {
  if (path.length === 0) return KUBERNETES_KEYS;
  if (path.length === 1 && path[0] === 'custom_metadata') return ['labels', 'annotations'];
  if (path.length === 1 && path[0] === 'pod_config') return ['apiVersion', 'kind', 'metadata', 'spec'];
  if (path.length === 2 && path[0] === 'context_configs') return CONTEXT_CONFIG_KEYS;
  if (path.length === 3 && path[0] === 'context_configs' && path[2] === 'custom_metadata') return ['labels', 'annotations'];
  if (path.length === 3 && path[0] === 'context_configs' && path[2] === 'pod_config') return ['apiVersion', 'kind', 'metadata', 'spec'];
  return [];
}

type RawContext = { namespace?: string; provision_timeout?: number; pod_config?: Record<string, unknown>; custom_metadata?: KubernetesContextConfig['customMetadata'] };

function contextOf(raw: RawContext): KubernetesContextConfig {
  const out: KubernetesContextConfig = {};
  if (raw.namespace) out.namespace = raw.namespace;
  if (raw.provision_timeout !== undefined) out.provisionTimeoutSeconds = raw.provision_timeout;
  if (raw.pod_config) out.podConfig = raw.pod_config;
  if (raw.custom_metadata) out.customMetadata = raw.custom_metadata;
  return out;
}

/** The validated raw section → aloft's shape. */
export function kubernetesConfigOf(raw: z.infer<typeof KubernetesSchema>): KubernetesConfig {
  const out: KubernetesConfig = contextOf(raw as RawContext);
  if (raw.allowed_contexts) out.allowedContexts = raw.allowed_contexts;
  if (raw.ports) out.ports = raw.ports;
  if (raw.image) out.image = raw.image;
  if (raw.runtime_image) out.runtimeImage = raw.runtime_image;
  if (raw.context_configs) {
    out.contextConfigs = Object.fromEntries(Object.entries(raw.context_configs).map(([k, v]) => [k, contextOf(v as RawContext)]));
  }
  return out;
}

/**
 * A task's `config: {kubernetes: ...}`: checked like config.yaml (no positions: the task was
 * already parsed), one line naming the key.
 */
export function parseTaskKubernetesConfig(raw: unknown, source = 'task'): KubernetesConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = KubernetesSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = ['config', 'kubernetes', ...issue.path.map(String)].join('.');
    const what = issue.code === 'unrecognized_keys' ? `unknown field '${issue.keys[0]}'` : issue.message;
    throw new UserError(`${source}: ${path}: ${what}`, 'BAD_CONFIG');
  }
  return kubernetesConfigOf(r.data);
}

/** Deep merge of two plain objects (b wins); lists are replaced. For layering task over global config. */
function overlay<T extends object>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}

/** What applies in `context`: global settings, that context's overrides, then the task's. */
export function effectiveKubernetesConfig(
  global: KubernetesConfig | undefined,
  context: string,
  task?: KubernetesConfig,
): KubernetesConfig & { podConfigs: Array<Record<string, unknown>> } {
  const g = global ?? {};
  const c = g.contextConfigs?.[context] ?? {};
  const t = task ?? {};
  const tc = t.contextConfigs?.[context] ?? {};
  const layers = [g, c, t, tc];
  const out: KubernetesConfig & { podConfigs: Array<Record<string, unknown>> } = { podConfigs: [] };
  for (const l of layers) {
    if (l.namespace) out.namespace = l.namespace;
    if (l.provisionTimeoutSeconds !== undefined) out.provisionTimeoutSeconds = l.provisionTimeoutSeconds;
    if (l.customMetadata) {
      out.customMetadata = {
        labels: overlay(out.customMetadata?.labels, l.customMetadata.labels),
        annotations: overlay(out.customMetadata?.annotations, l.customMetadata.annotations),
      };
    }
    if (l.podConfig) out.podConfigs.push(l.podConfig);
  }
  for (const l of [g, t]) {
    if (l.allowedContexts) out.allowedContexts = l.allowedContexts;
    if (l.ports) out.ports = l.ports;
    if (l.image) out.image = l.image;
    if (l.runtimeImage) out.runtimeImage = l.runtimeImage;
  }
  return out;
}
