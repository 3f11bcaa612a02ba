// What every command needs: a daemon client (starting the daemon on first use) and output helpers.
import type { DaemonClient } from '../client/client.js';
import { existsSync } from 'node:fs';
import { aloftHome, homePaths } from '../util/paths.js';

let client: DaemonClient | undefined;

export async function daemon(): Promise<DaemonClient> {
  if (client) return client;
  const home = aloftHome();
  await checkConfig(home);
  const [{ ensureDaemon }, { DaemonClient }] = await Promise.all([import('../client/spawn.js'), import('../client/client.js')]);
  const info = await ensureDaemon(home);
  // A setting the daemon reads only when it starts is not silently dropped (issue 14.12).
  const { settingMismatches } = await import('../util/env.js');
  for (const line of settingMismatches(process.env, info.settings ?? {})) note(`aloft: warning: ${line}`);
  client = new DaemonClient({ home });
  return client;
}

/**
 * Every command that needs the daemon needs a valid ALOFT_HOME/config.yaml: a broken one is one
 * line `PATH:line:col: ...` and a non-zero exit here, before the daemon is asked anything. The
 * parser (yaml + zod) loads only when the file exists.
 */
export async function checkConfig(home: string): Promise<void> {
  const path = homePaths(home).config;
  if (!existsSync(path)) return;
  (await import('../spec/config.js')).loadConfig(path);
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
