// What every command needs: a daemon client (starting the daemon on first use, or reaching the
// API server the user logged in to) and output helpers.
import type { DaemonClient } from '../client/client.js';
import { existsSync } from 'node:fs';
import type { AloftConfig } from '../spec/config.js';
import { aloftHome, homePaths } from '../util/paths.js';

let client: DaemonClient | undefined;

export async function daemon(): Promise<DaemonClient> {
  if (client) return client;
  const home = aloftHome();
  const config = await checkConfig(home);
  const [{ ensureDaemon, ensureRemote }, { DaemonClient }, { remoteEndpoint }] = await Promise.all([
    import('../client/spawn.js'),
    import('../client/client.js'),
    import('../client/endpoint.js'),
  ]);
  const endpoint = remoteEndpoint(config?.apiServer);
  if (endpoint) {
    // A remote server's settings are its own: nothing of this shell's environment reaches it.
    await ensureRemote(endpoint);
    client = new DaemonClient({ home, endpoint });
    // progress, not a complaint: no `aloft:` prefix (that marks errors and warnings)
    client.onUpload = (what) => note(`${what} to ${endpoint.url}`);
  } else {
    const info = await ensureDaemon(home);
    // A setting the daemon reads only when it starts is not silently dropped (issue 14.12).
    const { settingMismatches } = await import('../util/env.js');
    for (const line of settingMismatches(process.env, info.settings ?? {})) note(`aloft: warning: ${line}`);
    client = new DaemonClient({ home });
  }
  return client;
}

/**
 * What brings a lost daemon back for a client that follows a stream: the local one is started
 * again; a remote API server is waited for (its supervisor restarts it).
 */
export function reviveFor(c: DaemonClient): () => Promise<unknown> {
  return async () => {
    const spawn = await import('../client/spawn.js');
    return c.remote ? spawn.waitForServer(c.endpoint, 10 * 60_000) : spawn.ensureDaemon(c.home);
  };
}

/**
 * Every command that needs the daemon needs a valid ALOFT_HOME/config.yaml: a broken one is one
 * line `PATH:line:col: ...` and a non-zero exit here, before the daemon is asked anything. The
 * parser (yaml + zod) loads only when the file exists.
 */
export async function checkConfig(home: string): Promise<AloftConfig | undefined> {
  const path = homePaths(home).config;
  if (!existsSync(path)) return undefined;
  return (await import('../spec/config.js')).loadConfig(path);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Documented optional fields of each listing, printed as null when absent (jq-friendly). */
export const OPTIONAL_JSON_FIELDS = {
  cluster: ['region', 'zone', 'instanceType', 'nodeResources', 'autostop', 'lastJobId', 'statusReason'],
  job: ['name', 'startedAt', 'endedAt', 'exitCode', 'failedRank', 'returnCodes', 'endReason'],
} as const;

export function withNulls<T extends object>(records: T[], keys: readonly string[]): T[] {
  return records.map((r) => {
    const out: Record<string, unknown> = { ...(r as Record<string, unknown>) };
    for (const k of keys) if (out[k] === undefined) out[k] = null;
    return out as T;
  });
}

export function note(line: string): void {
  process.stderr.write(line + '\n');
}

export type OutputFormat = 'table' | 'json';

export function outputOption(v: string): OutputFormat {
  if (v !== 'json' && v !== 'table') throw new Error(`-o takes json or table, not '${v}'`);
  return v;
}

/** Exit with this code after stdout drains. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
