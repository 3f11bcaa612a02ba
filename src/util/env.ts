// Which environment variables cross which boundary (README § Environment).
//
//   CLI's shell ──daemonEnv──▶ daemon ──nodeEnv + agentKnobs──▶ local agent ──jobBaseEnv──▶ job
//
// The daemon starts from an allowlist of the starting shell, never the whole of it: a secret
// exported in the shell of whichever CLI call happened to start it (`HF_TOKEN=… aloft launch`)
// would otherwise reach every later job on every cluster. Cloud credentials stay with the daemon
// (its SDKs need them) and never go further. A local node gets what a fresh login on a machine
// would have (user, shell, locale, a PATH without npm's additions); a job gets its node's
// environment, minus aloft's own settings, plus its envs, secrets and SkyPilot's variables.

type Env = Record<string, string | undefined>;

/** The user and machine: what a login on the node would have. */
const LOGIN = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR']);
const LOGIN_PREFIXES = ['LC_'];

/** Reaching the network the way the user does (proxies, CAs, the ssh agent). */
const NETWORK = new Set([
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'SSH_AUTH_SOCK',
]);

/** The proxy settings among NETWORK: URLs of a proxy, which a node may reach at another address (Provider.nodeUrl). */
export const PROXY_URLS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'] as const;

/** Where the provider SDKs find credentials and endpoints; the daemon's alone. */
const CREDENTIALS = new Set(['KUBECONFIG', 'GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'STORAGE_EMULATOR_HOST']);
const CREDENTIAL_PREFIXES = ['AWS_', 'CLOUDSDK_'];

/**
 * Set by a starter for one process only; never inherited further. A client's API token and
 * endpoint (team mode) are the client's: a daemon has no use for them.
 */
const PER_PROCESS = new Set(['ALOFT_READY_FD', 'ALOFT_SESSION', 'ALOFT_API_TOKEN', 'ALOFT_API_SERVER_ENDPOINT']);

/**
 * aloft settings an agent reads (test clocks and grace periods). They go to the agent process
 * only; its jobs never see them.
 */
export const AGENT_KNOBS = [
  'ALOFT_AUTOSTOP_SECONDS_PER_MINUTE',
  'ALOFT_AGENT_KILL_GRACE_MS',
  'ALOFT_AGENT_REATTACH_MS',
  'ALOFT_AGENT_AUTH_DEADLINE_MS',
  'ALOFT_VERSION_OVERRIDE',
] as const;

/**
 * aloft settings the daemon reads from its environment once, when it starts. A CLI call made
 * with a different value cannot change them; it says so (cli/context.ts) instead of ignoring it.
 */
export const DAEMON_SETTINGS = [
  ...AGENT_KNOBS.filter((k) => k !== 'ALOFT_VERSION_OVERRIDE'),
  'ALOFT_SPOT_MTBP_SECONDS',
  'ALOFT_MANAGED_RETRY_BASE_MS',
  'ALOFT_MANAGED_MAX_LAUNCH_FAILURES',
  'ALOFT_DEBUG_PAUSE_STAGE',
  'ALOFT_LOG_LEVEL',
  // services: the autoscaler's QPS window, how often it reads the balancer, where balancers listen
  'ALOFT_SERVE_QPS_WINDOW_SECONDS',
  'ALOFT_SERVE_STATS_INTERVAL_MS',
  'ALOFT_SERVE_HOST',
  'ALOFT_SERVE_PORT_START',
  'ALOFT_SERVE_LB_WORKERS',
] as const;

/** The daemon settings set in `src` (unset ones are absent). */
export function daemonSettings(src: Env): Record<string, string> {
  return pick(src, (k) => (DAEMON_SETTINGS as readonly string[]).includes(k) && src[k] !== '');
}

/** One line per setting `cli` sets differently from the running daemon. */
export function settingMismatches(cli: Env, daemon: Record<string, string>): string[] {
  const mine = daemonSettings(cli);
  const out: string[] = [];
  for (const k of DAEMON_SETTINGS) {
    if (mine[k] === daemon[k] || mine[k] === undefined) continue;
    out.push(`${k}=${mine[k]} is not applied: the running daemon started with ${daemon[k] === undefined ? 'it unset' : `${k}=${daemon[k]}`}; restart it (\`aloft daemon stop\`, the next command starts it) to apply`);
  }
  return out;
}

function pick(src: Env, keep: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(src)) if (v !== undefined && keep(k)) out[k] = v;
  return out;
}

const isLogin = (k: string) => LOGIN.has(k) || LOGIN_PREFIXES.some((p) => k.startsWith(p));
const isCredential = (k: string) => CREDENTIALS.has(k) || CREDENTIAL_PREFIXES.some((p) => k.startsWith(p));

/** The daemon's environment: login, network, credentials and aloft's own settings. */
export function daemonEnv(src: Env): Record<string, string> {
  return pick(
    src,
    (k) => isLogin(k) || NETWORK.has(k) || isCredential(k) || (k.startsWith('ALOFT_') && !PER_PROCESS.has(k)),
  );
}

/**
 * PATH without what npm/npx put in front for the command they ran (node_modules/.bin of the
 * project the CLI was started from, node-gyp's helpers): a node is not inside that project.
 */
export function loginPath(path: string | undefined): string {
  const parts = (path ?? '').split(':').filter((p) => p && !/\/node_modules\/\.bin\/?$/.test(p) && !/node-gyp-bin\/?$/.test(p));
  return [...new Set(parts)].join(':') || '/usr/local/bin:/usr/bin:/bin';
}

/** The environment of a node on this machine, as a fresh login would have it. */
export function nodeEnv(src: Env): Record<string, string> {
  const env = pick(src, (k) => isLogin(k) || NETWORK.has(k));
  env.PATH = loginPath(src.PATH);
  return env;
}

/** The agent knobs set in `src`, to pass to a local agent's process. */
export function agentKnobs(src: Env): Record<string, string> {
  return pick(src, (k) => (AGENT_KNOBS as readonly string[]).includes(k));
}

/**
 * What a job inherits from its agent: the node's environment without aloft's settings
 * (ALOFT_NODE_DIR stays: it marks the job's processes as the node's, for the teardown sweep).
 */
export function jobBaseEnv(agentEnv: Env): Record<string, string> {
  return pick(agentEnv, (k) => !k.startsWith('ALOFT_') || k === 'ALOFT_NODE_DIR');
}
