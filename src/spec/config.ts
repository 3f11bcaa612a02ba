// ALOFT_HOME/config.yaml: SkyPilot's config format (~/.sky/config.yaml). Read with positions and
// checked by zod like a task YAML, so any mistake is one line `PATH:line:col: ...` (unknown keys
// with a did-you-mean). The CLI checks it before talking to the daemon; the daemon reads it through
// the same function, so both report a broken file the same way.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { SpecError, nearest } from './errors.js';
import { pathString } from './patterns.js';
import { validateDocument, type Vocabulary } from './validate.js';
import { KubernetesSchema, kubernetesConfigOf, kubernetesKeysAt, type KubernetesConfig } from './kubernetes-config.js';
import { loadDocuments, type Path } from './yaml.js';

export interface AloftConfig {
  /** the `kubernetes:` section (contexts, namespace, provision timeout, pod_config, ports, ...) */
  kubernetes?: KubernetesConfig;
  /** `allowed_infra` (or SkyPilot's `allowed_clouds`): infra patterns plans may use */
  allowedInfra?: string[];
  /** `local.spot_mtbp_seconds`: mean time between random preemptions of local spot clusters */
  spotMtbpSeconds?: number;
  /** `db: postgresql://…` (SkyPilot's key): the API server keeps all its state in PostgreSQL */
  db?: string;
  /** `api_server:` — a client's endpoint and token, and a server's listen address, TLS and limits */
  apiServer?: ApiServerConfig;
  /** `gcp.endpoint` (Compute Engine API override) and `gcp.project_id` */
  gcp?: { endpoint?: string; projectId?: string };
  /** `local.namespaces`: false keeps new local nodes on this machine's filesystem and network */
  localNamespaces?: boolean;
  /** `storage:` where buckets are (endpoints, regions, credential profiles) and the default store */
  storage?: StorageConfig;
}

/** `api_server:` in config.yaml; SkyPilot's own keys there (e.g. requests_retention_hours) pass. */
export interface ApiServerConfig {
  /** client: the remote server (`aloft api login` writes it) */
  endpoint?: string;
  /** client: its bearer token (SkyPilot's service_account_token) */
  token?: string;
  /** server: listen on this TCP address */
  host?: string;
  port?: number;
  tlsCert?: string;
  tlsKey?: string;
  /** server: behind a reverse proxy, take the client address and scheme from X-Forwarded-* */
  trustForwardedHeaders?: boolean;
  requestsPerSecond?: number;
  burst?: number;
  maxBodyMb?: number;
  maxUploadMb?: number;
}

/** One store's settings in `storage.<store>` (all optional; environment variables fill the rest). */
export interface StoreSettings {
  /** S3 API URL (or GCS JSON API base URL) instead of the provider's own */
  endpoint?: string;
  region?: string;
  /** profile in the credentials file */
  profile?: string;
  /** an INI credentials file like ~/.aws/credentials */
  credentialsFile?: string;
  /** R2: the Cloudflare account id (endpoint https://ACCOUNT.r2.cloudflarestorage.com) */
  accountId?: string;
  /** GCS: the project buckets are created in */
  project?: string;
}

export interface StorageConfig {
  /** the store for `name:` buckets without `store:` on infra that has none of its own (local, ssh, k8s) */
  defaultStore?: string;
  stores: Record<string, StoreSettings>;
}

const msg = (error: string) => ({ error });

/** SkyPilot config sections aloft accepts (so a copied ~/.sky/config.yaml loads) but does not use. */
export const SKYPILOT_ONLY_KEYS = [
  'jobs', 'docker', 'nvidia_gpus', 'admin_policy', 'provision', 'serve', 'workspaces',
  'active_workspace', 'bucket', 'daemons', 'logs', 'ssh', 'aws', 'azure',
  'oci', 'nebius', 'lambda', 'runpod', 'vast', 'slurm', 'seeweb', 'primeintellect', 'rcc',
] as const;

const LOCAL_KEYS = ['spot_mtbp_seconds', 'namespaces'] as const;
/** SkyPilot's own `gcp:` keys (accepted, not used) next to aloft's endpoint and project_id. */
const GCP_SKYPILOT_KEYS = [
  'labels', 'vpc_name', 'use_internal_ips', 'ssh_proxy_command', 'prioritize_reservations', 'specific_reservations',
  'managed_instance_group', 'enable_gvnic', 'enable_gpu_direct', 'placement_policy', 'force_enable_external_ips',
  'remote_identity', 'post_provision_runcmd', 'instance_tags',
] as const;
const GCP_KEYS = ['endpoint', 'project_id', ...GCP_SKYPILOT_KEYS] as const;
const STORE_KEYS = ['endpoint', 'region', 'profile', 'credentials_file', 'account_id', 'project'] as const;
const STORAGE_NAMES = ['s3', 'gcs', 'r2', 'nebius', 'coreweave', 'vastdata', 'oci'] as const;
const storeSettings = z
  .strictObject(
    {
      endpoint: z.string(msg('expected a URL like http://127.0.0.1:9000')).url(msg('expected a URL like https://host:port')).optional(),
      region: z.string(msg('expected a region name')).optional(),
      profile: z.string(msg('expected a profile name')).optional(),
      credentials_file: z.string(msg('expected a path')).optional(),
      account_id: z.string(msg('expected an account id')).optional(),
      project: z.string(msg('expected a project id')).optional(),
    },
    msg('expected a mapping of store settings (endpoint, region, profile, credentials_file)'),
  )
  .nullable()
  .optional();
const positive = (what: string) => z.number(msg(`expected ${what}`)).positive(msg(`expected ${what} > 0`)).nullable().optional();
const text = (what: string) => z.string(msg(`expected ${what}`)).nullable().optional();
const ApiServerSchema = z
  .looseObject(
    {
      endpoint: z.string(msg('expected a URL such as https://aloft.example.com')).regex(/^https?:\/\/[^\s/]+/, msg('expected an http:// or https:// URL')).nullable().optional(),
      service_account_token: text('a token (aloft api tokens create prints one)'),
      host: text('an address to listen on, such as 0.0.0.0'),
      port: z.number(msg('expected a TCP port')).int(msg('expected a TCP port')).min(0, msg('expected a TCP port')).max(65535, msg('expected a TCP port')).nullable().optional(),
      tls: z
        .strictObject({ cert: z.string(msg('expected a file path')), key: z.string(msg('expected a file path')) }, msg('expected a mapping with cert and key'))
        .nullable()
        .optional(),
      trust_forwarded_headers: z.boolean(msg('expected true or false')).nullable().optional(),
      requests_per_second: positive('requests per second per token'),
      burst: positive('a number of requests'),
      max_body_mb: positive('a size in MiB'),
      max_upload_mb: positive('a size in MiB'),
    },
    msg('expected a mapping'),
  )
  .nullable()
  .optional();

const infraList = z.array(z.string(msg('expected an infra name such as "aws" or "ssh/POOL"')), msg('expected a list of infra names'));

export const ConfigSchema = z.strictObject(
  {
    allowed_infra: infraList.nullable().optional(),
    allowed_clouds: infraList.nullable().optional(),
    local: z
      .strictObject(
        {
          spot_mtbp_seconds: z
            .number(msg('expected a number of seconds'))
            .positive(msg('expected a positive number of seconds'))
            .nullable()
            .optional(),
          namespaces: z.boolean(msg('expected true or false')).nullable().optional(),
        },
        msg('expected a mapping'),
      )
      .nullable()
      .optional(),
    gcp: z
      .strictObject(
        {
          endpoint: z
            .string(msg('expected the Compute Engine API URL, e.g. https://compute.googleapis.com/compute/v1/'))
            .regex(/^https?:\/\/[^/\s]+(\/compute\/v1)?\/?$/, msg('expected http(s)://HOST[:PORT]/compute/v1/'))
            .nullable()
            .optional(),
          project_id: z
            .string(msg('expected a GCP project id'))
            .regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, msg('expected a GCP project id (6-30 lowercase letters, digits and dashes)'))
            .nullable()
            .optional(),
          ...Object.fromEntries(GCP_SKYPILOT_KEYS.map((k) => [k, z.unknown().optional()])),
        },
        msg('expected a mapping'),
      )
      .nullable()
      .optional(),
    kubernetes: KubernetesSchema.nullable().optional(),
    storage: z
      .strictObject(
        {
          default_store: z.enum(STORAGE_NAMES, msg(`expected one of ${STORAGE_NAMES.join(', ')}`)).optional(),
          ...Object.fromEntries(STORAGE_NAMES.map((k) => [k, storeSettings])),
        },
        msg('expected a mapping of stores (s3, gcs, r2, ...) and default_store'),
      )
      .nullable()
      .optional(),
    ...Object.fromEntries(SKYPILOT_ONLY_KEYS.map((k) => [k, z.unknown().optional()])),
    db: z.string(msg('expected a postgresql:// URL')).regex(/^postgres(ql)?:\/\//, msg('expected a postgresql:// URL')).nullable().optional(),
    api_server: ApiServerSchema,
  },
  msg('expected a mapping'),
);

export const CONFIG_KEYS: readonly string[] = ['allowed_infra', 'allowed_clouds', 'local', 'gcp', 'kubernetes', 'storage', 'db', 'api_server', ...SKYPILOT_ONLY_KEYS];

function knownKeys(path: Path): readonly string[] {
  if (path.length === 0) return CONFIG_KEYS;
  if (path.length === 1 && path[0] === 'local') return LOCAL_KEYS;
  if (path.length === 1 && path[0] === 'gcp') return GCP_KEYS;
  if (path[0] === 'kubernetes') return kubernetesKeysAt(path.slice(1));
  if (path.length === 1 && path[0] === 'storage') return ['default_store', ...STORAGE_NAMES];
  if (path.length === 2 && path[0] === 'storage') return STORE_KEYS;
  return [];
}

const CONFIG_VOCABULARY: Vocabulary = {
  root: 'config',
  unknownField(path, key) {
    const near = nearest(key, knownKeys(path));
    return `unknown field '${key}' in ${path.length ? pathString(path) : 'config'}${near ? `; did you mean '${near}'?` : ''}`;
  },
};

/** Parses and checks config text; throws a one-line SpecError `file:line:col: ...`. */
export function parseConfig(text: string, file: string): AloftConfig {
  const docs = loadDocuments(text, file);
  if (docs.length > 1) throw new SpecError('config.yaml must be a single YAML document (found `---`)', docs[1]!.start());
  const doc = docs[0];
  const raw = doc?.toJS() ?? null;
  if (raw === null || raw === undefined) return {};
  const d = validateDocument(ConfigSchema, raw, doc!, CONFIG_VOCABULARY);
  const out: AloftConfig = {};
  const allowed = d.allowed_infra ?? d.allowed_clouds;
  if (allowed) out.allowedInfra = allowed;
  if (d.local?.spot_mtbp_seconds) out.spotMtbpSeconds = d.local.spot_mtbp_seconds;
  if (d.db) out.db = d.db;
  const a = d.api_server;
  if (a) {
    const api: ApiServerConfig = {
      ...(a.endpoint ? { endpoint: a.endpoint } : {}),
      ...(a.service_account_token ? { token: a.service_account_token } : {}),
      ...(a.host ? { host: a.host } : {}),
      ...(a.port !== null && a.port !== undefined ? { port: a.port } : {}),
      ...(a.tls ? { tlsCert: a.tls.cert, tlsKey: a.tls.key } : {}),
      ...(a.trust_forwarded_headers ? { trustForwardedHeaders: true } : {}),
      ...(a.requests_per_second ? { requestsPerSecond: a.requests_per_second } : {}),
      ...(a.burst ? { burst: a.burst } : {}),
      ...(a.max_body_mb ? { maxBodyMb: a.max_body_mb } : {}),
      ...(a.max_upload_mb ? { maxUploadMb: a.max_upload_mb } : {}),
    };
    if (Object.keys(api).length) out.apiServer = api;
  }
  if (d.gcp?.endpoint || d.gcp?.project_id) {
    out.gcp = { ...(d.gcp.endpoint ? { endpoint: d.gcp.endpoint } : {}), ...(d.gcp.project_id ? { projectId: d.gcp.project_id } : {}) };
  }
  if (d.kubernetes) out.kubernetes = kubernetesConfigOf(d.kubernetes);
  if (typeof d.local?.namespaces === 'boolean') out.localNamespaces = d.local.namespaces;
  if (d.storage) {
    const stores: Record<string, StoreSettings> = {};
    for (const name of STORAGE_NAMES) {
      const v = (d.storage as Record<string, z.infer<typeof storeSettings>>)[name];
      if (!v) continue;
      stores[name] = {
        ...(v.endpoint ? { endpoint: v.endpoint } : {}),
        ...(v.region ? { region: v.region } : {}),
        ...(v.profile ? { profile: v.profile } : {}),
        ...(v.credentials_file ? { credentialsFile: v.credentials_file } : {}),
        ...(v.account_id ? { accountId: v.account_id } : {}),
        ...(v.project ? { project: v.project } : {}),
      };
    }
    out.storage = { stores, ...(d.storage.default_store ? { defaultStore: d.storage.default_store } : {}) };
  }
  return out;
}

let memo: { path: string; mtimeMs: number; size: number; config: AloftConfig } | undefined;

/** ALOFT_HOME/config.yaml, checked; {} when there is none. Re-read only when the file changes. */
export function loadConfig(path: string): AloftConfig {
  let st;
  try {
    st = statSync(path);
  } catch {
    return {};
  }
  if (memo && memo.path === path && memo.mtimeMs === st.mtimeMs && memo.size === st.size) return memo.config;
  const config = parseConfig(readFileSync(path, 'utf8'), path);
  memo = { path, mtimeMs: st.mtimeMs, size: st.size, config };
  return config;
}
