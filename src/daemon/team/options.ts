// How the daemon serves: always its unix socket; with a host, also TCP (TLS with a cert and key)
// for a team. Settings come from config.yaml (`api_server:`, `db:`) and from ALOFT_HOME/api-server.json,
// which `aloft api start` writes so that a daemon started again later (after a crash, an upgrade,
// or by any CLI call on the server) serves the same way; `aloft api stop` removes it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AloftConfig } from '../../spec/config.js';
import type { RateLimit } from './ratelimit.js';

export interface StartSettings {
  host?: string;
  port?: number;
  tlsCert?: string;
  tlsKey?: string;
  trustForwardedHeaders?: boolean;
  db?: string;
}

export interface ServerOptions {
  tcp?: { host: string; port: number; tls?: { cert: string; key: string } };
  trustForwarded: boolean;
  rateLimit: RateLimit;
  /** request bodies over TCP (the unix socket keeps its own, larger limit) */
  maxBodyBytes: number;
  maxUploadBytes: number;
  /** postgresql://… when the state lives in PostgreSQL */
  db?: string;
}

export const DEFAULT_PORT = 46580;
const MiB = 1024 * 1024;

export const startSettingsPath = (home: string): string => join(home, 'api-server.json');

export function readStartSettings(home: string): StartSettings {
  const path = startSettingsPath(home);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StartSettings;
  } catch {
    throw new Error(`${path} is not valid JSON; remove it or run \`aloft api start\` again`);
  }
}

export function writeStartSettings(home: string, s: StartSettings): void {
  // It may hold a database URL with a password: private, like the rest of ALOFT_HOME.
  writeFileSync(startSettingsPath(home), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

export function clearStartSettings(home: string): void {
  rmSync(startSettingsPath(home), { force: true });
}

export function serverOptions(config: AloftConfig, start: StartSettings): ServerOptions {
  const a = config.apiServer ?? {};
  const host = start.host ?? a.host;
  const cert = start.tlsCert ?? a.tlsCert;
  const key = start.tlsKey ?? a.tlsKey;
  if ((cert && !key) || (key && !cert)) throw new Error('TLS needs both a certificate and a key (--tls-cert and --tls-key)');
  const db = start.db ?? config.db;
  return {
    ...(host ? { tcp: { host, port: start.port ?? a.port ?? DEFAULT_PORT, ...(cert && key ? { tls: { cert, key } } : {}) } } : {}),
    trustForwarded: start.trustForwardedHeaders ?? a.trustForwardedHeaders ?? false,
    rateLimit: { perSecond: a.requestsPerSecond ?? 50, burst: a.burst ?? 200 },
    maxBodyBytes: (a.maxBodyMb ?? 16) * MiB,
    maxUploadBytes: (a.maxUploadMb ?? 1024) * MiB,
    ...(db ? { db } : {}),
  };
}
