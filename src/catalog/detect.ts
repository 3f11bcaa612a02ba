// Which infra can be used from this machine: credentials on disk or in the environment, and
// optionally whether the infra's API answers. Shared by `aloft check` and the daemon.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { aloftHome } from '../util/paths.js';
import { importYaml } from '../util/yaml-lazy.js';
import type { GcpSettings } from '../providers/gcp/settings.js';

export interface InfraStatus {
  /** local | aws | gcp | kubernetes | ssh */
  infra: string;
  /** credentials (or config) present: the infra can be planned and launched on */
  ok: boolean;
  /** what was found, or why not and how to fix it */
  reason: string;
  /** kubernetes contexts or ssh pool names */
  targets?: string[];
  /** set when probed: the API endpoint accepted a TCP connection */
  reachable?: boolean;
}

export interface DetectOptions {
  /** also try to reach each API endpoint (TCP, short timeout) */
  probe?: boolean;
  probeTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** home directory to look in (default: os.homedir()) */
  home?: string;
  /** ALOFT_HOME (default: from env) */
  aloftHome?: string;
}

const readable = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const readText = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

/** The section `[name]` (or `[profile name]`) of an ini file, as key → value. */
function iniSection(text: string, name: string): Record<string, string> | undefined {
  let inside = false;
  let found: Record<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = line.match(/^\[(.+)\]$/);
    if (sec) {
      const s = sec[1]!.trim();
      inside = s === name || s === `profile ${name}`;
      if (inside) found ??= {};
      continue;
    }
    const kv = line.match(/^([^=]+?)\s*=\s*(.*)$/);
    if (inside && kv && found) found[kv[1]!.toLowerCase()] = kv[2]!;
  }
  return found;
}

export function detectAws(env: NodeJS.ProcessEnv, home: string): InfraStatus {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return { infra: 'aws', ok: true, reason: 'credentials in environment (AWS_ACCESS_KEY_ID)' };
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && readable(env.AWS_WEB_IDENTITY_TOKEN_FILE)) {
    return { infra: 'aws', ok: true, reason: 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)' };
  }
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const creds = readText(credFile);
  const sec = creds ? iniSection(creds, profile) : undefined;
  if (sec?.aws_access_key_id && sec.aws_secret_access_key) return { infra: 'aws', ok: true, reason: `profile '${profile}' in ${credFile}` };
  const cfgFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const cfg = readText(cfgFile);
  const csec = cfg ? iniSection(cfg, profile) : undefined;
  if (csec && (csec.sso_session || csec.sso_start_url || csec.credential_process || csec.role_arn || csec.aws_access_key_id)) {
    return { infra: 'aws', ok: true, reason: `profile '${profile}' in ${cfgFile} (sso/role/process)` };
  }
  return {
    infra: 'aws',
    ok: false,
    reason: `no AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or run \`aws configure\`; profile '${profile}')`,
  };
}

/**
 * GCP: credentials (GOOGLE_APPLICATION_CREDENTIALS or application-default credentials), a project
 * and the endpoint (src/providers/gcp/settings.ts: no SDK loaded). gcloud's own login without
 * application-default credentials is not enough for a client library, so it is only a hint.
 */
export async function detectGcp(env: NodeJS.ProcessEnv, home: string, aloft?: string): Promise<InfraStatus & { settings?: GcpSettings }> {
  const { gcpSettings } = await import('../providers/gcp/settings.js');
  let config: { endpoint?: string; projectId?: string } | undefined;
  const cfgFile = aloft ? join(aloft, 'config.yaml') : undefined;
  try {
    if (cfgFile && existsSync(cfgFile)) config = (await import('../spec/config.js')).loadConfig(cfgFile).gcp;
    const settings = gcpSettings({ env, home, config });
    if (settings.missing) {
      const dir = env.CLOUDSDK_CONFIG || join(home, '.config', 'gcloud');
      const login = readable(join(dir, 'credentials.db')) ? ` (gcloud is logged in, but client libraries need \`gcloud auth application-default login\`)` : '';
      return { infra: 'gcp', ok: false, reason: settings.missing + login };
    }
    if (!settings.project) {
      return { infra: 'gcp', ok: false, reason: `${settings.source}, but no project: set gcp.project_id in config.yaml, GOOGLE_CLOUD_PROJECT, or \`gcloud config set project P\`` };
    }
    const where = settings.endpoint.url ? `; endpoint ${settings.endpoint.url}` : '';
    return { infra: 'gcp', ok: true, reason: `${settings.source}; project ${settings.project} (${settings.projectSource})${where}`, settings };
  } catch (err) {
    return { infra: 'gcp', ok: false, reason: (err as Error).message };
  }
}

/** One authenticated Compute Engine call (zones.list) with a short timeout. */
async function probeGcp(s: InfraStatus, settings: GcpSettings, timeoutMs: number): Promise<void> {
  const { GcpDriver } = await import('../providers/gcp/driver.js');
  const driver = new GcpDriver(() => settings);
  const where = settings.endpoint.url ?? 'https://compute.googleapis.com';
  try {
    const said = await driver.ping(timeoutMs); // bounded inside (the SDK's load is not the API's time)
    s.reachable = true;
    s.reason += `; ${said}`;
  } catch (err) {
    s.reachable = false;
    s.reason += `; API ${where} did not answer: ${((err as Error).message ?? String(err)).split('\n')[0]}`;
  } finally {
    driver.close();
  }
}

/** One EC2 call (DescribeRegions) with the default credential chain, at AWS_ENDPOINT_URL_EC2 if set. */
async function probeAws(s: InfraStatus, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const [{ AwsDriver }, { describeAwsError }] = await Promise.all([import('../providers/aws/driver.js'), import('../providers/aws/errors.js')]);
  const driver = new AwsDriver({ env });
  try {
    s.reason += `; ${await driver.ping(timeoutMs)}`; // bounded inside (the SDK's load is not the API's time)
    s.reachable = true;
  } catch (err) {
    s.reachable = false;
    const e = err as Error;
    const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer in ${timeoutMs / 1000}s` : describeAwsError(err).split('\n')[0];
    s.reason += `; EC2 API ${driver.endpoint() ?? 'https://ec2.<region>.amazonaws.com'} did not answer: ${why}`;
  } finally {
    driver.close();
  }
}

interface KubeInfo {
  files: string[];
  contexts: string[];
  current?: string;
  servers: string[];
}

async function readKubeconfig(env: NodeJS.ProcessEnv, home: string): Promise<KubeInfo> {
  const files = (env.KUBECONFIG ? env.KUBECONFIG.split(':').filter(Boolean) : [join(home, '.kube', 'config')]).filter(readable);
  const info: KubeInfo = { files, contexts: [], servers: [] };
  if (!files.length) return info;
  const { parse } = await importYaml();
  for (const f of files) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(f, 'utf8'));
    } catch {
      continue;
    }
    const d = (doc ?? {}) as { contexts?: Array<{ name?: string }>; clusters?: Array<{ cluster?: { server?: string } }>; 'current-context'?: string };
    for (const c of d.contexts ?? []) if (c?.name && !info.contexts.includes(c.name)) info.contexts.push(c.name);
    for (const c of d.clusters ?? []) if (c?.cluster?.server) info.servers.push(c.cluster.server);
    info.current ??= d['current-context'];
  }
  return info;
}

export async function detectKubernetes(env: NodeJS.ProcessEnv, home: string): Promise<InfraStatus & { servers?: string[] }> {
  const k = await readKubeconfig(env, home);
  if (!k.files.length) return { infra: 'kubernetes', ok: false, reason: 'no kubeconfig (set KUBECONFIG or create ~/.kube/config)' };
  if (!k.contexts.length) return { infra: 'kubernetes', ok: false, reason: `kubeconfig ${k.files.join(':')} has no contexts` };
  return {
    infra: 'kubernetes',
    ok: true,
    reason: `${k.contexts.length} context(s) in ${k.files.join(':')}${k.current ? ` (current: ${k.current})` : ''}`,
    targets: k.contexts,
    servers: k.servers,
  };
}

export async function detectSsh(aloft: string): Promise<InfraStatus> {
  const file = join(aloft, 'ssh_node_pools.yaml');
  if (!existsSync(file)) return { infra: 'ssh', ok: false, reason: `no ssh node pools (create ${file})` };
  // The provider's own parser: the same positioned one-line errors everywhere the file is read.
  const { parsePools } = await import('../providers/ssh/pools.js');
  let pools: string[];
  try {
    pools = [...parsePools(readFileSync(file, 'utf8'), file).keys()]; // the parser requires hosts
  } catch (e) {
    return { infra: 'ssh', ok: false, reason: (e as Error).message };
  }
  if (!pools.length) return { infra: 'ssh', ok: false, reason: `${file} defines no pool` };
  return { infra: 'ssh', ok: true, reason: `${pools.length} pool(s) in ${file}`, targets: pools };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Status of every infra aloft knows, in a stable order: local, ssh, kubernetes, aws, gcp. */
export async function detectInfra(opts: DetectOptions = {}): Promise<InfraStatus[]> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const aloft = opts.aloftHome ?? aloftHome();
  const local: InfraStatus = { infra: 'local', ok: true, reason: 'this machine (always available)' };
  const [ssh, k8s] = await Promise.all([detectSsh(aloft), detectKubernetes(env, home)]);
  const aws = detectAws(env, home);
  const { settings: gcpSet, ...gcp } = await detectGcp(env, home, aloft);
  if (opts.probe) {
    const t = opts.probeTimeoutMs ?? 3000;
    const probes: Array<Promise<void>> = [];
    const probe = (s: InfraStatus, host: string, port: number) =>
      probes.push(
        tcpReachable(host, port, t).then((ok) => {
          s.reachable = ok;
          if (!ok) s.reason += `; API ${host}:${port} unreachable (offline?)`;
        }),
      );
    if (aws.ok) probes.push(probeAws(aws, env, t));
    if (gcp.ok && gcpSet) probes.push(probeGcp(gcp, gcpSet, t));
    const server = k8s.servers?.[0];
    if (k8s.ok && server) {
      try {
        const u = new URL(server);
        probe(k8s, u.hostname, Number(u.port) || 443);
      } catch {
        /* unusual server URL: no probe */
      }
    }
    await Promise.all(probes);
  }
  delete k8s.servers;
  return [local, ssh, k8s, aws, gcp];
}

/**
 * What detectInfra's answer depends on (the environment variables and the files it reads, by
 * mtime and size): callers that ask often keep its answer while this key stays the same.
 */
export function detectionKey(opts: DetectOptions = {}): string {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const aloft = opts.aloftHome ?? aloftHome();
  const vars = Object.keys(env)
    .filter((k) => /^(AWS_|GOOGLE_|CLOUDSDK_|KUBECONFIG$)/.test(k))
    .sort()
    .map((k) => `${k}=${env[k]}`);
  const gcloud = env.CLOUDSDK_CONFIG || join(home, '.config', 'gcloud');
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'),
    env.AWS_CONFIG_FILE || join(home, '.aws', 'config'),
    env.GOOGLE_APPLICATION_CREDENTIALS ?? '',
    join(gcloud, 'application_default_credentials.json'),
    join(gcloud, 'credentials.db'),
    join(gcloud, 'legacy_credentials'),
    join(aloft, 'ssh_node_pools.yaml'),
    ...(env.KUBECONFIG ? env.KUBECONFIG.split(':').filter(Boolean) : [join(home, '.kube', 'config')]),
  ].map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.mtimeMs}:${st.size}`;
    } catch {
      return `${f}:-`;
    }
  });
  return [...vars, ...files].join('\n');
}

/** Infra names with credentials, for OptimizeContext.usableClouds. */
export function usableInfra(statuses: InfraStatus[]): string[] {
  return statuses.filter((s) => s.ok).map((s) => s.infra);
}
