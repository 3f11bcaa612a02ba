// How the daemon reaches a store, and what a node needs to reach it too: endpoint, region and
// credentials, from config.yaml's `storage:` section and the daemon's environment (AWS_*,
// GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST, CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE).
// Credentials live in memory here and go to nodes only as a 0600 rclone.conf; never to state.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StorageConfig, StoreSettings } from '../spec/config.js';
import { UserError } from '../util/errors.js';
import { storeByName, type StoreKind } from './stores.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A GCS credential file's content: a service account, or a user's application-default login. */
export type GcsCredentials =
  | { type: 'service_account'; json: string }
  | { type: 'authorized_user'; clientId: string; clientSecret: string; refreshToken: string };

export interface StoreAccess {
  store: StoreKind;
  /** S3 API URL, or the GCS JSON API base (http://host:port); undefined: the provider's own */
  endpoint?: string;
  region?: string;
  s3?: S3Credentials;
  /** undefined with an endpoint override: an emulator that takes no credentials */
  gcs?: GcsCredentials;
  project?: string;
  /** the secret strings in here, for redaction */
  secrets: string[];
}

type Env = Record<string, string | undefined>;

const expand = (p: string) => (p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(p));

/** A profile's keys from an INI credentials file (~/.aws/credentials, ~/.cloudflare/r2.credentials). */
export function readIniProfile(file: string, profile: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  let current: string | undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const sec = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (sec) {
      current = sec[1]!;
      out[current] ??= {};
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) out[current]![kv[1]!.toLowerCase()] = kv[2]!;
  }
  return out[profile];
}

function s3FromIni(file: string, profile: string): S3Credentials | undefined {
  const p = readIniProfile(file, profile);
  if (!p?.aws_access_key_id || !p.aws_secret_access_key) return undefined;
  return { accessKeyId: p.aws_access_key_id, secretAccessKey: p.aws_secret_access_key, ...(p.aws_session_token ? { sessionToken: p.aws_session_token } : {}) };
}

/** AWS's own chain (env, profiles, SSO, instance roles), through the SDK, loaded only now. */
async function awsDefaultChain(profile: string | undefined, region: string): Promise<S3Credentials | undefined> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ region, ...(profile ? { profile } : {}) });
  try {
    const c = await client.config.credentials();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

function gcsEndpoint(settings: StoreSettings, env: Env): string | undefined {
  if (settings.endpoint) return settings.endpoint.replace(/\/+$/, '').replace(/\/storage\/v1$/, '');
  const emu = env.STORAGE_EMULATOR_HOST;
  if (emu) return (/^https?:\/\//.test(emu) ? emu : `http://${emu}`).replace(/\/+$/, '');
  const gcloud = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE;
  if (gcloud) return gcloud.replace(/\/+$/, '').replace(/\/storage\/v1$/, '');
  return undefined;
}

function gcsCredentials(env: Env): GcsCredentials | undefined {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS ?? join(homedir(), '.config', 'gcloud', 'application_default_credentials.json');
  if (!existsSync(file)) return undefined;
  let j: Record<string, string>;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    throw new UserError(`GCS credentials ${file} are not valid JSON`);
  }
  if (j.type === 'service_account') return { type: 'service_account', json: JSON.stringify(j) };
  if (j.type === 'authorized_user' && j.client_id && j.client_secret && j.refresh_token) {
    return { type: 'authorized_user', clientId: j.client_id, clientSecret: j.client_secret, refreshToken: j.refresh_token };
  }
  throw new UserError(`GCS credentials ${file}: type '${j.type}' is not supported (a service account key or \`gcloud auth application-default login\`)`);
}

const DEFAULT_ENDPOINTS: Record<string, (s: StoreSettings) => string | undefined> = {
  r2: (s) => {
    const account = s.accountId ?? readFirstLine(join(homedir(), '.cloudflare', 'accountid'));
    return account ? `https://${account}.r2.cloudflarestorage.com` : undefined;
  },
};

/** SkyPilot's places for the S3-compatible clouds' keys, used when config.yaml names none. */
const DEFAULT_CREDENTIALS: Record<string, { file: string; profile: string }> = {
  r2: { file: '~/.cloudflare/r2.credentials', profile: 'r2' },
  nebius: { file: '~/.aws/credentials', profile: 'nebius' },
  coreweave: { file: '~/.coreweave/cw.credentials', profile: 'cw' },
  vastdata: { file: '~/.vastdata/vastdata.credentials', profile: 'vastdata' },
  oci: { file: '~/.oci/oci_s3.credentials', profile: 'oci' },
};

function readFirstLine(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim().split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where and how to reach `storeName`. Throws a UserError saying what is missing (an endpoint for an
 * S3-compatible cloud, credentials) — callers add which mount needs it.
 */
export async function resolveAccess(storeName: string, config: StorageConfig | undefined, env: Env = process.env): Promise<StoreAccess> {
  const store = storeByName(storeName);
  if (!store) throw new UserError(`unknown store '${storeName}'`);
  const settings = config?.stores[store.name] ?? {};
  if (store.api === 'gcs') {
    const endpoint = gcsEndpoint(settings, env);
    const gcs = gcsCredentials(env);
    if (!gcs && !endpoint) {
      throw new UserError('no GCS credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key, or run `gcloud auth application-default login`');
    }
    const secrets = !gcs ? [] : gcs.type === 'service_account' ? [gcs.json, ...privateKeyOf(gcs.json)] : [gcs.clientSecret, gcs.refreshToken];
    const project = settings.project ?? env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT ?? projectOf(gcs);
    return { store, ...(endpoint ? { endpoint } : {}), ...(gcs ? { gcs } : {}), ...(project ? { project } : {}), secrets };
  }
  const region = settings.region ?? (store.name === 's3' ? (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1') : store.name === 'r2' ? 'auto' : 'us-east-1');
  let endpoint = settings.endpoint;
  if (!endpoint && store.name === 's3') endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (!endpoint) endpoint = DEFAULT_ENDPOINTS[store.name]?.(settings);
  if (!endpoint && store.name !== 's3') {
    throw new UserError(`store ${store.name} needs an endpoint: set storage.${store.name}.endpoint in config.yaml`);
  }
  let s3: S3Credentials | undefined;
  const def = DEFAULT_CREDENTIALS[store.name];
  if (settings.credentialsFile || (def && !settings.profile && store.name !== 's3')) {
    const file = expand(settings.credentialsFile ?? def!.file);
    s3 = s3FromIni(file, settings.profile ?? def?.profile ?? 'default');
    if (!s3) throw new UserError(`no ${store.name} credentials: ${file} has no profile '${settings.profile ?? def?.profile ?? 'default'}' with aws_access_key_id and aws_secret_access_key`);
  } else if (!settings.profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    s3 = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  } else {
    s3 = await awsDefaultChain(settings.profile ?? env.AWS_PROFILE, region);
    if (!s3) throw new UserError(`no ${store.name} credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile in ~/.aws/credentials${settings.profile ? ` (profile '${settings.profile}')` : ''}`);
  }
  return {
    store,
    ...(endpoint ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    region,
    s3,
    secrets: [s3.secretAccessKey, ...(s3.sessionToken ? [s3.sessionToken] : [])],
  };
}

function privateKeyOf(json: string): string[] {
  try {
    const k = (JSON.parse(json) as { private_key?: string }).private_key;
    return k ? [k] : [];
  } catch {
    return [];
  }
}

function projectOf(gcs: GcsCredentials | undefined): string | undefined {
  if (gcs?.type !== 'service_account') return undefined;
  try {
    return (JSON.parse(gcs.json) as { project_id?: string }).project_id;
  } catch {
    return undefined;
  }
}

/** The store for a `name:` bucket without `store:`: the cloud's own, else config's default, else s3 or gcs by credentials. */
export function defaultStoreFor(cloud: string, config: StorageConfig | undefined, env: Env = process.env): string | undefined {
  if (cloud === 'aws') return 's3';
  if (cloud === 'gcp') return 'gcs';
  if (config?.defaultStore) return config.defaultStore;
  if (config?.stores.s3 || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_ENDPOINT_URL_S3 || existsSync(join(homedir(), '.aws', 'credentials'))) return 's3';
  if (config?.stores.gcs || env.GOOGLE_APPLICATION_CREDENTIALS || env.STORAGE_EMULATOR_HOST || existsSync(join(homedir(), '.config', 'gcloud', 'application_default_credentials.json'))) return 'gcs';
  return undefined;
}
