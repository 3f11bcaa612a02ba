// Infra names and patterns: "aws", "gcp/us-central1/us-central1-a", "k8s/my-context", "ssh/pool",
// "local", with `*` wildcards in any part; a pattern with fewer parts matches everything below it.
import type { InfraSelector } from '../spec/types.js';

const CLOUD_ALIASES: Record<string, string> = { k8s: 'kubernetes', kube: 'kubernetes', google: 'gcp', amazon: 'aws' };

export function normalizeCloud(cloud: string): string {
  const c = cloud.trim().toLowerCase();
  return CLOUD_ALIASES[c] ?? c;
}

const globCache = new Map<string, RegExp>();

/** Case-insensitive match with `*` as "anything"; an undefined or empty pattern matches all. */
export function globMatch(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined || pattern === '' || pattern === '*') return true;
  if (value === undefined) return false;
  if (!pattern.includes('*')) return pattern.toLowerCase() === value.toLowerCase();
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
    globCache.set(pattern, re);
  }
  return re.test(value);
}

/** Infra with no catalog: what it offers is probed live (ssh pools' hosts, kubernetes contexts' nodes). */
export function isLiveInfra(cloud: string): boolean {
  return cloud === 'ssh' || cloud === 'kubernetes';
}

/** Parses "cloud/region/zone" (kubernetes contexts and ssh pools keep any further slashes). */
export function parseInfraPattern(s: string): InfraSelector {
  const parts = s.trim().split('/');
  const cloud = parts[0] ? normalizeCloud(parts[0]) : undefined;
  if (cloud && isLiveInfra(cloud)) {
    const rest = parts.slice(1).join('/');
    return { cloud, region: rest || undefined };
  }
  return { cloud, region: parts[1] || undefined, zone: parts[2] || undefined };
}

export function formatInfra(sel: InfraSelector): string {
  if ((sel.cloud === undefined || sel.cloud === '*') && sel.region) return [sel.region, sel.zone].filter(Boolean).join('/');
  if ((sel.cloud === undefined || sel.cloud === '*') && sel.zone) return sel.zone;
  const parts = [sel.cloud ?? '*', sel.region, sel.zone].filter((p): p is string => p !== undefined);
  while (parts.length > 1 && (parts[parts.length - 1] === '*' || parts[parts.length - 1] === '')) parts.pop();
  return parts.join('/');
}

export function selectorMatches(sel: InfraSelector, cloud: string, region: string, zone?: string): boolean {
  const c = sel.cloud === undefined ? undefined : sel.cloud.includes('*') ? sel.cloud : normalizeCloud(sel.cloud);
  return globMatch(c, cloud) && globMatch(sel.region, region) && (sel.zone === undefined || globMatch(sel.zone, zone));
}
