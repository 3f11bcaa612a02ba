// `aloft catalog pull`: replaces a cloud's catalog with a fresh file in the same (SkyPilot) format.
// The file lands in ALOFT_HOME/catalog/<cloud>/vms.csv, which takes precedence over the shipped one.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aloftHome } from '../util/paths.js';
import { UserError, errorMessage } from '../util/errors.js';
import { offeringsFromCsv, resetCatalogCache } from './catalog.js';

/** SkyPilot publishes its catalogs in this repository, one folder per cloud. */
export const DEFAULT_CATALOG_BASE = 'https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v7';
export const PULLABLE_CLOUDS = ['aws', 'gcp', 'azure', 'lambda'];

export function defaultCatalogUrl(cloud: string): string {
  return `${DEFAULT_CATALOG_BASE}/${cloud}/vms.csv`;
}

export interface PullResult {
  cloud: string;
  url: string;
  path: string;
  rows: number;
  offerings: number;
}

async function download(url: string, timeoutMs: number): Promise<string> {
  if (url.startsWith('file://')) return readFileSync(fileURLToPath(url), 'utf8');
  if (url.startsWith('/')) return readFileSync(url, 'utf8');
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    const why = cause ? errorMessage(cause) : errorMessage(e);
    throw new UserError(`cannot download ${url}: ${why} (offline? the shipped catalog stays in use)`, 'CATALOG_OFFLINE');
  }
  if (!res.ok) throw new UserError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`, 'CATALOG_HTTP');
  return await res.text();
}

export async function pullCatalog(opts: { cloud: string; url?: string; home?: string; timeoutMs?: number }): Promise<PullResult> {
  const cloud = opts.cloud.toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(cloud)) throw new UserError(`invalid cloud name '${opts.cloud}'`);
  const url = opts.url ?? defaultCatalogUrl(cloud);
  let text: string;
  try {
    text = await download(url, opts.timeoutMs ?? 60_000);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${url}: ${errorMessage(e)}`, 'CATALOG_READ');
  }
  // Validate before replacing anything: a bad download must not break planning.
  const offerings = offeringsFromCsv(cloud, text, url);
  if (offerings.length === 0) throw new UserError(`${url}: the catalog has no usable rows; kept the current one`);
  const path = join(opts.home ?? aloftHome(), 'catalog', cloud, 'vms.csv');
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  resetCatalogCache();
  const rows = text.split('\n').filter((l) => l.trim()).length - 1;
  return { cloud, url, path, rows, offerings: offerings.length };
}
