// Where aloft finds GCP: credentials (GOOGLE_APPLICATION_CREDENTIALS, else gcloud's
// application-default credentials), the project (config `gcp.project_id`, GOOGLE_CLOUD_PROJECT /
// GCLOUD_PROJECT / CLOUDSDK_CORE_PROJECT, the credentials file, gcloud's `core/project`) and the
// Compute Engine endpoint (config `gcp.endpoint`, else gcloud's own override variable
// CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, else compute.googleapis.com). No SDK here: `aloft
// check` and planning read this without loading one.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface GcpEndpoint {
  /** e.g. http://127.0.0.1:8080/compute/v1/ (undefined = Google's) */
  url?: string;
  apiEndpoint?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

export interface GcpSettings {
  credentialsFile?: string;
  /** why there are no usable credentials */
  missing?: string;
  /** where the credentials were found, for `aloft check` */
  source?: string;
  project?: string;
  projectSource?: string;
  endpoint: GcpEndpoint;
}

const readJson = (p: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** `core/project` of gcloud's active configuration. */
function gcloudProject(dir: string): string | undefined {
  let active = 'default';
  try {
    active = readFileSync(join(dir, 'active_config'), 'utf8').trim() || 'default';
  } catch {
    /* default configuration */
  }
  let text: string;
  try {
    text = readFileSync(join(dir, 'configurations', `config_${active}`), 'utf8');
  } catch {
    return undefined;
  }
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) section = sec[1]!.trim();
    const kv = /^project\s*=\s*(\S+)/.exec(line);
    if (section === 'core' && kv) return kv[1];
  }
  return undefined;
}

/** Parses an endpoint override; throws a one-line reason for a bad one. */
export function parseEndpoint(url: string, where: string): GcpEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${where}: '${url}' is not a URL (expected e.g. https://compute.example.com/compute/v1/)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${where}: '${url}' must be http:// or https://`);
  const path = u.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/compute/v1') throw new Error(`${where}: '${url}' must end in /compute/v1/ (the API's own path) or have no path`);
  const protocol = u.protocol === 'http:' ? 'http' : 'https';
  return { url, apiEndpoint: u.hostname, port: Number(u.port) || (protocol === 'http' ? 80 : 443), protocol };
}

export function gcpSettings(opts: { env?: NodeJS.ProcessEnv; home?: string; config?: { endpoint?: string; projectId?: string } } = {}): GcpSettings {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const gcloudDir = env.CLOUDSDK_CONFIG || join(home, '.config', 'gcloud');
  const out: GcpSettings = { endpoint: {} };

  const override = opts.config?.endpoint ?? env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE;
  if (override) out.endpoint = parseEndpoint(override, opts.config?.endpoint ? 'config.yaml gcp.endpoint' : 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE');

  let creds: Record<string, unknown> | undefined;
  if (env.GOOGLE_APPLICATION_CREDENTIALS) {
    creds = readJson(env.GOOGLE_APPLICATION_CREDENTIALS);
    if (creds) (out.credentialsFile = env.GOOGLE_APPLICATION_CREDENTIALS), (out.source = `GOOGLE_APPLICATION_CREDENTIALS (${env.GOOGLE_APPLICATION_CREDENTIALS})`);
    else out.missing = `GOOGLE_APPLICATION_CREDENTIALS points to a missing file (or one that is not JSON): ${env.GOOGLE_APPLICATION_CREDENTIALS}`;
  } else {
    const adc = join(gcloudDir, 'application_default_credentials.json');
    creds = readJson(adc);
    if (creds) (out.credentialsFile = adc), (out.source = `application default credentials (${adc})`);
    else out.missing = 'no GCP credentials (set GOOGLE_APPLICATION_CREDENTIALS to a service-account key, or run `gcloud auth application-default login`)';
  }

  const fromEnv = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT;
  const candidates: Array<[string | undefined, string]> = [
    [opts.config?.projectId, 'config.yaml gcp.project_id'],
    [fromEnv, 'environment'],
    [(creds?.project_id ?? creds?.quota_project_id) as string | undefined, 'credentials file'],
    [gcloudProject(gcloudDir), `gcloud config (${gcloudDir})`],
  ];
  const hit = candidates.find(([p]) => typeof p === 'string' && p.length > 0);
  if (hit) (out.project = hit[0]), (out.projectSource = hit[1]);
  return out;
}
